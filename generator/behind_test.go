package generator_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
)

// The plan only changes what the owner reads: the server's setup, its Flatcar update
// settings (/etc/flatcar/update.conf) included, is the same on both plans, so an os-only
// site keeps getting the operating system's updates.
func TestPlanChangesOnlyTheWords(t *testing.T) {
	cat := catalog.Embedded()
	data, _ := examples.Get("one-app")
	gen := func(text string) map[string][]byte {
		t.Helper()
		l, err := site.Load("site.yaml", []byte(text), cat)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := generator.Generate(l, cat)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, p := range tr.Paths() {
			f, _ := tr.Get(p)
			files[p] = f.Data
		}
		return files
	}
	full := gen(string(data))
	osOnly := gen(strings.Replace(string(data), "updates:\n", "updates:\n  plan: os-only\n", 1))
	if !bytes.Contains(osOnly["host/butane.yaml"], []byte("path: /etc/flatcar/update.conf")) {
		t.Fatal("the os-only site's host has no Flatcar update settings")
	}
	for p, d := range full {
		same := bytes.Equal(d, osOnly[p])
		if words := p == "README.md" || p == generator.LockPath; same == words {
			t.Errorf("%s: same on both plans: %v", p, same)
		}
	}
}

func TestMoves(t *testing.T) {
	cat := catalog.Embedded()
	vw := cat.Apps["vaultwarden"]
	ver, _ := vw.AppVersion()
	ref := vw.Services["server"].Image.Ref()
	for _, tc := range []struct {
		name string
		lock *generator.Lock
		want string
	}{
		{"same images", &generator.Lock{Images: map[string]string{"vaultwarden/server": ref}}, ""},
		{"older tag", &generator.Lock{Images: map[string]string{"vaultwarden/server": vw.Services["server"].Image.Image + ":1.0.0-alpine@sha256:00"}},
			"Vaultwarden 1.0.0 here, " + ver + " available"},
		{"no lock", nil, "Vaultwarden " + ver + " available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range generator.Moves(tc.lock, []string{"vaultwarden", "not-in-the-catalog"}, cat) {
				got = append(got, m.Text())
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("Moves = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewerRelease(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2026.12.0", "2026.11.3", true}, {"2026.11.10", "2026.11.9", true}, {"2026.11.0", "2026.11.0", false},
		{"2025.12.0", "2026.01.0", false}, {"next", "2026.01.0", false},
	} {
		if got := generator.NewerRelease(tc.a, tc.b); got != tc.want {
			t.Errorf("NewerRelease(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
