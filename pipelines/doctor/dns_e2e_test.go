package doctor_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/dnssim"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/doctor"
)

type dnsRecord struct{ Name, Type, Value string }

// outputs are the site's Terraform outputs the DNS setup uses.
type outputs struct {
	IPv4         string              `json:"ipv4_address"`
	IPv6         string              `json:"ipv6_address"`
	RecordsToAdd []dnsRecord         `json:"records_to_add"`
	NameServers  map[string][]string `json:"name_servers"`
}

// applySite generates the example edited by edit, applies its Terraform with OpenTofu and
// the real hcloud provider against the simulator, and returns the site and the outputs.
func applySite(t *testing.T, example string, edit func(string) string) (*site.Loaded, *hcloudsim.Server, outputs) {
	t.Helper()
	bin := testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	sim := hcloudsim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")
	t.Setenv("TF_IN_AUTOMATION", "1")
	data, _ := examples.Get(example)
	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", []byte(edit(string(data))), cat)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := tr.Write(dir, nil); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "terraform")
	tofu := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-chdir=" + tf}, args...)...)
		cmd.Env = os.Environ()
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("tofu %s: %v\n%s%s", args[0], err, out, stderr)
		}
		return out
	}
	tofu("init", "-input=false", "-no-color")
	tofu("apply", "-input=false", "-no-color", "-auto-approve")
	raw := map[string]struct {
		Value json.RawMessage `json:"value"`
	}{}
	if err := json.Unmarshal(tofu("output", "-json"), &raw); err != nil {
		t.Fatal(err)
	}
	flat := map[string]json.RawMessage{}
	for k, v := range raw {
		flat[k] = v.Value
	}
	b, _ := json.Marshal(flat)
	var o outputs
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return l, sim, o
}

// Records-only, end to end: no zone is made, the outputs list each app's A and AAAA
// records, and the doctor passes when the owner's DNS host serves them and names the
// record when it does not.
func TestRecordsOnlyEndToEnd(t *testing.T) {
	l, sim, o := applySite(t, "records-only", func(s string) string { return s })
	if z := sim.Zones(); len(z) != 0 {
		t.Fatalf("records-only made zones: %+v", z)
	}
	var want []dnsRecord
	for _, h := range []string{"status.bakery.example", "vault.bakery.example"} {
		want = append(want, dnsRecord{h, "A", o.IPv4}, dnsRecord{h, "AAAA", o.IPv6})
	}
	if !slices.Equal(o.RecordsToAdd, want) || o.IPv4 == "" || o.IPv6 == "" {
		t.Fatalf("records_to_add %+v, want %+v", o.RecordsToAdd, want)
	}
	var zone []string
	for _, r := range o.RecordsToAdd {
		zone = append(zone, r.Name+". 300 IN "+r.Type+" "+r.Value)
	}
	dns := dnssim.Start(t, zone...)
	opt := doctor.Options{DNS: doctor.DNSSetupOf(l, dns.Addr), ServerIPs: []string{o.IPv4, o.IPv6}}
	for _, f := range doctor.CheckDNSSetup(context.Background(), opt) {
		if !f.OK {
			t.Errorf("with the records in place: %+v", f)
		}
	}

	// The owner typed one address wrong and forgot an AAAA record.
	zone[0] = "status.bakery.example. 300 IN A 192.0.2.99"
	dns.Set(t, zone[:3]...)
	var problems []string
	for _, f := range doctor.CheckDNSSetup(context.Background(), opt) {
		if !f.OK {
			problems = append(problems, f.What+" / "+f.Owner)
		}
	}
	all := strings.Join(problems, "\n")
	for _, w := range []string{
		"status.bakery.example A is 192.0.2.99, not " + o.IPv4,
		"vault.bakery.example has no AAAA record: add vault.bakery.example AAAA " + o.IPv6,
		"your DNS host",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("problems lack %q:\n%s", w, all)
		}
	}
	if len(problems) != 2 {
		t.Errorf("%d problems, want 2:\n%s", len(problems), all)
	}
}

// The owner's records reach the zone as RRSets grouped by name and type, and a subdomain
// site tells which NS records to add at the parent.
func TestZoneModesEndToEnd(t *testing.T) {
	t.Run("whole domain with records", func(t *testing.T) {
		_, sim, o := applySite(t, "mail-and-web", func(s string) string { return s })
		got := map[string][]string{}
		for _, rr := range sim.RRSets("choir.example") {
			got[rr.Name+" "+rr.Type] = rr.Values
		}
		for k, v := range map[string][]string{
			"@ MX":       {"10 mx1.mail.example.", "20 mx2.mail.example."},
			"@ TXT":      {`"v=spf1 include:_spf.mail.example ~all"`},
			"_dmarc TXT": {`"v=DMARC1; p=quarantine"`},
			"www CNAME":  {"sites.webhost.example."},
			"@ CAA":      {`0 issue "letsencrypt.org"`},
			"@ A":        {"203.0.113.80"},
			"vault A":    {o.IPv4},
		} {
			g := slices.Clone(got[k])
			slices.Sort(g)
			if !slices.Equal(g, v) {
				t.Errorf("%s: %q, want %q", k, got[k], v)
			}
		}
		if len(o.RecordsToAdd) != 0 {
			t.Errorf("whole domain asks the owner to add %+v", o.RecordsToAdd)
		}
	})
	t.Run("subdomain", func(t *testing.T) {
		_, sim, o := applySite(t, "one-app", func(s string) string {
			s = strings.Replace(s, "domain: solo.example", "domain: apps.solo.example", 1)
			return strings.Replace(s, "hetzner: {}\napps:", "hetzner: { delegation: subdomain }\napps:", 1)
		})
		zones := sim.Zones()
		if len(zones) != 1 || zones[0].Name != "apps.solo.example" {
			t.Fatalf("zones %+v", zones)
		}
		var want []dnsRecord
		for _, ns := range zones[0].Nameservers {
			want = append(want, dnsRecord{"apps.solo.example", "NS", ns})
		}
		if !slices.Equal(o.RecordsToAdd, want) || len(want) == 0 {
			t.Errorf("records_to_add %+v, want %+v", o.RecordsToAdd, want)
		}
	})
}
