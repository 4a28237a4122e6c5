// Package terraform renders the site's OpenTofu configuration: the provider's module from
// site-template, unchanged but for the generated-file header, and site.auto.tfvars with
// the values taken from site.yaml. Site values live only in the tfvars, so the module is
// the same reviewed code for every customer.
package terraform

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/site"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// Dir is where the configuration lives in the site repo.
const Dir = "terraform"

// Render returns the files of the terraform folder by name.
func Render(in render.Input) (map[string][]byte, error) {
	out := map[string][]byte{}
	// The platform's module, what every platform shares (the site's variables and outputs,
	// the Ignition's apply-time files) and the site's DNS, side by side in one folder.
	for _, module := range Modules(in.Site) {
		names, err := fs.Glob(sitetemplate.FS, module+"/*.tf")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			body, err := fs.ReadFile(sitetemplate.FS, n)
			if err != nil {
				return nil, err
			}
			if _, dup := out[path.Base(n)]; dup {
				return nil, fmt.Errorf("site-template: two of %s have %s", strings.Join(Modules(in.Site), ", "), path.Base(n))
			}
			out[path.Base(n)] = append([]byte(render.Header("#", in)+"\n"), body...)
		}
	}
	out["site.auto.tfvars"] = tfvars(in)
	if v := in.Site.Provider.Libvirt; v != nil {
		out["libvirt_known_hosts"] = knownHosts(in, v)
	}
	if err := previous(in, out); err != nil {
		return nil, err
	}
	if in.Site.Danger.AllowDestroyingData {
		if o := dataOverride(in); o != nil {
			out["data_override.tf"] = o
		}
	}
	if st := in.Site.State; st != nil && st.S3 != nil {
		out["backend.tf"] = backend(in, st.S3)
	}
	return out, nil
}

// backend keeps the state in the site's S3 bucket, locked with a lock file next to it
// (no DynamoDB or other vendor service), so any S3-compatible storage works. The
// credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
func backend(in render.Input, s3 *site.S3) []byte {
	region := s3.Region
	if region == "" {
		region = "us-east-1" // ignored by most S3-compatible services, required by the backend
	}
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	fmt.Fprintf(&b, `
# The state, encrypted (see state.tf), in the site's own bucket.
terraform {
  backend "s3" {
    bucket       = %s
    key          = %s
    region       = %s
    use_lockfile = true

    endpoints = {
      s3 = %s
    }
    use_path_style              = true
    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}
`, quote(s3.Bucket), quote("nassella/"+in.Site.Name+"/terraform.tfstate"), quote(region), quote(strings.TrimSuffix(s3.Endpoint, "/")))
	return []byte(b.String())
}

// Platform names the module folder under site-template/terraform the site runs on.
func Platform(s *site.Loaded) string { return PlatformOf(s.Provider) }

// PlatformOf names the module folder of a provider block with one platform set: the
// site's, or the one a moving site leaves (provider.previous).
func PlatformOf(p site.Provider) string {
	switch {
	case p.Libvirt != nil:
		return "libvirt"
	case p.OpenStack != nil:
		return "openstack"
	}
	return "hetzner"
}

// Modules are the site-template folders whose files make up the site's terraform folder.
// The DNS part: on Hetzner the hcloud provider is there anyway and its DNS file handles
// every mode (records_only with no zone); elsewhere a site with records_only must not
// have the hcloud provider at all, which OpenTofu would configure, and fail without a
// token, even with no resource of it.
func Modules(s *site.Loaded) []string {
	platform := Platform(s)
	out := []string{"terraform/shared", "terraform/" + platform}
	switch {
	case platform == "hetzner":
		out = append(out, "terraform/dns-hetzner")
	case s.DNSMode() == site.DNSRecordsOnly:
		out = append(out, "terraform/dns-records-only")
	default:
		out = append(out, "terraform/dns-hetzner", "terraform/dns-hetzner-provider")
	}
	return out
}

func tfvars(in render.Input) []byte {
	s := in.Site
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("\n")
	// Aligned as tofu fmt aligns them: the longest name in the block.
	width := 15
	if s.Provider.OpenStack != nil {
		width = len("openstack_auth_url")
	}
	// Paragraphs of one line below are written as tofu fmt leaves them: one space.
	attr := func(k, v string) { fmt.Fprintf(&b, "%-*s = %s\n", width, k, v) }
	attr("site", quote(s.Name))
	for _, v := range platformVars(in, s.Provider) {
		attr(v[0], v[1])
	}
	attr("flatcar_channel", quote(in.Catalog.Flatcar.Channel))
	if s.Backups.Restore != "" {
		b.WriteString("\n# backups.restore is set in site.yaml: a new server restores it onto a blank volume.\n")
		fmt.Fprintf(&b, "restore_snapshot = %s\n", quote(s.Backups.Restore))
	} else if s.Provider.Previous != nil {
		b.WriteString("\n# The site is moving (provider.previous in site.yaml): the new server restores the backup\n# taken of the old one just before it is made.\n")
		fmt.Fprintf(&b, "restore_snapshot = %s\n", quote("latest"))
	}
	if s.Danger.AllowDestroyingData {
		b.WriteString("\n# danger_zone.allow_destroying_data is set in site.yaml.\n")
		b.WriteString("protect_data = false\n")
	}

	b.WriteString("\nssh_keys = {\n")
	for i, k := range s.Admin.SSHKeys {
		fmt.Fprintf(&b, "  %s = %s\n", quote(fmt.Sprintf("admin-%d", i+1)), quote(strings.TrimSpace(k)))
	}
	b.WriteString("}\n\nzones = [\n")
	for _, z := range s.Zones() {
		fmt.Fprintf(&b, "  %s,\n", quote(z))
	}
	b.WriteString("]\n\nrecords = {\n")
	hosts := make([]site.App, len(s.Apps))
	copy(hosts, s.Apps)
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Host < hosts[j].Host })
	width = 0
	for _, a := range hosts {
		width = max(width, len(quote(a.Host)))
	}
	for _, a := range hosts {
		name := strings.TrimSuffix(a.Host, "."+a.Zone)
		fmt.Fprintf(&b, "  %-*s = { zone = %s, name = %s }\n", width, quote(a.Host), quote(a.Zone), quote(name))
	}
	b.WriteString("}\n")
	dnsVars(&b, s)
	return []byte(b.String())
}

// platformVars are the platform's own values in site.auto.tfvars, in order: for the
// site's provider, and for the module of the provider a moving site leaves (previous.go).
func platformVars(in render.Input, p site.Provider) [][2]string {
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{k, v}) }
	s := in.Site
	if h := p.Hetzner; h != nil {
		add("location", quote(h.Location))
		add("datacenter", quote(site.HetznerDatacenter(h.Location)))
		add("server_type", quote(h.ServerType))
		add("volume_size", strconv.Itoa(h.VolumeGB))
	}
	if v := p.Libvirt; v != nil {
		add("libvirt_host", quote(v.Host))
		add("libvirt_user", quote(v.UserOrDefault()))
		add("pool", quote(v.PoolOrDefault()))
		if v.Bridge != "" {
			add("bridge", quote(v.Bridge))
		} else {
			add("network", quote(v.NetworkOrDefault()))
		}
		add("ipv4_address", quote(v.IPv4))
		if v.IPv6 != "" {
			add("ipv6_address", quote(v.IPv6))
		}
		add("memory_mb", strconv.Itoa(v.MemoryMB))
		add("vcpus", strconv.Itoa(v.VCPUsOrDefault()))
		add("volume_size", strconv.Itoa(v.VolumeGB))
		if v.FlatcarImage != "" {
			add("flatcar_image", quote(v.FlatcarImage))
		}
	}
	if o := p.OpenStack; o != nil {
		add("openstack_auth_url", quote(o.AuthURL))
		add("openstack_region", quote(o.Region))
		add("flavor", quote(o.Flavor))
		// The plan checks the flavor's memory against it (openstack/server.tf): only the
		// cloud knows its flavors.
		add("memory_needed_mb", strconv.Itoa(s.MemoryMB()))
		add("external_network", quote(o.ExternalNetwork))
		add("image_name", quote(o.ImageOrDefault(in.Catalog.Flatcar.Channel)))
		if o.AvailabilityZone != "" {
			add("availability_zone", quote(o.AvailabilityZone))
		}
		add("volume_size", strconv.Itoa(o.VolumeGB))
		if o.VolumeType != "" {
			add("volume_type", quote(o.VolumeType))
		}
	}
	return out
}

// dnsVars writes the DNS mode and the owner's records, each only when it is not the
// default, so a site with hetzner: {} keeps the tfvars it had before the modes.
func dnsVars(b *strings.Builder, s *site.Loaded) {
	if mode := s.DNSMode(); mode != site.DNSWholeDomain {
		fmt.Fprintf(b, "\ndns_mode = %s\n", quote(mode))
	}
	records := s.OwnerRecords()
	if len(records) == 0 {
		return
	}
	b.WriteString("\nowner_records = {\n")
	key := func(r site.ZoneRecord) string { return quote(r.Zone + " " + r.Name + " " + r.Type) }
	width := 0
	for _, r := range records {
		width = max(width, len(key(r)))
	}
	for _, r := range records {
		values := make([]string, len(r.Values))
		for i, v := range r.Values {
			if r.Type == "TXT" {
				v = site.TXTValue(v)
			}
			values[i] = quote(v)
		}
		fmt.Fprintf(b, "  %-*s = { zone = %s, name = %s, type = %s, ttl = %d, values = [%s] }\n",
			width, key(r), quote(r.Zone), quote(r.Name), quote(r.Type), r.TTL, strings.Join(values, ", "))
	}
	b.WriteString("}\n")
}

// knownHosts pins the libvirt host's SSH key for the provider's qemu+ssh connection
// (libvirt/versions.tf): OpenSSH's known_hosts format, the host as site.yaml names it.
func knownHosts(in render.Input, v *site.Libvirt) []byte {
	fields := strings.Fields(v.HostKey)
	return []byte(render.Header("#", in) + "\n" + v.Host + " " + fields[0] + " " + fields[1] + "\n")
}

// kept are the resources each platform guards with prevent_destroy, which OpenTofu takes
// only as a literal, so it cannot follow protect_data (Hetzner's own delete protection
// does).
var kept = map[string][]string{
	"libvirt":   {"libvirt_volume.data"},
	"openstack": {"openstack_blockstorage_volume_v3.data", "openstack_networking_floatingip_v2.ipv4"},
}

// dataOverride lifts those prevent_destroy when site.yaml allows destroying data: an
// override file (OpenTofu merges *_override.tf into the resource) keeps the module the
// same for every site. nil when the platform guards nothing that way.
func dataOverride(in render.Input) []byte {
	addrs := kept[Platform(in.Site)]
	if len(addrs) == 0 {
		return nil
	}
	return lifecycleOverride(in, "danger_zone.allow_destroying_data is set in site.yaml: a plan may delete the site's data\n# and its address.", addrs, "prevent_destroy = false")
}

// lifecycleOverride is an override file (*_override.tf) setting one lifecycle argument of
// each resource in addrs (TYPE.NAME), after the generated-file header and a comment.
func lifecycleOverride(in render.Input, comment string, addrs []string, setting string) []byte {
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("\n# " + comment + "\n")
	for _, a := range addrs {
		typ, name, _ := strings.Cut(a, ".")
		fmt.Fprintf(&b, "\nresource %q %q {\n  lifecycle {\n    %s\n  }\n}\n", typ, name, setting)
	}
	return []byte(b.String())
}

// quote writes an HCL string; site values are already restricted to safe characters, but
// quoting escapes anything that would start a template sequence.
func quote(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}
