package readme_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/readme"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/golden"
)

const backupKey = `  backup_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxq77fjJZRleVCMj9Fxn7hYsOsFmtaMv3GLS+i+i87R nassella-ci-backup"` + "\n"

// input loads the one-app example with edits (old → new) applied to its site.yaml.
func input(t *testing.T, edits ...string) render.Input {
	t.Helper()
	data, _ := examples.Get("one-app")
	text := string(data)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(text, edits[i]) {
			t.Fatalf("one-app has no %q", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return render.Input{Site: l, Catalog: catalog.Embedded(), Version: "test"}
}

var (
	withSupport = []string{"updates:\n", "support: { name: Ana Example, url: \"https://help.example/ana\" }\nupdates:\n"}
	withKey     = []string{"    - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l me@laptop\"\n",
		"    - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l me@laptop\"\n" + backupKey}
	hourly = []string{`schedule: "daily 02:30"`, `schedule: hourly`}
)

// The guide tells each owner what is true of their site: who to ask, whether a backup
// comes before a rebuild, when backups run.
func TestGuideSaysWhatIsTrueOfTheSite(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edits     []string
		want, not []string
	}{
		{"defaults", nil,
			[]string{"ask your co-op. Send them", "`support:` in `site.yaml`", "has no `admin.backup_key` yet", "every day at 02:30", "keeps 14 daily copies",
				"restic -r s3:https://hel1.your-objectstorage.com/solo-backups/solo restore latest --host solo --tag nassella", "volume\n`solo-data`", "| Vaultwarden | https://vault.solo.example |"},
			[]string{"a backup of all your data is taken"}},
		{"support", withSupport,
			[]string{"ask **Ana Example** (<https://help.example/ana>).", "ask [Ana Example](#who-to-ask). Your server made that"},
			[]string{"ask your co-op. Send", "`support:` in `site.yaml`"}},
		{"backup key", withKey,
			[]string{"a backup of all your data is taken\n   before anything changes"},
			[]string{"admin.backup_key` yet"}},
		{"hourly", hourly, []string{"backs the whole disk up every hour"}, []string{"every day at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guide, err := readme.Guide(input(t, tc.edits...))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(guide), w) {
					t.Errorf("guide lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(string(guide), w) {
					t.Errorf("guide says %q", w)
				}
			}
		})
	}
}

// A site with everything set, as the owner reads it (-update rewrites it; review the diff).
func TestGuideGolden(t *testing.T) {
	guide, err := readme.Guide(input(t, append(append(withSupport, withKey...), hourly...)...))
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/guide-all-set.md", guide)
}

// Every setting the schema knows is in the guide's table, so a new setting with a
// description is explained to owners the day it is added.
func TestGuideListsEverySetting(t *testing.T) {
	schema, err := site.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var root node
	if err := json.Unmarshal(schema, &root); err != nil {
		t.Fatal(err)
	}
	var paths []string
	root.leaves("", &paths)
	sort.Strings(paths)
	guide, err := readme.Guide(input(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		// A moving site's old platform: its settings are those under provider.
		if rest, ok := strings.CutPrefix(p, "provider.previous."); ok && strings.Contains(rest, ".") {
			p = "provider." + rest
		}
		if !strings.Contains(string(guide), "| `"+p+"` |") {
			t.Errorf("the guide does not explain %s", p)
		}
	}
	if len(paths) < 20 {
		t.Errorf("only %d settings found in the schema: %v", len(paths), paths)
	}
}

// node is the part of a JSON Schema that names settings.
type node struct {
	Properties           map[string]node `json:"properties"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
	Description          string          `json:"description"`
}

// leaves collects the settings that have a description, as the guide names them.
func (n node) leaves(prefix string, out *[]string) {
	for k, c := range n.Properties {
		p := prefix + k
		if c.Description != "" {
			*out = append(*out, p)
		}
		c.leaves(p+".", out)
	}
	var m node
	if json.Unmarshal(n.AdditionalProperties, &m) == nil && (m.Properties != nil) {
		m.leaves(prefix+"<app>.", out)
	}
}

// The README is for the owner: it links the guide and names who to ask; the unpinned
// images are a maintainer's matter, left to nassella.lock.
func TestReadme(t *testing.T) {
	md, err := readme.Render(input(t, withSupport...))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"[the guide to your site](GUIDE.md)", "ask **Ana Example** (<https://help.example/ana>).", "until you ask\n  [Ana Example](#who-to-ask) to delete it"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("README lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(string(md), "pinned") {
		t.Errorf("README talks about pinning:\n%s", md)
	}
}
