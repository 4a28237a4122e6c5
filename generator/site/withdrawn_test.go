package site_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
)

// The bot's move off a withdrawn type edits that one value in place: comments, quotes,
// flow style and everything else stay byte for byte.
func TestMoveOffWithdrawn(t *testing.T) {
	const head = "version: 1 # keep\nname: acme\n"
	const apps = "apps:\n  vaultwarden: {} # the passwords\n"
	for _, tc := range []struct {
		name, in, want string // want "": no edit
		line           int
	}{
		{"plain, comments kept",
			head + "provider:\n  hetzner:\n    location: nbg1\n    # the small one\n    server_type: cx32   # 8 GB\n    volume_gb: 50\n" + apps,
			head + "provider:\n  hetzner:\n    location: nbg1\n    # the small one\n    server_type: cx33   # 8 GB\n    volume_gb: 50\n" + apps, 7},
		{"double quoted",
			head + "provider:\n  hetzner:\n    server_type: \"cx22\"\n    location: fsn1\n" + apps,
			head + "provider:\n  hetzner:\n    server_type: \"cx23\"\n    location: fsn1\n" + apps, 5},
		{"single quoted after a wide character",
			"# Büro\n" + head + "provider:\n  hetzner: {location: hel1, \"server_type\": 'cpx31'}\n" + apps,
			"# Büro\n" + head + "provider:\n  hetzner: {location: hel1, \"server_type\": 'cpx32'}\n" + apps, 5},
		{"flow style",
			head + "provider:\n  hetzner: { location: nbg1, server_type: cx32 }\n" + apps,
			head + "provider:\n  hetzner: { location: nbg1, server_type: cx33 }\n" + apps, 4},
		{"too small for the apps: the successor that fits",
			head + "provider:\n  hetzner: { location: nbg1, server_type: cx22 }\napps:\n  immich: {}\n  vaultwarden: {}\n",
			head + "provider:\n  hetzner: { location: nbg1, server_type: cx33 }\napps:\n  immich: {}\n  vaultwarden: {}\n", 4},
		{"current type", head + "provider:\n  hetzner: { location: nbg1, server_type: cx33 }\n" + apps, "", 0},
		{"old cpx outside Europe", head + "provider:\n  hetzner: { location: ash, server_type: cpx21 }\n" + apps, "", 0},
		{"unknown type", head + "provider:\n  hetzner: { location: nbg1, server_type: cx99 }\n" + apps, "", 0},
		{"not YAML", "provider: [\n", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, out, ok, err := site.MoveOffWithdrawn([]byte(tc.in), catalog.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if ok || out != nil {
					t.Fatalf("edited a site that needs none:\n%s", out)
				}
				return
			}
			if !ok || string(out) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", out, tc.want)
			}
			if m.Line != tc.line || m.To.MemoryMB < m.From.MemoryMB {
				t.Errorf("move %+v, want line %d and never a smaller type", m, tc.line)
			}
			if w := m.Words(); !strings.Contains(w, "Your server type "+m.From.Name+" can no longer be ordered from Hetzner. This update moves your site to "+m.To.Name) ||
				!strings.Contains(w, "see Hetzner's price list") {
				t.Errorf("words: %s", w)
			}
		})
	}
}

// A value the bot cannot edit safely is left to the owner with the line to change.
func TestMoveOffWithdrawnRefusesAnEscapedValue(t *testing.T) {
	in := "provider:\n  hetzner: { location: nbg1, server_type: \"cx\\x332\" }\n"
	_, _, ok, err := site.MoveOffWithdrawn([]byte(in), catalog.Embedded())
	if ok || err == nil || !strings.Contains(err.Error(), "site.yaml:2:") || !strings.Contains(err.Error(), "change it by hand") {
		t.Fatalf("ok %v, err %v", ok, err)
	}
}
