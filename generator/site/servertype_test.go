package site_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
)

// A server type Hetzner no longer sells is refused at its line, naming the current type of
// the same family that fits the apps; outside Europe the old cpx types are left to the
// live check in plan.
func TestServerTypeGone(t *testing.T) {
	const immich = "  vaultwarden: {}\n  immich: {}" // 5.25 GB with the system
	for _, tc := range []struct {
		name, provider, apps string
		want                 []string // substrings of the error; none: loads
	}{
		{"current", "location: nbg1, server_type: cx33", "", nil},
		{"current cpx", "location: fsn1, server_type: cpx12", "", nil},
		{"old cx", "location: nbg1, server_type: cx32", "", []string{
			"site.yaml:8:", "Hetzner no longer sells server type cx32 in nbg1", "choose server_type: cx33 (8 GB), its successor",
			"a site already running on it cannot be changed either"}},
		{"old cx too small for the apps", "location: hel1, server_type: cx22", immich, []string{"cx22 in hel1", "choose server_type: cx33 (8 GB)"}},
		{"old cpx 32 GB", "location: fsn1, server_type: cpx51", "", []string{"cpx51 in fsn1", "choose server_type: cpx62 (32 GB)"}},
		{"old cpx too small for the apps", "location: nbg1, server_type: cpx11", immich, []string{"choose server_type: cpx32 (8 GB)"}},
		{"old cpx outside Europe", "location: ash, server_type: cpx21", "", nil},
		{"unknown", "location: nbg1, server_type: cx34", "", []string{`server type "cx34" is not one nassella supports`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps := tc.apps
			if apps == "" {
				apps = "  vaultwarden: {}"
			}
			data := strings.NewReplacer("location: nbg1, server_type: cx33", tc.provider, "DOMAIN", "acme.example", "DNS", "  hetzner: {}", "APPS", apps).Replace(dnsSite)
			l, err := site.Load("site.yaml", []byte(data), catalog.Embedded())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if l == nil {
					t.Fatal("no site")
				}
				return
			}
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("want one error at the server type, got %q", err)
			}
		})
	}
}
