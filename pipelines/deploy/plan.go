// Package deploy is how a site repo reaches its server: plan a change and say in plain
// words what it does, apply exactly the reviewed plan, check every app from outside, and
// roll back to the last good configuration when a check fails. It drives OpenTofu through
// terraform-exec; the state is encrypted and, with state.s3 in site.yaml, locked in S3.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/nassella/nassella/internal/inputfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/terraform"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/siterepo"
)

// Env is a site repo and the tools to deploy it.
type Env struct {
	Dir  string // the site repo
	Tofu string // OpenTofu binary
	// Catalog or CatalogDir is the release given with --catalog; neither: the built-in one.
	// Either must be the release the repo's lock pins.
	Catalog    *catalog.Release
	CatalogDir string
	// BackendConfig are -backend-config values for init (files or key=value), e.g. a test's
	// local S3 endpoint.
	BackendConfig []string
	Log           io.Writer // progress; may be nil
	// CI says the apply runs in a CI job, whose workspace is thrown away after it: a site
	// without remote state is then refused (InCI tells from the environment).
	CI bool
	// HostKey is the server's public SSH host key, from the same secret as the private key
	// Terraform writes to the server (TF_VAR_ssh_host_key): plans pass it as
	// ssh_host_public_key, and the backup before a rebuild accepts no other key.
	HostKey ssh.PublicKey
	// AllowUnverified plans a site whose catalog release still has artefacts without a
	// digest or hash (Unverified): for trying a site on a test project, never for a
	// customer's server.
	AllowUnverified bool
}

// Unverified refuses a site whose catalog release still has an artefact nobody pinned
// (an image without a digest, the compose sysext without its sha512): the server would
// boot whatever those addresses serve on the day, not what the catalog pipeline tested.
func Unverified(r *siterepo.Repo) error {
	names := r.Catalog.Unpinned(r.Site.AppNames())
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%s: catalog release %s has %d artefacts nobody has verified yet, so no server is built from it:\n  %s\na co-op maintainer pins them (nassella catalog lock) and cuts a release the site then moves to; to try the site on a test project anyway, plan with --allow-unverified",
		r.Dir, r.Catalog.Release, len(names), strings.Join(names, "\n  "))
}

// InCI says whether getenv's environment is a CI job: GitHub, Gitea and Forgejo Actions
// set these, as most CI systems set CI.
func InCI(getenv func(string) string) bool {
	for _, v := range []string{"CI", "GITHUB_ACTIONS", "GITEA_ACTIONS", "FORGEJO_ACTIONS"} {
		if b, err := strconv.ParseBool(getenv(v)); err == nil && b {
			return true
		}
	}
	return false
}

// ErrNoRemoteState is returned by Apply in CI for a site that keeps no remote state.
var ErrNoRemoteState = errors.New("this site keeps no remote state, so applying it in CI would throw the state away with the CI workspace and the next merge would try to create everything again")

// checkStateKept refuses an apply in CI when the state would be lost with the workspace.
func (e Env) checkStateKept(s *site.Loaded) error {
	if !e.CI || (s.State != nil && s.State.S3 != nil) {
		return nil
	}
	return fmt.Errorf("%w: add state: { s3: { endpoint: ..., bucket: ... } } to site.yaml and run nassella generate (see docs/owner/site-yaml.md, section state), or apply from your own machine", ErrNoRemoteState)
}

func (e Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format, args...)
	}
}

// Change is one resource change of a plan.
type Change struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Action  string `json:"action"` // create, update, replace, delete
	// Detail is what the owner is told, e.g. the host name of a DNS record.
	Detail string `json:"detail,omitempty"`
}

// Kinds of change the summary and the checks tell apart, the same on every platform
// (docs/maintainers/platforms.md): the server, the data volume, the site's public
// addresses, its own network, and what only follows the server (its OS disk, its
// Ignition, the volume's attachment).
const (
	KindServer  = "server"
	KindData    = "data volume"
	KindAddress = "address"
	KindNetwork = "network"
	KindFollows = "follows the server"
)

// Kind is the change's kind: one of the Kind constants, or else its resource type.
func (c Change) Kind() string {
	switch c.Type {
	case "hcloud_server", "libvirt_domain", "openstack_compute_instance_v2":
		return KindServer
	case "hcloud_volume", "openstack_blockstorage_volume_v3":
		return KindData
	case "hcloud_primary_ip", "openstack_networking_floatingip_v2":
		return KindAddress
	case "openstack_networking_network_v2", "openstack_networking_subnet_v2", "openstack_networking_router_v2",
		"openstack_networking_router_interface_v2", "openstack_networking_secgroup_v2",
		"openstack_networking_secgroup_rule_v2", "openstack_networking_port_v2":
		return KindNetwork
	case "hcloud_volume_attachment", "libvirt_ignition", "openstack_compute_volume_attach_v2":
		return KindFollows
	case "libvirt_volume":
		if c.Address == "libvirt_volume.data" || c.Address == terraform.PreviousModule+".libvirt_volume.data" {
			return KindData
		}
		return KindFollows
	}
	return c.Type
}

// Plan is a saved plan and what it does.
type Plan struct {
	File    string   `json:"-"`
	Changes []Change `json:"changes"`
	// Digest identifies the change set: the same digest means the same changes, so a plan
	// made again at merge can be compared with the one reviewed on the pull request.
	Digest string `json:"digest"`
	// Inputs is the hash of the files the plan was made from; apply refuses a plan whose
	// inputs have changed since.
	Inputs string `json:"inputs"`
	// ReplacesServer says the running server is rebuilt: a backup is taken first.
	ReplacesServer bool `json:"replaces_server"`
	// Moves says the site moves to a new server on another platform (provider.previous in
	// site.yaml) that restores the old one's data: a backup of the old one is taken first.
	Moves bool `json:"moves,omitempty"`
	// Moving says the site is moving (provider.previous is set): its names change only
	// after the health check of the new server, and nothing is rolled back.
	Moving bool `json:"moving,omitempty"`
	// Retires says the plan deletes the old server of a moved site, its data volume and its
	// addresses (provider.previous.retire in site.yaml).
	Retires bool `json:"retires,omitempty"`
	// Reads are the data sources the configuration reads, which OpenTofu runs while
	// planning.
	Reads []Read `json:"reads,omitempty"`
	// Site is the site the plan was made for; MakePlan sets it and it is not saved. The
	// summary reads from it what it may promise, such as a backup before a rebuild.
	Site *site.Loaded `json:"-"`
	// Unverified lists the catalog's artefacts without a digest or hash when the plan was
	// made with AllowUnverified anyway; the summary warns of them. Not saved.
	Unverified []string `json:"-"`
}

// Read is a data source of the configuration.
type Read struct {
	Address  string `json:"address"`
	Type     string `json:"type"`
	Provider string `json:"provider"` // e.g. registry.opentofu.org/hetznercloud/hcloud
}

// protected are the resources a plan may not destroy unless site.yaml allows it: losing
// them loses the customer's data or addresses.
var protected = map[string]string{
	KindData:    "the data volume (all app data)",
	KindAddress: "an IP address of the site",
}

// preventedRe finds the resources OpenTofu refused to plan destroying: platforms whose
// provider has no delete protection keep the data volume and the address with
// prevent_destroy (site-template/terraform/libvirt, openstack), which stops the plan
// itself with "Resource ADDRESS has lifecycle.prevent_destroy set" (opentofu
// internal/tofu/node_resource_abstract_instance.go, "Instance cannot be destroyed").
var preventedRe = regexp.MustCompile(`Resource\s+(\S+)\s+has\s+lifecycle\.prevent_destroy`)

// preventedDestroys names those resources in the owner's words, from tofu's error text.
func preventedDestroys(out string) []string {
	var kept []string
	seen := map[string]bool{}
	for _, m := range preventedRe.FindAllStringSubmatch(out, -1) {
		addr := m[1]
		if seen[addr] {
			continue
		}
		seen[addr] = true
		typ, _, _ := strings.Cut(strings.TrimPrefix(addr, terraform.PreviousModule+"."), ".")
		what, ok := protected[Change{Address: addr, Type: typ}.Kind()]
		if !ok {
			what = "a resource kept from deletion"
		}
		kept = append(kept, fmt.Sprintf("%s (%s)", what, addr))
	}
	return kept
}

// ErrDestroysData is returned by MakePlan when a plan would delete protected resources.
var ErrDestroysData = errors.New("the plan would delete data or addresses")

func (e Env) tf(ctx context.Context, dir string) (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(dir, e.Tofu)
	if err != nil {
		return nil, err
	}
	var opts []tfexec.InitOption
	for _, bc := range e.BackendConfig {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	if err := tf.Init(ctx, opts...); err != nil {
		return nil, fmt.Errorf("tofu init: %w", err)
	}
	return tf, nil
}

// LoadSite opens the site repo: its site.yaml, loaded against the catalog release its lock
// pins, so the apps checked are the ones that release defines.
func (e Env) LoadSite() (*site.Loaded, error) {
	r, err := siterepo.Open(e.Dir, siterepo.Options{Catalog: e.Catalog, CatalogDir: e.CatalogDir})
	if err != nil {
		return nil, err
	}
	return r.Site, nil
}

// MakePlan runs init and plan, saves the plan to file and reads back what it does. A repo
// whose terraform/ or host/ holds files nassella did not generate is refused before
// OpenTofu reads them, and so is a server type Hetzner can no longer create in the site's
// location (servertype.go). A plan that would delete the data volume or an IP address is refused
// (and its file removed) unless site.yaml sets danger_zone.allow_destroying_data.
func MakePlan(ctx context.Context, e Env, file string) (*Plan, error) {
	r, err := siterepo.Open(e.Dir, siterepo.Options{Catalog: e.Catalog, CatalogDir: e.CatalogDir})
	if err != nil {
		return nil, err
	}
	t, err := r.Generate()
	if err != nil {
		return nil, err
	}
	if err := validate.ExtraFiles(e.Dir, t.Paths()); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Dir, err)
	}
	if !e.AllowUnverified {
		if err := Unverified(r); err != nil {
			return nil, err
		}
	}
	if err := e.checkServerType(ctx, r.Site); err != nil {
		return nil, err
	}
	p, err := makePlan(ctx, e, file, r.Site.Danger, r.Site.Provider.Previous)
	if p != nil {
		p.Site = r.Site
		p.Unverified = r.Catalog.Unpinned(r.Site.AppNames())
	}
	return p, err
}

// makePlan plans the repo's Terraform as it is; danger is the site's danger_zone, which
// decides whether a plan may delete data, and prev.Retire lets it delete the old
// server's (module.previous).
// prev is the platform a moving site leaves, nil when it is not moving.
func makePlan(ctx context.Context, e Env, file string, danger site.Danger, prev *site.Previous) (*Plan, error) {
	dir := filepath.Join(e.Dir, terraform.Dir)
	file, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	inputs, err := InputsHash(e.Dir)
	if err != nil {
		return nil, err
	}
	e.logf("planning %s\n", e.Dir)
	tf, err := e.tf(ctx, dir)
	if err != nil {
		return nil, err
	}
	if _, err := tf.Plan(ctx, e.planOptions(file)...); err != nil {
		if kept := preventedDestroys(err.Error()); len(kept) > 0 {
			return nil, fmt.Errorf("%w: %s; if that is really wanted (moving or deleting the site), set danger_zone: { allow_destroying_data: true } in site.yaml", ErrDestroysData, strings.Join(kept, ", "))
		}
		if prev == nil && strings.Contains(err.Error(), terraform.PreviousModule) {
			return nil, fmt.Errorf("tofu plan: %w\nThe server the site moved away from is still there (%s in the state): put its block back under provider.previous in site.yaml with retire: true to delete it, and remove previous only once that is applied", err, terraform.PreviousModule)
		}
		return nil, fmt.Errorf("tofu plan: %w", err)
	}
	shown, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("tofu show: %w", err)
	}
	p := &Plan{File: file, Inputs: inputs, Changes: changes(shown), Reads: reads(shown), Moving: prev != nil, Retires: prev != nil && prev.Retire}
	p.Digest = digest(shown)
	var dangerous []string
	for _, c := range p.Changes {
		if c.Kind() == KindServer && c.Action == "replace" {
			p.ReplacesServer = true
		}
		old := strings.HasPrefix(c.Address, terraform.PreviousModule+".")
		// The new platform's server is made while the old one runs in the previous module.
		if p.Moving && c.Kind() == KindServer && c.Action == "create" && !old {
			p.Moves = true
		}
		if p.Retires && old {
			continue // what retire is for; the summary says it in so many words
		}
		if what, ok := protected[c.Kind()]; ok && (c.Action == "delete" || c.Action == "replace") {
			dangerous = append(dangerous, fmt.Sprintf("%s (%s)", what, c.Address))
		}
	}
	if p.Retires && p.Moves {
		os.Remove(file)
		return p, fmt.Errorf("%w: provider.previous.retire is set, but the site has not moved yet (this plan makes its new server); remove retire: true, merge the move, and set it once the site works on its new provider", ErrDestroysData)
	}
	if len(dangerous) > 0 && !danger.AllowDestroyingData {
		os.Remove(file)
		return p, fmt.Errorf("%w: %s; if that is really wanted (moving or deleting the site), set danger_zone: { allow_destroying_data: true } in site.yaml", ErrDestroysData, strings.Join(dangerous, ", "))
	}
	meta, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file+".json", meta, 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

// ReadPlan reads the description MakePlan saved next to a plan file.
func ReadPlan(file string) (*Plan, error) {
	data, err := os.ReadFile(file + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w (make the plan with nassella plan)", err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s.json: %w", file, err)
	}
	p.File, err = filepath.Abs(file)
	return &p, err
}

// InputsHash hashes the files a plan is made from: every file in terraform/ that OpenTofu
// reads, and the Ignition.
func InputsHash(repo string) (string, error) {
	h := sha256.New()
	var files []string
	// The root module and the module of the platform a moving site leaves.
	for _, sub := range []string{terraform.Dir, filepath.Join(terraform.Dir, terraform.PreviousDir)} {
		entries, err := os.ReadDir(filepath.Join(repo, sub))
		if err != nil && !(sub != terraform.Dir && errors.Is(err, fs.ErrNotExist)) {
			return "", err
		}
		for _, e := range entries {
			if !e.IsDir() && TofuReads(e.Name()) {
				files = append(files, filepath.Join(sub, e.Name()))
			}
		}
	}
	sort.Strings(files)
	files = append(files, filepath.FromSlash(butane.IgnitionPath))
	for _, f := range files {
		data, err := inputfile.ReadIn(repo, f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tofuExts are the names OpenTofu reads from a module's folder: configuration (.tf,
// .tf.json, .tofu, .tofu.json, overrides being *_override and override with these
// endings; opentofu/opentofu internal/configs/parser_config_dir.go, dirFiles and fileExt)
// and variable values (terraform.tfvars(.json) and *.auto.tfvars(.json); internal/command/
// meta.go, isAutoVarFile). Any .tfvars counts, as -var-file could name it.
var tofuExts = []string{".tf", ".tf.json", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json"}

// TofuReads says whether OpenTofu may read the file called name in terraform/.
func TofuReads(name string) bool {
	for _, ext := range tofuExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func action(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return "replace"
	case a.Create():
		return "create"
	case a.Update():
		return "update"
	case a.Delete():
		return "delete"
	}
	return ""
}

func changes(p *tfjson.Plan) []Change {
	var out []Change
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := action(rc.Change.Actions)
		if a == "" {
			continue
		}
		c := Change{Address: rc.Address, Type: rc.Type, Action: a}
		vals, _ := rc.Change.After.(map[string]any)
		if a == "delete" {
			vals, _ = rc.Change.Before.(map[string]any)
		}
		switch rc.Type {
		case "hcloud_zone_rrset":
			name, _ := vals["name"].(string)
			zone, _ := vals["zone"].(string)
			if name == "@" {
				c.Detail = zone
			} else if name != "" && zone != "" {
				c.Detail = name + "." + zone
			}
		case "hcloud_zone":
			c.Detail, _ = vals["name"].(string)
		case "hcloud_volume", "openstack_blockstorage_volume_v3":
			if size, ok := vals["size"].(float64); ok {
				c.Detail = fmt.Sprintf("%.0f GB", size)
			}
		case "libvirt_volume":
			if size, ok := vals["size"].(float64); ok && c.Kind() == KindData {
				c.Detail = fmt.Sprintf("%.0f GB", size/(1<<30)) // bytes; the module's GiB
			}
		case "hcloud_primary_ip":
			c.Detail, _ = vals["type"].(string)
		case "openstack_networking_floatingip_v2":
			c.Detail = "ipv4" // floating IPs are IPv4 (openstack/network.tf)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// reads lists the configuration's data sources, in child modules too, with the provider
// each is read through.
func reads(p *tfjson.Plan) []Read {
	if p.Config == nil {
		return nil
	}
	var out []Read
	var walk func(prefix string, m *tfjson.ConfigModule)
	walk = func(prefix string, m *tfjson.ConfigModule) {
		if m == nil {
			return
		}
		for _, r := range m.Resources {
			if r.Mode == tfjson.DataResourceMode {
				out = append(out, Read{Address: prefix + r.Address, Type: r.Type, Provider: providerOf(p.Config, r)})
			}
		}
		for name, call := range m.ModuleCalls {
			if call != nil {
				walk(prefix+"module."+name+".", call.Module)
			}
		}
	}
	walk("", p.Config.RootModule)
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// providerOf names the provider a resource is read through: its full source address
// when the configuration declares it, else the provider its type belongs to.
func providerOf(c *tfjson.Config, r *tfjson.ConfigResource) string {
	if pc, ok := c.ProviderConfigs[r.ProviderConfigKey]; ok && pc != nil {
		if pc.FullName != "" {
			return pc.FullName
		}
		return pc.Name
	}
	name, _, _ := strings.Cut(r.Type, "_")
	return name
}

// digest hashes the planned changes (address, actions and the values after, sensitive
// values masked by tofu itself), independent of when or where the plan was made.
func digest(p *tfjson.Plan) string {
	type entry struct {
		Address string
		Actions tfjson.Actions
		After   any
	}
	var es []entry
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Change.Actions.NoOp() || rc.Change.Actions.Read() {
			continue
		}
		es = append(es, entry{rc.Address, rc.Change.Actions, rc.Change.After})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Address < es[j].Address })
	data, _ := json.Marshal(es)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
