package deploy_test

import (
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/deploy"
)

// What `tofu show -json` says of a configuration with an override that reads through the
// external and http providers, beside the site's own data sources (two platforms').
const planWithReads = `{
  "format_version": "1.2",
  "configuration": {
    "provider_config": {
      "hcloud": {"name": "hcloud", "full_name": "registry.opentofu.org/hetznercloud/hcloud"},
      "openstack": {"name": "openstack", "full_name": "registry.opentofu.org/terraform-provider-openstack/openstack"},
      "external": {"name": "external", "full_name": "registry.opentofu.org/hashicorp/external"},
      "http": {"name": "http", "full_name": "registry.opentofu.org/hashicorp/http"},
      "dns": {"name": "dns", "full_name": "registry.opentofu.org/hashicorp/dns"}
    },
    "root_module": {
      "resources": [
        {"address": "hcloud_server.host", "mode": "managed", "type": "hcloud_server", "name": "host", "provider_config_key": "hcloud"},
        {"address": "data.hcloud_image.flatcar", "mode": "data", "type": "hcloud_image", "name": "flatcar", "provider_config_key": "hcloud"},
        {"address": "data.openstack_images_image_v2.flatcar", "mode": "data", "type": "openstack_images_image_v2", "name": "flatcar", "provider_config_key": "openstack"},
        {"address": "data.external.leak", "mode": "data", "type": "external", "name": "leak", "provider_config_key": "external"},
        {"address": "data.http.fetch", "mode": "data", "type": "http", "name": "fetch", "provider_config_key": "http"}
      ],
      "module_calls": {
        "extra": {"source": "./extra", "module": {"resources": [
          {"address": "data.dns_a_record_set.x", "mode": "data", "type": "dns_a_record_set", "name": "x", "provider_config_key": "dns"}
        ]}}
      }
    }
  }
}`

// The plan summary lists the data sources and says in plain words which run a program or
// reach out, so a reviewer sees a data "external" even when nothing else changes.
func TestSummaryCallsOutDataSources(t *testing.T) {
	var shown tfjson.Plan
	if err := shown.UnmarshalJSON([]byte(planWithReads)); err != nil {
		t.Fatal(err)
	}
	p := &deploy.Plan{Reads: deploy.ReadsForTest(&shown), Digest: "0123456789abcdef"}
	if len(p.Reads) != 5 {
		t.Fatalf("reads: %+v", p.Reads)
	}
	s := deploy.Summarize(p)
	text := s.Text()
	for _, want := range []string{
		"WARNING: The configuration runs a program (data.external.leak) on the machine that makes the plan",
		"WARNING: The configuration fetches a web address (data.http.fetch)",
		"reads module.extra.data.dns_a_record_set.x through the registry.opentofu.org/hashicorp/dns provider",
		"do not merge unless you know why it is there",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "hcloud_image") || strings.Contains(text, "openstack_images") || len(s.Warnings) != 3 {
		t.Errorf("the site's own data source is called out, or warnings are missing:\n%s", text)
	}
	md := s.Markdown(p)
	for _, want := range []string{"> [!WARNING]\n> The configuration runs a program", "| `data.external.leak` | read (registry.opentofu.org/hashicorp/external) |", "| `data.hcloud_image.flatcar` | read"} {
		if !strings.Contains(md, want) {
			t.Errorf("comment lacks %q:\n%s", want, md)
		}
	}
}

// The plan comment speaks of the owner's site, promises a backup only where one can be
// taken, names who to ask and folds the resources away.
func TestSummaryWords(t *testing.T) {
	rebuild := []deploy.Change{{Address: "hcloud_server.host", Type: "hcloud_server", Action: "replace"}, {Address: "hcloud_zone_rrset.app[\"cloud\"]", Type: "hcloud_zone_rrset", Action: "create", Detail: "cloud.acme.example"}}
	withKey := &site.Loaded{Site: &site.Site{Admin: site.Admin{BackupKey: "ssh-ed25519 AAAA ci"}}}
	supported := &site.Loaded{Site: &site.Site{Support: &site.Support{Name: "Riverside Tech Co-op", Email: "help@riverside.coop"}}}
	for _, tc := range []struct {
		name      string
		plan      deploy.Plan
		when      string
		want, not []string
	}{
		{"rebuild with a backup key", deploy.Plan{Changes: rebuild, Site: withKey},
			"",
			[]string{"**Your server will be rebuilt: your apps are offline for a few minutes.**", "your apps' settings or the server's setup changed", "A backup of all your data is taken first.",
				"- https://cloud.acme.example will point at your server.", "<details><summary>Technical details</summary>\n\nPlan: 1 to add, 1 to rebuild.", "| `hcloud_server.host` | replace |", "Questions about this change? Ask your co-op."},
			[]string{"WARNING"}},
		{"rebuild without a backup key", deploy.Plan{Changes: rebuild, Site: supported},
			"",
			[]string{"> [!WARNING]\n> The server must be rebuilt, but site.yaml has no admin.backup_key", "Ask **Riverside Tech Co-op** ([help@riverside.coop](mailto:help@riverside.coop)) to set up the backup key."},
			[]string{"backup of all your data is taken first"}},
		{"first apply", deploy.Plan{Changes: []deploy.Change{{Address: "hcloud_server.host", Type: "hcloud_server", Action: "create"}, {Address: "hcloud_zone.site[\"acme.example\"]", Type: "hcloud_zone", Action: "create", Detail: "acme.example"}, {Address: "hcloud_primary_ip.v6", Type: "hcloud_primary_ip", Action: "create", Detail: "ipv6"}}, Site: supported},
			"",
			[]string{"**Your server will be created.**", "A fixed IPv6 address will be reserved for your site.", "your domain's name servers must point at it (ask **Riverside Tech Co-op**"},
			[]string{"co-op tells you"}},
		{"first apply on OpenStack", deploy.Plan{Changes: []deploy.Change{
			{Address: "openstack_compute_instance_v2.host", Type: "openstack_compute_instance_v2", Action: "create"},
			{Address: "openstack_blockstorage_volume_v3.data", Type: "openstack_blockstorage_volume_v3", Action: "create", Detail: "100 GB"},
			{Address: "openstack_compute_volume_attach_v2.data", Type: "openstack_compute_volume_attach_v2", Action: "create"},
			{Address: "openstack_networking_floatingip_v2.ipv4", Type: "openstack_networking_floatingip_v2", Action: "create", Detail: "ipv4"},
			{Address: "openstack_networking_network_v2.site", Type: "openstack_networking_network_v2", Action: "create"},
			{Address: "openstack_networking_router_v2.site", Type: "openstack_networking_router_v2", Action: "create"},
			{Address: "openstack_networking_secgroup_rule_v2.in[\"ssh\"]", Type: "openstack_networking_secgroup_rule_v2", Action: "create"},
		}, Site: supported},
			"",
			[]string{"**Your server will be created.**", "A data volume of 100 GB will be created", "A fixed IPv4 address will be reserved for your site.", "The site's own network will be set up"},
			[]string{"Another part of the server's setup"}},
		{"a move, names at Hetzner", deploy.Plan{Moves: true, Moving: true, Changes: []deploy.Change{{Address: "libvirt_domain.host", Type: "libvirt_domain", Action: "create"}},
			Site: &site.Loaded{Site: &site.Site{Provider: site.Provider{Libvirt: &site.Libvirt{}, Previous: &site.Previous{Hetzner: &site.Hetzner{}}}, DNS: site.DNS{Hetzner: &site.HetznerDNS{}}}}},
			"",
			[]string{"**Your site moves to a new server; the old one stays until you delete it.**", "Your site moves from Hetzner Cloud to your own machine: a backup of all your data is taken on the old server first", "your addresses then point at the new server"},
			[]string{"Your server will be created"}},
		{"a move, names at the owner's DNS host", deploy.Plan{Moves: true, Moving: true, Changes: []deploy.Change{{Address: "openstack_compute_instance_v2.host", Type: "openstack_compute_instance_v2", Action: "create"}},
			Site: &site.Loaded{Site: &site.Site{Provider: site.Provider{OpenStack: &site.OpenStack{}, Previous: &site.Previous{Libvirt: &site.Libvirt{}}}, DNS: site.DNS{RecordsOnly: &site.RecordsOnly{}}}}},
			"",
			[]string{"Your site moves from your own machine to your OpenStack cloud", "you point your addresses at it (the records below, at your DNS host)"},
			[]string{"your addresses then point at the new server"}},
		{"in place", deploy.Plan{Changes: []deploy.Change{{Address: "hcloud_server.host", Type: "hcloud_server", Action: "update"}}},
			"It is applied in your maintenance window, Sun 03:00 (Europe/Berlin).",
			[]string{"**Your server will be changed without a rebuild.**\n\nIt is applied in your maintenance window, Sun 03:00 (Europe/Berlin).\n\n", "The server's setup will change without a rebuild"},
			nil},
		// A libvirt site's rebuild, as TestLibvirtPlatform's plan has it: the domain, its OS
		// disk and its Ignition replaced, the data disk alone.
		{"libvirt rebuild", deploy.Plan{Changes: []deploy.Change{
			{Address: "libvirt_domain.host", Type: "libvirt_domain", Action: "replace"},
			{Address: "libvirt_ignition.host", Type: "libvirt_ignition", Action: "replace"},
			{Address: "libvirt_volume.os", Type: "libvirt_volume", Action: "replace"},
		}, Site: withKey},
			"",
			[]string{"**Your server will be rebuilt: your apps are offline for a few minutes.**", "A backup of all your data is taken first.", "| `libvirt_volume.os` | replace |"},
			[]string{"Another part of the server's setup", "WARNING"}},
		{"libvirt first apply", deploy.Plan{Changes: []deploy.Change{
			{Address: "libvirt_domain.host", Type: "libvirt_domain", Action: "create"},
			{Address: "libvirt_volume.data", Type: "libvirt_volume", Action: "create", Detail: "50 GB"},
			{Address: "libvirt_volume.flatcar", Type: "libvirt_volume", Action: "create"},
		}},
			"",
			[]string{"**Your server will be created.**", "A data volume of 50 GB will be created for your apps' data."},
			[]string{"Another part of the server's setup"}},
		{"a new server with the restore instruction", deploy.Plan{Changes: []deploy.Change{{Address: "libvirt_domain.host", Type: "libvirt_domain", Action: "create"}},
			Site: &site.Loaded{Site: &site.Site{Backups: site.Backups{Restore: "latest"}}}},
			"",
			[]string{"**Your server will be created.**", "if the new server finds its data volume empty, it first brings back your backup (latest), before any app starts"},
			nil},
		{"nothing", deploy.Plan{},
			"",
			[]string{"**Nothing changes on your server.**"},
			[]string{"<details>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.plan.Digest = "0123456789abcdef"
			s := deploy.Summarize(&tc.plan)
			if len(tc.plan.Changes) > 0 && s.When != deploy.Timing(&tc.plan) {
				t.Errorf("When = %q, want Timing's %q", s.When, deploy.Timing(&tc.plan))
			}
			if tc.when != "" {
				s.When = tc.when
			}
			md := s.Markdown(&tc.plan)
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("comment lacks %q:\n%s", w, md)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(md, w) {
					t.Errorf("comment says %q:\n%s", w, md)
				}
			}
			if !strings.HasPrefix(md, deploy.CommentMarker+"\n<!-- nassella-plan-digest: 0123456789abcdef -->\n") {
				t.Errorf("comment does not open with the marker and digest:\n%s", md)
			}
			if text := s.Text(); !strings.Contains(text, s.Headline+"\n") || !strings.Contains(text, s.Counts) {
				t.Errorf("text lacks the headline or the tally:\n%s", text)
			}
		})
	}
}

// Every platform's server and data volume are the same kinds to the summary and to the
// data-loss check (docs/maintainers/platforms.md).
func TestChangeKind(t *testing.T) {
	for _, tc := range []struct{ address, typ, want string }{
		{"hcloud_server.host", "hcloud_server", deploy.KindServer},
		{"libvirt_domain.host", "libvirt_domain", deploy.KindServer},
		{"hcloud_volume.data", "hcloud_volume", deploy.KindData},
		{"libvirt_volume.data", "libvirt_volume", deploy.KindData},
		{"libvirt_volume.os", "libvirt_volume", deploy.KindFollows},
		{"libvirt_volume.flatcar", "libvirt_volume", deploy.KindFollows},
		{"libvirt_ignition.host", "libvirt_ignition", deploy.KindFollows},
		{"hcloud_volume_attachment.data", "hcloud_volume_attachment", deploy.KindFollows},
		{"hcloud_zone.site[\"a.example\"]", "hcloud_zone", "hcloud_zone"},
		// The old platform of a moving site, in the previous module.
		{"module.previous.libvirt_volume.data", "libvirt_volume", deploy.KindData},
		{"module.previous.libvirt_volume.os", "libvirt_volume", deploy.KindFollows},
		{"module.previous.hcloud_volume.data", "hcloud_volume", deploy.KindData},
	} {
		if got := (deploy.Change{Address: tc.address, Type: tc.typ}).Kind(); got != tc.want {
			t.Errorf("%s: kind %q, want %q", tc.address, got, tc.want)
		}
	}
}

// A plan OpenTofu itself stops for prevent_destroy (the libvirt and OpenStack modules keep
// the data volume and the address that way) is named in the owner's words, each resource
// once, even when tofu wraps the line.
func TestPreventedDestroys(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []string
	}{
		{"none", "Error: Invalid provider configuration", nil},
		{"volume and address", `
Error: Instance cannot be destroyed

  on volume.tf line 9:
   9: resource "openstack_blockstorage_volume_v3" "data" {

Resource openstack_blockstorage_volume_v3.data has lifecycle.prevent_destroy
set, but the plan calls for this resource to be destroyed.

Error: Instance cannot be destroyed

Resource openstack_networking_floatingip_v2.ipv4 has
lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed.

Resource openstack_blockstorage_volume_v3.data has lifecycle.prevent_destroy set`,
			[]string{"the data volume (all app data) (openstack_blockstorage_volume_v3.data)", "an IP address of the site (openstack_networking_floatingip_v2.ipv4)"}},
		{"libvirt", "Resource libvirt_volume.data has lifecycle.prevent_destroy set", []string{"the data volume (all app data) (libvirt_volume.data)"}},
		{"something else kept", "Resource libvirt_volume.flatcar has lifecycle.prevent_destroy set", []string{"a resource kept from deletion (libvirt_volume.flatcar)"}},
		{"a moving site's old volume", "Resource module.previous.openstack_blockstorage_volume_v3.data has lifecycle.prevent_destroy set",
			[]string{"the data volume (all app data) (module.previous.openstack_blockstorage_volume_v3.data)"}},
	} {
		got := deploy.PreventedDestroysForTest(tc.out)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
