package validate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/testenv/dnssim"
)

func example(t *testing.T, name string, edit func(string) string) *site.Loaded {
	t.Helper()
	data, _ := examples.Get(name)
	l, err := site.Load("site.yaml", []byte(edit(string(data))), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// choirLive is choir.example as it is before nassella: e-mail, SPF, DMARC, a website.
var choirLive = []string{
	"choir.example. 300 IN MX 10 mx1.mail.example.",
	"choir.example. 300 IN MX 20 mx2.mail.example.",
	`choir.example. 300 IN TXT "v=spf1 include:_spf.mail.example ~all"`,
	`_dmarc.choir.example. 300 IN TXT "v=DMARC1; p=quarantine"`,
	"choir.example. 300 IN A 203.0.113.80",
	"www.choir.example. 300 IN CNAME sites.webhost.example.",
	`choir.example. 300 IN CAA 0 issue "letsencrypt.org"`,
	"choir.example. 300 IN NS ns1.registrar.example.",
}

func TestLiveDNS(t *testing.T) {
	same := func(s string) string { return s }
	noRecords := func(s string) string {
		i, j := strings.Index(s, "dns:\n"), strings.Index(s, "apps:\n")
		return s[:i] + "dns:\n  hetzner: {}\n" + s[j:]
	}
	for _, tc := range []struct {
		name    string
		edit    func(string) string
		live    []string
		wantErr []string
		detail  string
	}{
		{name: "the zone lists every record", edit: same, live: choirLive, detail: "keeps every record"},
		{name: "MX records named in the refusal", edit: noRecords, live: choirLive, wantErr: []string{
			"choir.example has records today that the new zone would not have",
			"choir.example MX 10 mx1.mail.example.", "choir.example MX 20 mx2.mail.example.",
			"_dmarc.choir.example TXT v=DMARC1; p=quarantine", "www.choir.example CNAME sites.webhost.example.",
			"records_only", "delegation: subdomain", "dns.hetzner.records",
			`- { name: "@", type: MX, value: "10 mx1.mail.example." }`,
			`- { name: "www", type: CNAME, value: "sites.webhost.example." }`}},
		{name: "a record missing from the list", edit: func(s string) string {
			return strings.Replace(s, "      - { name: \"@\", type: MX, value: \"20 mx2.mail.example.\" }\n", "", 1)
		},
			live: choirLive, wantErr: []string{"choir.example MX 20 mx2.mail.example."}},
		{name: "an app taking the website's name replaces it", edit: func(s string) string {
			s = strings.Replace(s, "      - { name: www, type: CNAME, value: sites.webhost.example., ttl: 600 }\n", "", 1)
			return strings.Replace(s, "vaultwarden: {}", "vaultwarden: { subdomain: www }", 1)
		}, live: choirLive, detail: "keeps every record"},
		{name: "a new domain", edit: noRecords, detail: "keeps every record"},
		{name: "already on the zone", edit: noRecords, live: append([]string{"choir.example. 300 IN NS hydrogen.ns.hetzner.com."}, choirLive[:2]...), detail: "already points at the zone"},
		{name: "records only asks nothing", edit: func(s string) string {
			return strings.Replace(noRecords(s), "hetzner: {}", "records_only: {}", 1)
		}, live: choirLive, detail: "your domain stays at your DNS host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := dnssim.Start(t, tc.live...)
			c := validate.LiveDNS(context.Background(), example(t, "mail-and-web", tc.edit), sim.Addr)
			if len(tc.wantErr) == 0 {
				if c.Err != nil || !strings.Contains(c.Detail, tc.detail) {
					t.Fatalf("err %v, detail %q; want %q", c.Err, c.Detail, tc.detail)
				}
				return
			}
			if c.Err == nil {
				t.Fatal("passed")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(c.Err.Error(), w) {
					t.Errorf("refusal lacks %q:\n%v", w, c.Err)
				}
			}
		})
	}
}
