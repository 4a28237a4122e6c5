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
	const module = "terraform/hetzner"
	names, err := fs.Glob(sitetemplate.FS, module+"/*.tf")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		body, err := fs.ReadFile(sitetemplate.FS, n)
		if err != nil {
			return nil, err
		}
		out[path.Base(n)] = append([]byte(render.Header("#", in)+"\n"), body...)
	}
	out["site.auto.tfvars"] = tfvars(in)
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
# The state, encrypted (see versions.tf), in the site's own bucket.
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

func tfvars(in render.Input) []byte {
	s := in.Site
	h := s.Provider.Hetzner
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("\n")
	attr := func(k, v string) { fmt.Fprintf(&b, "%-15s = %s\n", k, v) }
	attr("site", quote(s.Name))
	attr("location", quote(h.Location))
	attr("datacenter", quote(site.HetznerDatacenter(h.Location)))
	attr("server_type", quote(h.ServerType))
	attr("volume_size", strconv.Itoa(h.VolumeGB))
	attr("flatcar_channel", quote(in.Catalog.Flatcar.Channel))
	if s.Danger.AllowDestroyingData {
		b.WriteString("\n# danger_zone.allow_destroying_data is set in site.yaml.\n")
		attr("protect_data", "false")
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
	width := 0
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

// quote writes an HCL string; site values are already restricted to safe characters, but
// quoting escapes anything that would start a template sequence.
func quote(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}
