package readme_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/render/readme"
	"github.com/nassella/nassella/generator/site"
)

func TestDNSSection(t *testing.T) {
	for _, tc := range []struct {
		example string
		edit    func(string) string
		want    []string
	}{
		{"records-only", nil, []string{"| `status.bakery.example` | A | the server's IPv4 address |", "| `vault.bakery.example` | AAAA |", "your DNS host", "doctor checks"}},
		{"one-app", func(s string) string {
			return strings.NewReplacer("domain: solo.example", "domain: apps.solo.example", "hetzner: {}\napps:", "hetzner: { delegation: subdomain }\napps:").Replace(s)
		}, []string{"Only `apps.solo.example` is served by Hetzner", "At the DNS host of `solo.example`, add one NS record"}},
		{"mail-and-web", nil, []string{"dns.hetzner.records", "stops working", "--live-dns"}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			data, _ := examples.Get(tc.example)
			if tc.edit != nil {
				data = []byte(tc.edit(string(data)))
			}
			l, err := site.Load("site.yaml", data, catalog.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			got := readme.DNSSection(l)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("section lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
