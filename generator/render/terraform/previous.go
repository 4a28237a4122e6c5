package terraform

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/site"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// A moving site (provider.previous in site.yaml, docs/owner/moving.md) keeps its old
// server while the new one takes over: the old platform's module runs, frozen, as the
// child module "previous" beside the new platform at the root, and moved blocks hand it
// the old resources, so the move plans no change to them. The old platform's provider is
// configured at the root under the alias "previous", not in the child: OpenTofu needs a
// resource's provider to destroy it even once its module is gone, which is how
// provider.previous.retire deletes the old server.

// PreviousDir is the child module's folder inside Dir.
const PreviousDir = "previous"

// PreviousModule is the module address of the old platform's resources in the state.
const PreviousModule = "module." + PreviousDir

// providerFile holds each platform's provider block and the variables only it reads; it
// stays out of the child module.
const providerFile = "provider.tf"

// sharedInPrevious are the shared files the child module needs to evaluate the platform's
// files: the site's variables, the Ignition's locals and the outputs (its address).
var sharedInPrevious = []string{"terraform/shared/site-variables.tf", "terraform/shared/ignition.tf", "terraform/shared/site-outputs.tf"}

// providerVars are set at the root for the provider (provider.tf), not passed to the child.
var providerVars = map[string]bool{"libvirt_host": true, "libvirt_user": true, "openstack_auth_url": true, "openstack_region": true}

var resourceRe = regexp.MustCompile(`(?m)^resource "([a-z0-9_]+)" "([a-z0-9_]+)"`)

// previous adds the files of a moving site's old platform to out.
func previous(in render.Input, out map[string][]byte) error {
	prev := in.Site.Provider.Previous
	if prev == nil {
		return nil
	}
	pp := prev.Provider()
	platform := PlatformOf(pp)
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	if prev.Retire {
		b.WriteString("\n# provider.previous.retire is set in site.yaml: the old server, its data volume and its addresses\n# (module.previous in the state) are deleted. Their provider stays until they are gone.\n")
	} else {
		fmt.Fprintf(&b, "\n# provider.previous is set in site.yaml: the site moves from %s. The old server and its data\n# stay untouched in the module below until provider.previous.retire is set.\n", platform)
	}
	b.WriteString("\n" + previousProvider(in, pp, out))
	if v := pp.Libvirt; v != nil {
		out["previous_libvirt_known_hosts"] = knownHosts(in, v)
	}
	// resources are all the child's, frozen; moved are the platform's own: the shared ones
	// (terraform_data) stay at the root for the new server, and the child's are new.
	if prev.Retire {
		out["previous.tf"] = []byte(b.String())
		return nil
	}

	var resources, moved []string
	module := "terraform/" + platform
	names, err := fs.Glob(sitetemplate.FS, module+"/*.tf")
	if err != nil {
		return err
	}
	for _, n := range append(names, sharedInPrevious...) {
		if path.Base(n) == providerFile {
			continue
		}
		body, err := fs.ReadFile(sitetemplate.FS, n)
		if err != nil {
			return err
		}
		for _, m := range resourceRe.FindAllStringSubmatch(string(body), -1) {
			resources = append(resources, m[1]+"."+m[2])
			if path.Dir(n) == module {
				moved = append(moved, m[1]+"."+m[2])
			}
		}
		out[path.Join(PreviousDir, path.Base(n))] = append([]byte(render.Header("#", in)+"\n"), body...)
	}
	sort.Strings(resources)
	sort.Strings(moved)
	out[path.Join(PreviousDir, "frozen_override.tf")] = frozen(in, resources)

	local := providerLocalName[platform]
	fmt.Fprintf(&b, "\nmodule %q {\n  source = \"./%s\"\n  providers = {\n    %s = %s.previous\n  }\n\n", PreviousDir, PreviousDir, local, local)
	args := [][2]string{
		{"site", "var.site"},
		{"ssh_keys", "var.ssh_keys"},
		{"zones", "var.zones"},
		{"records", "var.records"},
		{"dns_mode", "var.dns_mode"},
		{"owner_records", "var.owner_records"},
		{"flatcar_channel", "var.flatcar_channel"},
		// Relative to the child's folder: the files are read, the server ignores them.
		{"ignition_file", quote("../../host/ignition.json")},
		{"backup_settings_file", quote("../../host/backup-settings.env")},
		{"protect_data", "var.protect_data"},
	}
	for _, v := range platformVars(in, pp) {
		if !providerVars[v[0]] {
			args = append(args, v)
		}
	}
	width := 0
	for _, a := range args {
		width = max(width, len(a[0]))
	}
	for _, a := range args {
		fmt.Fprintf(&b, "  %-*s = %s\n", width, a[0], a[1])
	}
	b.WriteString("}\n")
	b.WriteString("\n# Where the old server's resources were before the move.\n")
	for _, r := range moved {
		fmt.Fprintf(&b, "moved {\n  from = %s\n  to   = %s.%s\n}\n\n", r, PreviousModule, r)
	}
	b.WriteString(`output "previous_ipv4_address" {
  description = "Public IPv4 address of the server the site moves from"
  value       = module.previous.ipv4_address
}
`)
	out["previous.tf"] = []byte(b.String())
	return nil
}

// providerLocalName is each platform's provider, by its local name in versions.tf.
var providerLocalName = map[string]string{"hetzner": "hcloud", "libvirt": "libvirt", "openstack": "openstack"}

// providerSource is each platform's provider as versions.tf requires it.
var providerSource = map[string][2]string{
	"hetzner":   {"hetznercloud/hcloud", "1.57.0"},
	"libvirt":   {"dmacvicar/libvirt", "0.8.3"},
	"openstack": {"terraform-provider-openstack/openstack", "3.4.0"},
}

// previousProvider writes the old platform's provider, aliased "previous", with the
// values site.yaml gives for it and the outside secrets as variables the root declares
// once: the workflows pass every platform's secrets (site-template/workflows). A provider
// the root's versions.tf does not require is added with an override file (OpenTofu
// merges required_providers of *_override.tf entry by entry: internal/configs/module.go).
func previousProvider(in render.Input, p site.Provider, out map[string][]byte) string {
	var b strings.Builder
	root := in.Site
	rootHcloud := slices.Contains(Modules(root), "terraform/hetzner") || slices.Contains(Modules(root), "terraform/dns-hetzner-provider")
	platform := PlatformOf(p)
	switch {
	case p.Hetzner != nil:
		b.WriteString("provider \"hcloud\" {\n  alias    = \"previous\"\n  token    = var.hcloud_token\n  endpoint = var.hcloud_endpoint\n}\n")
		if !rootHcloud {
			b.WriteString(`
variable "hcloud_token" {
  type        = string
  description = "Hetzner Cloud API token of the project the site moves from"
  sensitive   = true
}

variable "hcloud_endpoint" {
  type        = string
  description = "Hetzner Cloud API endpoint (e.g. https://api.hetzner.cloud/v1)"
  default     = "https://api.hetzner.cloud/v1"
}
`)
		}
	case p.Libvirt != nil:
		v := p.Libvirt
		// The same connection as libvirt/provider.tf, to the host site.yaml names.
		uri := strings.TrimSuffix(quote("qemu+ssh://"+v.UserOrDefault()+"@"+v.Host+"/system?keyfile="), `"`) +
			`${urlencode(var.libvirt_ssh_key_file)}&knownhosts=${urlencode(abspath("${path.module}/previous_libvirt_known_hosts"))}"`
		fmt.Fprintf(&b, "provider \"libvirt\" {\n  alias = \"previous\"\n  uri   = var.libvirt_uri != \"\" ? var.libvirt_uri : %s\n}\n", uri)
		b.WriteString(`
variable "libvirt_ssh_key_file" {
  type        = string
  description = "File holding the SSH key that logs in to the libvirt host the site moves from (the CI secret LIBVIRT_SSH_KEY)"
  default     = ""
}

variable "libvirt_uri" {
  type        = string
  description = "libvirt connection URI instead of qemu+ssh to that host (e.g. qemu:///system when tofu runs on it)"
  default     = ""
}
`)
	case p.OpenStack != nil:
		o := p.OpenStack
		fmt.Fprintf(&b, "provider \"openstack\" {\n  alias                         = \"previous\"\n  auth_url                      = %s\n  region                        = %s\n  application_credential_id     = var.openstack_application_credential_id\n  application_credential_secret = var.openstack_application_credential_secret\n}\n", quote(o.AuthURL), quote(o.Region))
		b.WriteString(`
variable "openstack_application_credential_id" {
  type        = string
  description = "ID of the application credential of the project the site moves from (the CI secret OPENSTACK_APPLICATION_CREDENTIAL_ID)"
  sensitive   = true
}

variable "openstack_application_credential_secret" {
  type        = string
  description = "Secret of that application credential (the CI secret OPENSTACK_APPLICATION_CREDENTIAL_SECRET)"
  sensitive   = true
}
`)
	}
	if platform != "hetzner" {
		src := providerSource[platform]
		out["previous_override.tf"] = []byte(render.Header("#", in) + fmt.Sprintf(`
# The provider of the platform the site moves from (previous.tf), beside the ones
# versions.tf requires.
terraform {
  required_providers {
    %s = {
      source  = %s
      version = %s
    }
  }
}
`, providerLocalName[platform], quote(src[0]), quote(src[1])))
	}
	return b.String()
}

// frozen keeps every resource of the old platform as it is: a change of site.yaml or of
// the catalog during the move must not touch the server the site is leaving (it would
// replace it). Override files merge lifecycle argument by argument (OpenTofu's
// configs/module_merge.go), so prevent_destroy of the platform's files stays.
func frozen(in render.Input, resources []string) []byte {
	return lifecycleOverride(in, "The site is moving away from this platform (provider.previous in site.yaml): nothing here\n# changes until provider.previous.retire deletes it all.", resources, "ignore_changes = all")
}
