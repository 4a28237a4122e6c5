// Package bootstrap prepares everything a new site needs before its first merge brings
// the server up: a Hetzner Cloud token that may write, the Flatcar snapshot the site's
// Terraform looks up by label, the S3 buckets for the state and the backups, the backup
// key, the site repo on the forge with the workflows' secrets (stored before anything is
// pushed) and the site proposed as its first pull request, and the DNS delegation the
// owner makes at their registrar. Along the way it runs the maintainer's onboarding
// checklist (docs/maintainers/onboarding.md): the tools, the forge's Actions and runner,
// the CI image, fleet.yaml, the generated files, branch protection and the DNS order.
//
// Every step is idempotent and reported as done, already there, to do (for the owner),
// a warning, or failed with what to do about it. A second run over a prepared site
// changes nothing. Secret values are never printed, logged or put in an error.
package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
)

// Status is how a step ended.
type Status string

// The statuses of a step.
const (
	Done          Status = "done"
	AlreadyThere  Status = "already there"
	ToDo          Status = "to do"   // the owner has something to do; nassella cannot
	Warning       Status = "warning" // works, but not everything the step wanted
	Failed        Status = "failed"
	Skipped       Status = "skipped" // not asked for, or a step it needs failed
	statusesWidth        = 13
)

// Step is the outcome of one step.
type Step struct {
	Name   string
	Status Status
	Detail string // what was found or done
	Fix    string // what to do, for failed, to-do and warning steps
}

// Report is every step of a run, in order.
type Report struct {
	Steps []Step
}

// Failed reports whether a step failed.
func (r *Report) Failed() bool {
	for _, s := range r.Steps {
		if s.Status == Failed {
			return true
		}
	}
	return false
}

// Step returns the first step with the name, or a zero Step.
func (r *Report) Step(name string) Step {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return Step{}
}

// Resolver looks up the name servers a domain is delegated to; *net.Resolver is one.
type Resolver interface {
	LookupNS(ctx context.Context, name string) ([]*net.NS, error)
}

// Hooks let tests act between steps (cancel the run at a given point, write the rescue
// system's authorized_keys). Nil hooks are skipped.
type Hooks struct {
	// BeforePush runs once the secrets are stored, before the site is pushed.
	BeforePush func()
	// AfterServerCreated runs once the temporary server exists.
	AfterServerCreated func(serverID int64)
	// BeforeRescueSSH runs when the server has booted the rescue system, before the
	// image is written over SSH.
	BeforeRescueSSH func(serverID int64)
}

// Config is what a run prepares and with which credentials.
type Config struct {
	Site    *site.Loaded
	Flatcar catalog.Flatcar // the catalog release's Flatcar channel and minimum version

	// Secrets are the workflows' secrets by name (HCLOUD_TOKEN, STATE_PASSPHRASE, ...):
	// stored in the forge, and used here for the Hetzner API and the buckets.
	Secrets map[string]string

	Hetzner  Hetzner
	Image    Image
	Forge    *Forge   // nil: leave the forge alone
	Resolver Resolver // nil: net.DefaultResolver
	// DNSResolver (host:port) is asked for the domain's live records (dns.go); "": the
	// system's resolver.
	DNSResolver string

	// S3Endpoint, when set, replaces the endpoint site.yaml gives both buckets (an S3
	// service reached another way, or a test's).
	S3Endpoint string

	// HTTPClient makes the S3 and forge calls, and downloads the image; nil: a client
	// with a timeout.
	HTTPClient *http.Client

	// Dir is the local site repo (git); default Forge.Dir, then ".".
	Dir string
	// Catalog is the release the site repo is pinned to; the generated files are checked
	// against it (nil: that step is skipped).
	Catalog *catalog.Release
	// Tofu is the OpenTofu binary found on this machine ("" when none).
	Tofu string
	// Fleet is the maintainer's fleet.yaml, which should list the site ("": not checked).
	Fleet string

	// LibvirtSSHAddr overrides where the own machine's SSH is reached (host:port); by
	// default provider.libvirt.host on port 22. For tests.
	LibvirtSSHAddr string

	Out   io.Writer // each step is printed here as it ends; nil: nowhere
	Hooks Hooks
}

// Hetzner is the Hetzner Cloud project's API and how the snapshot is built.
type Hetzner struct {
	Endpoint string // default https://api.hetzner.cloud/v1
	// Token is the project's API token; default Secrets["HCLOUD_TOKEN"].
	Token string
	// ServerType of the temporary server that builds the snapshot; default the x86 type
	// with the smallest disk sold in Location (buildServerType: the snapshot's disk size
	// is this type's, so keep it the smallest).
	ServerType string
	// BaseImage the temporary server is created with before its disk is overwritten
	// (default ubuntu-24.04; any system image).
	BaseImage string
	// Location of the temporary server; default the site's.
	Location string
	// RunID labels the temporary resources (nassella-bootstrap=<RunID>); default a
	// fresh one.
	RunID string
	// PollInterval between checks of a running action; default 1 s.
	PollInterval time.Duration
	// Timeout of the whole snapshot build; default 30 minutes.
	Timeout time.Duration
}

// Image is the Flatcar Hetzner image the snapshot is built from, and how it is
// written. It is only needed when the project has no suitable snapshot yet.
type Image struct {
	Path string // a local file, e.g. flatcar_production_hetzner_image.bin.bz2
	URL  string // or where to download it from
	// Checksum of the file as published, "sha512:HEX" or "sha256:HEX" (a bare hex of
	// 128 or 64 digits works too). Checked before anything is created or written.
	Checksum string
	// Version of Flatcar in the image, e.g. 4230.2.3; at least the catalog's
	// min_version.
	Version string
	// Device the rescue system writes the image to (default /dev/sda).
	Device string
	// RescueSSHAddr overrides where the rescue system's SSH is reached (host:port);
	// by default the temporary server's public IPv4 on port 22. For tests.
	RescueSSHAddr string
	// RescueUser is the rescue system's user (default root).
	RescueUser string
	// HostKey checks the rescue system's host key. The rescue system makes a new one
	// at every boot and the API does not tell it, so by default any key is accepted
	// and its fingerprint reported; the connection is authenticated by the run's own
	// key, and only the image (public) goes over it.
	HostKey ssh.HostKeyCallback
	// SSHWait is how long to wait for the rescue system's SSH (default 5 minutes).
	SSHWait time.Duration
}

// Forge is the forge the site repo lives on.
type Forge struct {
	Kind  string // gitea, forgejo or github
	URL   string // web address, e.g. https://codeberg.org or https://github.com
	API   string // API base; default URL+"/api/v1" (Gitea, Forgejo) or https://api.github.com
	Owner string // user or organisation
	Repo  string
	Token string // never printed
	// CreateRepo creates the repo when missing and pushes the local site repo to it.
	CreateRepo bool
	// ReplaceSecrets overwrites secrets the forge already has; by default they stay.
	ReplaceSecrets bool
	// Dir is the local site repo (git), pushed with CreateRepo.
	Dir string
	// Private makes a new repo private (default true via the CLI).
	Private bool
	// Protect protects main when it is not: changes only through pull requests whose
	// plan check passed. By default the protection is only read.
	Protect bool
}

// Run prepares the site and reports every step; the error says that at least one step
// failed (the report says which and what to do).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r := &runner{cfg: cfg, rep: &Report{}}
	r.defaults()
	r.run(ctx)
	if r.rep.Failed() {
		return r.rep, fmt.Errorf("bootstrap did not finish: fix the failed steps above and run it again (it picks up where it stopped)")
	}
	return r.rep, nil
}

type runner struct {
	cfg Config
	rep *Report
	// generated are the secrets this run made (the host key): they never replace what the
	// forge has, even with ReplaceSecrets.
	generated map[string]bool
	// replace are the secrets that replace what the forge has whatever ReplaceSecrets says:
	// a backup key made for a site.yaml without one (the forge's has no public half there).
	replace map[string]bool
	// backupKeyLine is the public half of a backup key made or given for a site.yaml
	// without admin.backup_key: written there once its private half is stored.
	backupKeyLine string
	// stored are the secrets the forge holds after storeSecrets.
	stored map[string]bool
}

func (r *runner) defaults() {
	c := &r.cfg
	if c.Secrets == nil {
		c.Secrets = map[string]string{}
	}
	if c.Hetzner.Endpoint == "" {
		c.Hetzner.Endpoint = "https://api.hetzner.cloud/v1"
	}
	if c.Hetzner.Token == "" {
		c.Hetzner.Token = c.Secrets["HCLOUD_TOKEN"]
	}
	if c.Hetzner.BaseImage == "" {
		c.Hetzner.BaseImage = "ubuntu-24.04"
	}
	if c.Hetzner.Location == "" && c.Site != nil && c.Site.Provider.Hetzner != nil {
		c.Hetzner.Location = c.Site.Provider.Hetzner.Location
	}
	if c.Hetzner.RunID == "" {
		c.Hetzner.RunID = NewRunID(time.Now())
	}
	if c.Hetzner.PollInterval == 0 {
		c.Hetzner.PollInterval = time.Second
	}
	if c.Hetzner.Timeout == 0 {
		c.Hetzner.Timeout = 30 * time.Minute
	}
	if c.Image.Device == "" {
		c.Image.Device = "/dev/sda"
	}
	if c.Image.RescueUser == "" {
		c.Image.RescueUser = "root"
	}
	if c.Image.SSHWait == 0 {
		c.Image.SSHWait = 5 * time.Minute
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Minute}
	}
	if c.Dir == "" && c.Forge != nil {
		c.Dir = c.Forge.Dir
	}
	if c.Dir == "" {
		c.Dir = "."
	}
	if f := c.Forge; f != nil {
		f.Kind = strings.ToLower(f.Kind)
		f.URL = strings.TrimRight(f.URL, "/")
		if f.API == "" {
			if f.Kind == "github" {
				f.API = "https://api.github.com"
			} else {
				f.API = f.URL + "/api/v1"
			}
		}
		f.API = strings.TrimRight(f.API, "/")
	}
}

// NewRunID returns a run ID: the time and a random suffix, fit for a label value and
// a server name.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func (r *runner) report(s Step) Step {
	r.rep.Steps = append(r.rep.Steps, s)
	if r.cfg.Out != nil {
		fmt.Fprint(r.cfg.Out, FormatStep(s))
	}
	return s
}

// FormatStep is a step as printed: status, name, detail, and the fix on its own line.
func FormatStep(s Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %s", statusesWidth+2, "["+string(s.Status)+"]", s.Name)
	if s.Detail != "" {
		fmt.Fprintf(&b, ": %s", s.Detail)
	}
	b.WriteString("\n")
	if s.Fix != "" {
		for _, line := range strings.Split(s.Fix, "\n") {
			fmt.Fprintf(&b, "%*s  %s\n", statusesWidth+2, "", line)
		}
	}
	return b.String()
}

// Text is the whole report as printed.
func (r *Report) Text() string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString(FormatStep(s))
	}
	return b.String()
}

// hetznerProject checks the token and makes the Flatcar snapshot, as far as the site uses
// Hetzner, and returns the client when the token works (nil otherwise).
func (r *runner) hetznerProject(ctx context.Context) *hcloud.Client {
	var hc *hcloud.Client
	ok := false
	if atHetzner(&r.cfg) {
		hc, ok = r.checkToken(ctx)
	} else {
		r.report(Step{Name: stepToken, Status: Skipped, Detail: "the site uses nothing at Hetzner (its server is elsewhere, dns: records_only)"})
	}
	switch {
	case r.cfg.Site.Provider.OpenStack != nil:
		r.report(Step{Name: stepSnapshot, Status: Skipped, Detail: "the server runs in an OpenStack cloud (provider.openstack): its Flatcar image is checked below"})
	case r.cfg.Site.Provider.Libvirt != nil:
		// Own hardware boots Flatcar's QEMU image, which the machine downloads at the
		// first apply (site-template/terraform/libvirt/server.tf): no snapshot to make.
		r.report(Step{Name: stepSnapshot, Status: Skipped, Detail: "the server runs on your own hardware (provider.libvirt): the machine downloads Flatcar's QEMU image at the first apply"})
	case ok:
		r.cleanLeftovers(ctx, hc)
		r.ensureSnapshot(ctx, hc)
	default:
		r.report(Step{Name: stepSnapshot, Status: Skipped, Detail: "needs a working Hetzner token (see above)"})
	}
	return hc
}

func (r *runner) run(ctx context.Context) {
	if r.cfg.Site == nil {
		r.report(Step{Name: "site", Status: Failed, Detail: "no site.yaml loaded", Fix: "run nassella bootstrap in a site repo (nassella init makes one)"})
		return
	}
	r.checkTools()
	r.ensureHostKey()
	r.ensureBackupKey()
	r.checkSecrets()
	hc := r.hetznerProject(ctx)
	r.openstackProject(ctx)
	r.libvirtMachine(ctx)
	r.ensureBuckets(ctx)
	r.ensureForge(ctx)
	r.checkCIImage()
	r.checkFleet()
	r.checkLiveDNS(ctx)
	r.checkDelegation(ctx, hc)
	r.dnsOrder(ctx, hc)
}
