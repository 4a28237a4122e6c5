package site_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
)

// dnsSite is a valid site.yaml with DOMAIN, DNS (the dns block, indented by two) and
// APPS substituted.
const dnsSite = `version: 1
name: acme
domain: DOMAIN
admin:
  email: ops@acme.example
  ssh_keys: [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@acme" ]
provider:
  hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 }
dns:
DNS
apps:
APPS
backups:
  schedule: "daily 03:00"
  keep: { daily: 7 }
  target: { s3: { endpoint: "https://s3.example", bucket: acme-backups } }
updates: { channel: stable, window: "Sun 03:00", timezone: Europe/Berlin }
`

func loadDNS(domain, dns, apps string) (*site.Loaded, error) {
	if apps == "" {
		apps = "  vaultwarden: {}"
	}
	data := strings.NewReplacer("DOMAIN", domain, "DNS", dns, "APPS", apps).Replace(dnsSite)
	return site.Load("site.yaml", []byte(data), catalog.Embedded())
}

// loaded reports whether the site loaded as it should: with every wanted error in the
// error, or without error when none is wanted.
func loaded(t *testing.T, err error, wantErr []string) bool {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil {
		t.Fatal("loaded without error")
	}
	for _, want := range wantErr {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	return false
}

func TestDNSModes(t *testing.T) {
	for _, tc := range []struct {
		name, domain, dns, apps string
		mode                    string
		zones                   string
		err                     []string // each must be in the error; none: valid
	}{
		{name: "hetzner {} is the whole domain", domain: "acme.example", dns: "  hetzner: {}", mode: site.DNSWholeDomain, zones: "acme.example"},
		{name: "records only has no zone", domain: "example.org", dns: "  records_only: {}", mode: site.DNSRecordsOnly},
		{name: "subdomain", domain: "apps.example.org", dns: "  hetzner: { delegation: subdomain }", mode: site.DNSSubdomain, zones: "apps.example.org"},
		{name: "subdomain under a two-part suffix", domain: "apps.example.co.uk", dns: "  hetzner: { delegation: subdomain }", mode: site.DNSSubdomain, zones: "apps.example.co.uk"},
		{name: "subdomain refuses a whole domain", domain: "example.org", dns: "  hetzner: { delegation: subdomain }",
			err: []string{"site.yaml:3:9: example.org is a whole domain", "like apps.example.org", "records_only"}},
		{name: "subdomain refuses a whole domain under a two-part suffix", domain: "example.co.uk", dns: "  hetzner: { delegation: subdomain }",
			err: []string{"example.co.uk is a whole domain"}},
		{name: "subdomain refuses an app's whole domain", domain: "apps.example.org", dns: "  hetzner: { delegation: subdomain }",
			apps: "  vaultwarden: { domain: other.org }", err: []string{"site.yaml:12:26:", "other.org is a whole domain"}},
		{name: "unknown delegation", domain: "acme.example", dns: "  hetzner: { delegation: subdomains }", err: []string{`delegation "subdomains" is not known`, `did you mean "subdomain"?`}},
		{name: "both modes", domain: "acme.example", dns: "  hetzner: {}\n  records_only: {}", err: []string{"both hetzner and records_only"}},
		{name: "no mode", domain: "acme.example", dns: "  {}", err: []string{"no DNS service is set", "records_only: {}"}},
		{name: "records in records_only are unknown", domain: "acme.example", dns: "  records_only: { records: [] }", err: []string{"records"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := loadDNS(tc.domain, tc.dns, tc.apps)
			if !loaded(t, err, tc.err) {
				return
			}
			if got := l.DNSMode(); got != tc.mode {
				t.Errorf("mode %s, want %s", got, tc.mode)
			}
			if got := strings.Join(l.Zones(), ","); got != tc.zones {
				t.Errorf("zones %q, want %q", got, tc.zones)
			}
		})
	}
}

func TestDNSRecords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records string // items of dns.hetzner.records, one a line
		want    string // the grouped records, when valid
		err     []string
	}{
		{name: "mail and website", records: `
      - { name: "@", type: MX, value: "10 mx1.mail.example." }
      - { name: "@", type: mx, value: "20 MX2.mail.example" }
      - { name: "@", type: TXT, value: "v=spf1 include:_spf.mail.example ~all" }
      - { name: _dmarc, type: TXT, value: '"v=DMARC1; p=none"' }
      - { name: www, type: CNAME, value: shops.host.example, ttl: 600 }
      - { name: "@", type: A, value: 203.0.113.10 }
      - { name: "@", type: AAAA, value: "2001:DB8::10" }
      - { name: "@", type: CAA, value: "0 issue letsencrypt.org" }
      - { name: _sip._tls, type: SRV, value: "100 1 443 sip.mail.example" }`,
			want: `@ A 3600 203.0.113.10
@ AAAA 3600 2001:db8::10
@ CAA 3600 0 issue "letsencrypt.org"
@ MX 3600 10 mx1.mail.example.|20 mx2.mail.example.
@ TXT 3600 v=spf1 include:_spf.mail.example ~all
_dmarc TXT 3600 v=DMARC1; p=none
_sip._tls SRV 3600 100 1 443 sip.mail.example.
www CNAME 600 shops.host.example.`},
		{name: "record on an app's host", records: `
      - { name: "@", type: MX, value: "10 mx.mail.example." }
      - { name: vault, type: A, value: 203.0.113.10 }`,
			err: []string{"site.yaml:13:", "vault.acme.example is the address of the app vaultwarden", "remove this record"}},
		{name: "TXT on an app's host is fine", records: `
      - { name: vault, type: TXT, value: "verification=1" }`, want: "vault TXT 3600 verification=1"},
		{name: "bad values", records: `
      - { name: "@", type: MX, value: "mx.mail.example." }
      - { name: "@", type: A, value: "2001:db8::1" }
      - { name: www, type: CNAME, value: "http://x.example/" }
      - { name: "@", type: CAA, value: "128 sign letsencrypt.org" }
      - { name: _sip._tls, type: SRV, value: "10 sip.example." }`,
			err: []string{"site.yaml:12:", `"mx.mail.example." is not a valid MX value`, `like "10 mx.mail.example."`, "site.yaml:13:", "not a valid A value", "site.yaml:14:", "site.yaml:15:", "site.yaml:16:"}},
		{name: "names", records: `
      - { name: www.acme.example, type: A, value: 203.0.113.10 }
      - { name: WWW, type: A, value: 203.0.113.10 }
      - { name: "a b", type: A, value: 203.0.113.10 }
      - { name: x, type: NS, value: ns.example. }`,
			err: []string{`name "www.acme.example" is written in full`, `name: "www"`, "capital letters", "not a valid record name", `type "NS" is not one nassella keeps`}},
		{name: "CNAME rules", records: `
      - { name: "@", type: CNAME, value: host.example. }
      - { name: www, type: A, value: 203.0.113.10 }
      - { name: www, type: CNAME, value: host.example. }
      - { name: shop, type: CNAME, value: a.example. }
      - { name: shop, type: CNAME, value: b.example. }`,
			err: []string{"cannot be a CNAME", "www has a CNAME and other records", "shop has two CNAME records"}},
		{name: "duplicates and ttl", records: `
      - { name: "@", type: MX, value: "10 mx.mail.example." }
      - { name: "@", type: MX, value: "10 mx.mail.example" }
      - { name: "@", type: TXT, value: a, ttl: 30 }
      - { name: "@", type: A, value: 203.0.113.10, ttl: 600 }
      - { name: "@", type: A, value: 203.0.113.11, ttl: 900 }`,
			err: []string{"listed twice", "ttl 30 is out of range", "different ttl values"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := loadDNS("acme.example", "  hetzner:\n    records:"+tc.records, "  vaultwarden: { subdomain: vault }")
			if !loaded(t, err, tc.err) {
				return
			}
			var got []string
			for _, r := range l.OwnerRecords() {
				got = append(got, strings.Join([]string{r.Name, r.Type, strconv.Itoa(r.TTL), strings.Join(r.Values, "|")}, " "))
			}
			if g := strings.Join(got, "\n"); g != tc.want {
				t.Errorf("records:\n%s\nwant:\n%s", g, tc.want)
			}
		})
	}
}

func TestTXTValue(t *testing.T) {
	long := strings.Repeat("a", 300)
	for in, want := range map[string]string{
		"v=spf1 -all": `"v=spf1 -all"`,
		`say "hi"`:    `"say \"hi\""`,
		long:          `"` + long[:255] + `" "` + long[255:] + `"`,
	} {
		if got := site.TXTValue(in); got != want {
			t.Errorf("TXTValue(%.20q) = %.40q, want %.40q", in, got, want)
		}
	}
}
