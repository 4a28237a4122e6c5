package deploy_test

import (
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/nassella/nassella/pipelines/deploy"
)

// What `tofu show -json` says of a configuration with an override that reads through the
// external and http providers, beside the site's own data source.
const planWithReads = `{
  "format_version": "1.2",
  "configuration": {
    "provider_config": {
      "hcloud": {"name": "hcloud", "full_name": "registry.opentofu.org/hetznercloud/hcloud"},
      "external": {"name": "external", "full_name": "registry.opentofu.org/hashicorp/external"},
      "http": {"name": "http", "full_name": "registry.opentofu.org/hashicorp/http"},
      "dns": {"name": "dns", "full_name": "registry.opentofu.org/hashicorp/dns"}
    },
    "root_module": {
      "resources": [
        {"address": "hcloud_server.host", "mode": "managed", "type": "hcloud_server", "name": "host", "provider_config_key": "hcloud"},
        {"address": "data.hcloud_image.flatcar", "mode": "data", "type": "hcloud_image", "name": "flatcar", "provider_config_key": "hcloud"},
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
	if len(p.Reads) != 4 {
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
	if strings.Contains(text, "hcloud_image") || len(s.Warnings) != 3 {
		t.Errorf("the site's own data source is called out, or warnings are missing:\n%s", text)
	}
	md := s.Markdown(p)
	for _, want := range []string{"> [!WARNING]\n> The configuration runs a program", "| `data.external.leak` | read (registry.opentofu.org/hashicorp/external) |", "| `data.hcloud_image.flatcar` | read"} {
		if !strings.Contains(md, want) {
			t.Errorf("comment lacks %q:\n%s", want, md)
		}
	}
}
