package butane

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vincent-petithory/dataurl"
	"gopkg.in/yaml.v3"
)

// The direct translation must give byte for byte what Butane gives for the same YAML, for
// every shape of input this package writes: contents that compress, that do not, that are
// binary, empty or full of characters a URL must escape; remote sources with and without a
// hash; links; units enabled, masked or empty.
func TestTranslateMatchesButane(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	compared := 0
	for i := range 200 {
		cfg := randomConfig(r, i)
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(cfg); err != nil {
			t.Fatal(err)
		}
		// Render's encoding, file entries cached, writes the same YAML (twice: cold, warm).
		for range 2 {
			var cached bytes.Buffer
			if err := encodeConfig(&cached, cfg); err != nil {
				t.Fatal(err)
			}
			if cached.String() != b.String() {
				t.Fatalf("case %d: encodeConfig differs from yaml.v3's encoding\nyaml.v3:\n%s\nencodeConfig:\n%s", i, b.String(), cached.String())
			}
		}
		want, butaneErr := Translate(b.Bytes())
		got, err := translate(cfg)
		if butaneErr != nil || err != nil {
			if butaneErr == nil || err == nil {
				t.Fatalf("case %d: Butane says %v, the direct translation %v\n%s", i, butaneErr, err, b.String())
			}
			continue
		}
		compared++
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: the direct translation differs from Butane's\nbutane:\n%s\ngot:\n%s", i, want, got)
		}
	}
	if compared < 100 {
		t.Fatalf("only %d of 200 random configs were valid: the generator no longer tests much", compared)
	}
}

func randomConfig(r *rand.Rand, n int) config {
	cfg := config{Variant: "flatcar", Version: "1.0.0"}
	cfg.Passwd.Users = []user{{Name: "core", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l k" + fmt.Sprint(n)}}}
	bodies := []func() string{
		func() string { return "" },
		func() string { return "x\n" },
		func() string { return strings.Repeat("line of a script that repeats\n", 1+r.IntN(200)) },
		func() string { // incompressible bytes
			b := make([]byte, 1+r.IntN(2000))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			return string(bytes.ToValidUTF8(b, []byte("?")))
		},
		func() string { return "ümlaut & %20 spaces, #hash?query=1;semi\ttab\n" },
	}
	for i := range 1 + r.IntN(8) {
		f := file{Path: fmt.Sprintf("/etc/nassella/f%d-%d", n, i), Mode: yamlMode([]int{0o644, 0o600, 0o755}[r.IntN(3)]), Overwrite: r.IntN(2) == 0}
		if r.IntN(5) == 0 {
			f.Contents.Source = "https://example.org/f" + fmt.Sprint(i)
			if r.IntN(2) == 0 {
				f.Contents.Verification = &verification{Hash: "sha512-" + strings.Repeat("ab", 64)}
			}
		} else if body := bodies[r.IntN(len(bodies))](); r.IntN(2) == 0 {
			f.Contents.Inline = body
		} else {
			f.Contents = contentsOf(body) // as Render writes it
		}
		cfg.Storage.Files = append(cfg.Storage.Files, f)
	}
	for i := range r.IntN(3) {
		cfg.Storage.Links = append(cfg.Storage.Links, link{Path: fmt.Sprintf("/etc/l%d", i), Target: "/usr/share/zoneinfo/UTC", Overwrite: r.IntN(2) == 0})
	}
	for i := range r.IntN(4) {
		u := unit{Name: fmt.Sprintf("nassella-u%d.service", i)}
		switch r.IntN(3) {
		case 0:
			u.Enabled = enabled()
			u.Contents = "[Unit]\nDescription=x\n[Service]\nType=oneshot\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
		case 1:
			u.Mask = true
		default:
			u.Contents = "[Unit]\nDescription=y\n[Service]\nExecStart=/bin/true\n"
		}
		cfg.Systemd.Units = append(cfg.Systemd.Units, u)
	}
	if r.IntN(2) == 0 { // drop-ins only, for units the host has, one with an escaped name
		cfg.Systemd.Units = append(cfg.Systemd.Units,
			unit{Name: DataDevice, Dropins: []dropin{{Name: "10-wait.conf", Contents: "[Unit]\nJobRunningTimeoutSec=infinity\n"}}},
			unit{Name: "docker.service", Dropins: []dropin{{Name: "a.conf", Contents: "[Unit]\nRequiresMountsFor=/var/lib/nassella\n"}, {Name: "b.conf", Contents: "[Service]\nNice=1\n"}}})
	}
	return cfg
}

// escape writes exactly what dataurl.Escape, Butane's, writes.
func TestEscapeIsDataurls(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, s := range []string{"", "plain", "a b\n%\"'()*~!_-.", string(all), "ümlaut"} {
		if got, want := escape(s), dataurl.Escape([]byte(s)); got != want {
			t.Errorf("escape(%q) = %q, want %q", s, got, want)
		}
	}
}
