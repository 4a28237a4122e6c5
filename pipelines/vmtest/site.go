package vmtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/caddy"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/siterepo"
)

// TestDomain is the domain test sites answer under; .test never resolves on the internet,
// and the harness reaches the apps through the VM's forwarded port anyway.
const TestDomain = "vmtest.test"

// CaddyRoot is where Caddy keeps its internal CA's root certificate on the host: the
// generated Caddyfile sets `storage file_system /data` (the volume's proxy/data), and
// Caddy's PKI app keeps a CA's root under pki/authorities/<id>/root.crt of its storage
// (caddyserver/caddy modules/caddypki/ca.go, storageKeyRootCert). Found by the rehearsal:
// the path under Caddy's default storage (/data/caddy/...) was never written.
const CaddyRoot = hostcontract.CaddyData + "/data/pki/authorities/local/root.crt"

// CaddyCertificates is the folder of the certificates Caddy obtained, in the same storage
// (certmagic's StorageKeys.CertsPrefix: certificates/<issuer>/<name>/).
const CaddyCertificates = hostcontract.CaddyData + "/data/certificates"

// Keys are the throwaway SSH keys of one vmtest run: the harness logs in as core with
// Client, and checks the server is the VM it booted by its host key, both injected through
// Ignition.
type Keys struct {
	Client  ssh.Signer
	Host    ssh.Signer
	hostPEM []byte // OpenSSH private key file for /etc/ssh/ssh_host_ed25519_key
}

// NewKeys generates a run's keys.
func NewKeys() (*Keys, error) {
	_, cpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	_, hpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	client, err := ssh.NewSignerFromKey(cpriv)
	if err != nil {
		return nil, err
	}
	host, err := ssh.NewSignerFromKey(hpriv)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(hpriv, "nassella-vmtest host")
	if err != nil {
		return nil, err
	}
	return &Keys{Client: client, Host: host, hostPEM: pem.EncodeToMemory(block)}, nil
}

// HostKeyPEM is the host's private key as an OpenSSH key file, what
// /etc/ssh/ssh_host_ed25519_key holds (and the NASSELLA_HOST_KEY secret a site's apply has).
func (k *Keys) HostKeyPEM() []byte { return k.hostPEM }

// AuthorizedKey is the client key as a site.yaml ssh_keys entry.
func (k *Keys) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Client.PublicKey()))) + " nassella-vmtest"
}

// TestSite is a site rendered for a VM: the generator's output for a site.yaml with test
// domains, and the Ignition the VM boots, which merges the generated one.
type TestSite struct {
	SiteYAML []byte
	Site     *site.Loaded
	Ignition []byte // what the VM gets through fw_cfg
	// Caddyfile is the generated Caddyfile switched to Caddy's internal CA.
	Caddyfile []byte
}

// Targets are the apps' health checks: host, path and expected status, sorted by app.
func (t *TestSite) Targets() []health.Target {
	ts := siterepo.Targets(t.Site)
	sort.Slice(ts, func(i, j int) bool { return ts[i].App < ts[j].App })
	return ts
}

// BackupTarget is the S3 bucket the backup → restore scenario backs up to. The VM must
// reach it through QEMU's user network, so it is a real service (a bucket kept for tests).
type BackupTarget struct {
	Endpoint        string // https://…, as in site.yaml
	Bucket          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	Password        string // restic's repository password
}

// SiteOptions are what differ between runs: the site's name (each run its own, so runs
// sharing a backup bucket do not meet) and the backup target.
type SiteOptions struct {
	Name   string        // "vmtest" when empty
	Backup *BackupTarget // a placeholder bucket when nil: backups are then not tested
	Mail   string        // site.yaml's mail: as a flow mapping ("{ host: ..., ... }"); none when empty
	// Provider and DNS are site.yaml's provider: and dns: as flow mappings; a Hetzner
	// server and Hetzner DNS when empty.
	Provider, DNS string
	// BackupKey is admin.backup_key, the public key allowed to run the host's backup
	// command (a move's apply backs the old server up with it); none when empty.
	BackupKey string
}

// SiteYAML returns a site.yaml running apps under TestDomain with the run's key.
func SiteYAML(apps []string, key string, so SiteOptions) []byte {
	name := so.Name
	if name == "" {
		name = "vmtest"
	}
	endpoint, bucket, region := "https://backup."+TestDomain, "vmtest-backups", ""
	if t := so.Backup; t != nil {
		endpoint, bucket = t.Endpoint, t.Bucket
		if t.Region != "" {
			region = fmt.Sprintf(", region: %q", t.Region)
		}
	}
	provider, dns := so.Provider, so.DNS
	if provider == "" {
		provider = "{ hetzner: { location: nbg1, server_type: ccx63, volume_gb: 10 } }"
	}
	if dns == "" {
		dns = "{ hetzner: {} }"
	}
	backupKey := ""
	if so.BackupKey != "" {
		backupKey = fmt.Sprintf("  backup_key: %q\n", so.BackupKey)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# A throwaway site for nassella vmtest.
version: 1
name: %s
domain: %s
admin:
  email: admin@%s
  ssh_keys:
    - %q
%s# The VM's memory is set by vmtest, not by the server type; the largest type passes the
# memory check for any set of apps.
provider: %s
dns: %s
apps:
`, name, TestDomain, TestDomain, key, backupKey, provider, dns)
	for _, a := range apps {
		fmt.Fprintf(&b, "  %s: {}\n", a)
	}
	fmt.Fprintf(&b, `backups:
  schedule: "daily 03:00"
  keep: { daily: 7 }
  target:
    s3: { endpoint: %q, bucket: %q%s }
updates:
  channel: stable
  window: "Sun 03:00"
  timezone: Etc/UTC
`, endpoint, bucket, region)
	if so.Mail != "" {
		fmt.Fprintf(&b, "mail: %s\n", so.Mail)
	}
	return []byte(b.String())
}

// RenderSite generates the site for apps from cat with the generator, as nassella
// generate would, and builds the VM's Ignition around it.
func RenderSite(cat *catalog.Release, apps []string, keys *Keys, so SiteOptions) (*TestSite, error) {
	y := SiteYAML(apps, keys.AuthorizedKey(), so)
	l, err := siterepo.FromBytes(siterepo.SiteFile, y, cat)
	if err != nil {
		return nil, fmt.Errorf("the test site for %s does not load against catalog %s:\n%w", strings.Join(apps, ", "), cat.Release, err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		return nil, fmt.Errorf("generating the test site: %w", err)
	}
	ign, ok := tr.Get(butane.IgnitionPath)
	if !ok {
		return nil, fmt.Errorf("the generator wrote no %s", butane.IgnitionPath)
	}
	cf, ok := tr.Get(caddy.Path)
	if !ok {
		return nil, fmt.Errorf("the generator wrote no %s", caddy.Path)
	}
	testCaddy, err := InternalCA(cf.Data)
	if err != nil {
		return nil, err
	}
	vmIgn, err := Overlay(ign.Data, testCaddy, keys, so.Backup)
	if err != nil {
		return nil, err
	}
	return &TestSite{SiteYAML: y, Site: l, Ignition: vmIgn, Caddyfile: testCaddy}, nil
}

// InternalCA switches a generated Caddyfile to Caddy's internal CA: test domains cannot
// get public certificates. Only the VM's copy changes; the generator's output stays.
func InternalCA(caddyfile []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(caddyfile), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "{" {
			var b bytes.Buffer
			for _, x := range lines[:i+1] {
				b.WriteString(x)
			}
			b.WriteString("\t# nassella vmtest: certificates from Caddy's internal CA, trusted by the harness.\n\tlocal_certs\n\tskip_install_trust\n")
			for _, x := range lines[i+1:] {
				b.WriteString(x)
			}
			return b.Bytes(), nil
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			break
		}
	}
	return nil, fmt.Errorf("the generated Caddyfile does not open with a global options block; vmtest cannot switch it to Caddy's internal CA")
}

// butaneConfig is the part of Butane's schema the overlay writes.
type butaneConfig struct {
	Variant  string `yaml:"variant"`
	Version  string `yaml:"version"`
	Ignition struct {
		Config struct {
			Merge []butaneInline `yaml:"merge,omitempty"`
		} `yaml:"config,omitempty"`
	} `yaml:"ignition,omitempty"`
	Storage struct {
		Files []butaneFile `yaml:"files,omitempty"`
	} `yaml:"storage,omitempty"`
}

type butaneInline struct {
	Inline string `yaml:"inline"`
}

type butaneFile struct {
	Path      string       `yaml:"path"`
	Mode      int          `yaml:"mode"`
	Overwrite bool         `yaml:"overwrite"`
	Contents  butaneInline `yaml:"contents"`
}

func translate(c butaneConfig) ([]byte, error) {
	c.Variant, c.Version = "flatcar", "1.0.0"
	y, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	return butane.Translate(y)
}

// Overlay builds the VM's Ignition the way Terraform builds user_data: it merges the
// generated Ignition and adds what only exists at apply time (the data device, outside
// secrets, here the backup target's), plus the test's own files: the Caddyfile on the internal CA and the SSH host
// key. Ignition merges the listed configs in order into the (empty) outer one, a later
// config's file replacing an earlier one's at the same path, so the test files come second.
func Overlay(generated, caddyfile []byte, keys *Keys, backup *BackupTarget) ([]byte, error) {
	var test butaneConfig
	add := func(p string, mode int, body string) {
		test.Storage.Files = append(test.Storage.Files, butaneFile{Path: p, Mode: mode, Overwrite: true, Contents: butaneInline{body}})
	}
	add(hostcontract.VolumeEnv, 0o644, "NASSELLA_DATA_DEVICE="+DataDevice+"\n")
	t := BackupTarget{Password: "nassella-vmtest", AccessKeyID: "nassella-vmtest", SecretAccessKey: "nassella-vmtest"}
	if backup != nil {
		t = *backup
	}
	add(hostcontract.OutsideEnv, 0o600, fmt.Sprintf("RESTIC_PASSWORD=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", t.Password, t.AccessKeyID, t.SecretAccessKey))
	add(path.Join(hostcontract.ProxyDir, hostcontract.Caddyfile), 0o644, string(caddyfile))
	add("/etc/ssh/ssh_host_ed25519_key", 0o600, string(keys.hostPEM))
	add("/etc/ssh/ssh_host_ed25519_key.pub", 0o644, string(ssh.MarshalAuthorizedKey(keys.Host.PublicKey())))
	testIgn, err := translate(test)
	if err != nil {
		return nil, fmt.Errorf("the VM's test files: %w", err)
	}
	var outer butaneConfig
	outer.Ignition.Config.Merge = []butaneInline{{string(generated)}, {string(testIgn)}}
	ign, err := translate(outer)
	if err != nil {
		return nil, fmt.Errorf("the VM's Ignition: %w", err)
	}
	return ign, nil
}
