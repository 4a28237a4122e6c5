package dnscheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/dnscheck"
	"github.com/nassella/nassella/internal/testenv/dnssim"
)

// mailDomain is a domain with e-mail and a website elsewhere, as an organisation has it
// before nassella.
var mailDomain = []string{
	"example.org. 300 IN MX 10 mx1.mail.example.",
	"example.org. 300 IN MX 20 mx2.mail.example.",
	`example.org. 300 IN TXT "v=spf1 include:_spf.mail.example ~all"`,
	"example.org. 300 IN A 203.0.113.80",
	"example.org. 300 IN NS ns1.registrar.example.",
	"www.example.org. 300 IN CNAME sites.webhost.example.",
	"sites.webhost.example. 300 IN A 203.0.113.81",
	`_dmarc.example.org. 300 IN TXT "v=DMARC1; " "p=none"`,
	`example.org. 300 IN CAA 0 issue "letsencrypt.org"`,
	"_autodiscover._tcp.example.org. 300 IN SRV 0 0 443 autodiscover.mail.example.",
	"cloud.example.org. 300 IN A 198.51.100.7",
}

func client(t *testing.T, records ...string) (*dnscheck.Client, *dnssim.Server) {
	sim := dnssim.Start(t, records...)
	c, err := dnscheck.New(sim.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// compare checks that got, one a line, reads as want.
func compare[T fmt.Stringer](t *testing.T, what string, got []T, want []string) {
	t.Helper()
	var lines []string
	for _, r := range got {
		lines = append(lines, r.String())
	}
	if g, w := strings.Join(lines, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("%s:\n%s\nwant:\n%s", what, g, w)
	}
}

func TestDropped(t *testing.T) {
	c, _ := client(t, mailDomain...)
	app := dnscheck.Record{Name: "cloud.example.org", Type: "A"}
	for _, tc := range []struct {
		name    string
		carried []dnscheck.Record
		want    []string
	}{
		{name: "a zone with only the apps drops the MX records and the rest", carried: []dnscheck.Record{app},
			want: []string{
				`example.org A 203.0.113.80`,
				`example.org CAA 0 issue "letsencrypt.org"`,
				`example.org MX 10 mx1.mail.example.`,
				`example.org MX 20 mx2.mail.example.`,
				`example.org TXT v=spf1 include:_spf.mail.example ~all`,
				`_autodiscover._tcp.example.org SRV 0 0 443 autodiscover.mail.example.`,
				`_dmarc.example.org TXT v=DMARC1; p=none`,
				`www.example.org CNAME sites.webhost.example.`,
			}},
		{name: "a zone carrying them drops nothing", carried: []dnscheck.Record{app,
			{"example.org", "A", "203.0.113.80"}, {"example.org", "CAA", `0 issue "letsencrypt.org"`},
			{"example.org", "MX", "10 mx1.mail.example."}, {"example.org", "MX", "20 MX2.mail.example."},
			{"example.org", "TXT", "v=spf1 include:_spf.mail.example ~all"},
			{"_autodiscover._tcp.example.org", "SRV", "0 0 443 autodiscover.mail.example."},
			{"_dmarc.example.org", "TXT", "v=DMARC1; p=none"}, {"www.example.org", "CNAME", "sites.webhost.example."}}},
		{name: "a changed value is dropped", carried: []dnscheck.Record{app,
			{"example.org", "A", "203.0.113.80"}, {"example.org", "CAA", `0 issue "letsencrypt.org"`},
			{"example.org", "MX", "10 mx1.mail.example."}, {"example.org", "MX", "20 mx3.mail.example."},
			{"example.org", "TXT", "v=spf1 include:_spf.mail.example ~all"},
			{"_autodiscover._tcp.example.org", "SRV", "0 0 443 autodiscover.mail.example."},
			{"_dmarc.example.org", "TXT", "v=DMARC1; p=none"}, {"www.example.org", "CNAME", "sites.webhost.example."}},
			want: []string{`example.org MX 20 mx2.mail.example.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Dropped(context.Background(), dnscheck.Zone{Domain: "example.org", Records: tc.carried})
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "dropped", got, tc.want)
		})
	}
}

func TestDroppedNewDomain(t *testing.T) {
	c, sim := client(t)
	got, err := c.Dropped(context.Background(), dnscheck.Zone{Domain: "new.example"})
	if err != nil || len(got) != 0 {
		t.Fatalf("a domain without records drops %v, %v", got, err)
	}
	if sim.Queries() < len(dnscheck.CommonNames) {
		t.Errorf("only %d questions asked", sim.Queries())
	}
}

func TestCheckHosts(t *testing.T) {
	hosts := []string{"vault.bakery.example", "status.bakery.example"}
	for _, tc := range []struct {
		name    string
		records []string
		want    []string
	}{
		{name: "all in place", records: []string{
			"vault.bakery.example. 300 IN A 198.51.100.7", "vault.bakery.example. 300 IN AAAA 2001:db8:1::1",
			"status.bakery.example. 300 IN CNAME vault.bakery.example."}},
		{name: "missing and wrong", records: []string{
			"vault.bakery.example. 300 IN A 198.51.100.9", "vault.bakery.example. 300 IN AAAA 2001:db8:1::1"},
			want: []string{
				"vault.bakery.example A is 198.51.100.9, not 198.51.100.7: change it to vault.bakery.example A 198.51.100.7",
				"status.bakery.example has no A record: add status.bakery.example A 198.51.100.7",
				"status.bakery.example has no AAAA record: add status.bakery.example AAAA 2001:db8:1::1",
			}},
		{name: "an extra address", records: []string{
			"vault.bakery.example. 300 IN A 198.51.100.7", "vault.bakery.example. 300 IN A 192.0.2.1", "vault.bakery.example. 300 IN AAAA 2001:db8:1::1",
			"status.bakery.example. 300 IN A 198.51.100.7", "status.bakery.example. 300 IN AAAA 2001:DB8:1:0::1"},
			want: []string{"vault.bakery.example A is 198.51.100.7, 192.0.2.1, not 198.51.100.7: change it to vault.bakery.example A 198.51.100.7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := client(t, tc.records...)
			got, err := c.CheckHosts(context.Background(), hosts, "198.51.100.7", "2001:db8:1:0::1")
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "mismatches", got, tc.want)
		})
	}
}

func TestDelegation(t *testing.T) {
	want := []string{"hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."}
	for _, tc := range []struct {
		name    string
		records []string
		got     string
		ok      bool
	}{
		{name: "delegated", ok: true, got: "helium.ns.hetzner.de,hydrogen.ns.hetzner.com,oxygen.ns.hetzner.com", records: []string{
			"apps.example.org. 3600 IN NS oxygen.ns.hetzner.com.", "apps.example.org. 3600 IN NS hydrogen.ns.hetzner.com.", "apps.example.org. 3600 IN NS HELIUM.ns.hetzner.de."}},
		{name: "not yet", records: []string{"example.org. 3600 IN NS ns1.registrar.example."}},
		{name: "elsewhere", got: "ns1.other.example", records: []string{"apps.example.org. 3600 IN NS ns1.other.example."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := client(t, tc.records...)
			got, ok, err := c.Delegation(context.Background(), "apps.example.org", want)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tc.got || ok != tc.ok {
				t.Errorf("got %v %v, want %s %v", got, ok, tc.got, tc.ok)
			}
		})
	}
}

func TestLookupOverTCP(t *testing.T) {
	// Many long TXT records do not fit a UDP answer: the client asks again over TCP.
	var records []string
	for i := range 80 {
		records = append(records, `big.example. 300 IN TXT "`+strings.Repeat("x", 60)+string(rune('a'+i%26))+`"`)
	}
	c, _ := client(t, records...)
	got, err := c.Lookup(context.Background(), "big.example", "TXT")
	if err != nil || len(got) != 80 {
		t.Fatalf("got %d records, %v", len(got), err)
	}
}

func TestResolverErrors(t *testing.T) {
	c, err := dnscheck.New("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 300e6
	if _, err := c.Lookup(context.Background(), "example.org", "MX"); err == nil || !strings.Contains(err.Error(), "asking 127.0.0.1:1 for the MX records of example.org") {
		t.Errorf("error %v", err)
	}
}
