package doctor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/dnssim"
	"github.com/nassella/nassella/pipelines/doctor"
)

func TestDNSSetup(t *testing.T) {
	hetzner := []string{"apps.example.org. 3600 IN NS hydrogen.ns.hetzner.com.", "apps.example.org. 3600 IN NS oxygen.ns.hetzner.com."}
	for _, tc := range []struct {
		name    string
		setup   doctor.DNSSetup
		ips     []string
		records []string
		ok      bool
		want    []string // in What or Owner
	}{
		{name: "records only, in place", ok: true, ips: []string{"198.51.100.7", "2001:db8::1"},
			setup:   doctor.DNSSetup{Mode: site.DNSRecordsOnly, Hosts: []string{"vault.example.org"}},
			records: []string{"vault.example.org. 300 IN A 198.51.100.7", "vault.example.org. 300 IN AAAA 2001:db8::1"}},
		{name: "records only, AAAA missing", ips: []string{"198.51.100.7", "2001:db8::1"},
			setup:   doctor.DNSSetup{Mode: site.DNSRecordsOnly, Hosts: []string{"vault.example.org"}},
			records: []string{"vault.example.org. 300 IN A 198.51.100.7"},
			want:    []string{"vault.example.org has no AAAA record", "your DNS host", "vault.example.org AAAA 2001:db8::1"}},
		{name: "records only, no addresses given", setup: doctor.DNSSetup{Mode: site.DNSRecordsOnly, Hosts: []string{"vault.example.org"}},
			want: []string{"not checked"}},
		{name: "subdomain delegated", ok: true, records: hetzner,
			setup: doctor.DNSSetup{Mode: site.DNSSubdomain, Zones: []string{"apps.example.org"}}},
		{name: "subdomain delegated to the listed servers only", records: hetzner,
			setup: doctor.DNSSetup{Mode: site.DNSSubdomain, Zones: []string{"apps.example.org"}, NameServers: []string{"hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."}},
			want:  []string{"not delegated", "at the DNS host of example.org, add an NS record for apps.example.org"}},
		{name: "whole domain not delegated", records: []string{"example.org. 3600 IN NS ns1.registrar.example."},
			setup: doctor.DNSSetup{Mode: site.DNSWholeDomain, Zones: []string{"example.org"}},
			want:  []string{"it has ns1.registrar.example", "at the company you bought example.org from"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := dnssim.Start(t, tc.records...)
			tc.setup.Resolver = sim.Addr
			fs := doctor.CheckDNSSetup(context.Background(), doctor.Options{DNS: &tc.setup, ServerIPs: tc.ips})
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			var text []string
			ok := true
			for _, f := range fs {
				ok = ok && f.OK
				text = append(text, f.What, f.Owner)
			}
			all := strings.Join(text, "\n")
			if ok != tc.ok {
				t.Errorf("ok %v, want %v:\n%s", ok, tc.ok, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("findings lack %q:\n%s", w, all)
				}
			}
		})
	}
}
