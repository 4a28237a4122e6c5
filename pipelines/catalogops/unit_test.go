package catalogops

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
)

func TestNewer(t *testing.T) {
	full := `[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?`
	tests := []struct {
		name    string
		policy  catalog.Versioning
		current string
		tags    []string
		allowed []string // newest first
		majors  []string // newest first
		held    string
	}{{
		name:    "newest within the major; pre-release, other variants and latest skipped; the new major apart",
		policy:  catalog.Versioning{Tags: `(?P<version>` + full + `)`},
		current: "1.34.3",
		tags:    []string{"latest", "1.34.3", "1.34.2", "1.35.0", "1.35.0-alpine", "1.36.0-rc.1", "2.0.0", "1.34.10", "3.1.0"},
		allowed: []string{"1.35.0", "1.34.10"},
		majors:  []string{"3.1.0", "2.0.0"},
	}, {
		name:    "semver order, not text order",
		policy:  catalog.Versioning{Tags: `(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine`},
		current: "1.9.0-alpine",
		tags:    []string{"1.10.0-alpine", "1.9.1-alpine", "1.9.0-alpine"},
		allowed: []string{"1.10.0-alpine", "1.9.1-alpine"},
	}, {
		name:    "major allowed in the ordinary proposal",
		policy:  catalog.Versioning{Tags: `(?P<version>` + full + `)`, Allow: "major"},
		current: "1.34.3",
		tags:    []string{"1.35.0", "2.0.0", "2.1.0-beta.1"},
		allowed: []string{"2.0.0", "1.35.0"},
	}, {
		name:    "patch only: a minor step is held, a major goes apart",
		policy:  catalog.Versioning{Tags: `(?P<version>[0-9]+\.[0-9]+\.[0-9]+)`, Allow: "patch"},
		current: "8.2.3",
		tags:    []string{"8.2.4", "8.3.0", "9.0.0"},
		allowed: []string{"8.2.4"},
		majors:  []string{"9.0.0"},
		held:    "8.3.0",
	}, {
		name:    "two-part versions (postgres): a new major is never proposed",
		policy:  catalog.Versioning{Tags: `(?P<version>[0-9]+\.[0-9]+)-alpine`, Majors: "never"},
		current: "17.7-alpine",
		tags:    []string{"17.8-alpine", "18.1-alpine", "19.0-alpine", "17.8-alpine3.22", "17-alpine"},
		allowed: []string{"17.8-alpine"},
		held:    "19.0-alpine",
	}, {
		name:    "0.y: a new minor is a major step",
		policy:  catalog.Versioning{Tags: `14-vectorchord(?P<version>[0-9]+\.[0-9]+\.[0-9]+)`},
		current: "14-vectorchord0.4.3",
		tags:    []string{"14-vectorchord0.4.4", "14-vectorchord0.5.0", "15-vectorchord0.4.9", "14-vectorchord1.1.1"},
		allowed: []string{"14-vectorchord0.4.4"},
		majors:  []string{"14-vectorchord1.1.1", "14-vectorchord0.5.0"},
	}, {
		name:    "nothing newer",
		policy:  catalog.Versioning{Tags: `v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)`},
		current: "v2.3.1",
		tags:    []string{"v2.3.1", "v2.3.0", "v2.3.1-rc.1", "main"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newer(&tt.policy, tt.current, tt.tags)
			if err != nil {
				t.Fatal(err)
			}
			held, why := c.held, c.why
			if got := tagsOf(c.allowed); !reflect.DeepEqual(got, tt.allowed) {
				t.Errorf("allowed %v, want %v", got, tt.allowed)
			}
			if got := tagsOf(c.majors); !reflect.DeepEqual(got, tt.majors) {
				t.Errorf("majors %v, want %v", got, tt.majors)
			}
			switch {
			case tt.held == "" && held != nil:
				t.Errorf("held back %s (%s), want none", held.tag, why)
			case tt.held != "" && (held == nil || held.tag != tt.held || why == ""):
				t.Errorf("held back %v (%q), want %s with a reason", held, why, tt.held)
			}
		})
	}
}

func tagsOf(cs []candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.tag)
	}
	return out
}

const editDoc = `# comment kept
name: demo
version: 1.0.0   # trailing comment kept
changelog: https://example.org/#1-0-0
flow: {note: "é à ü", tag: x1}
services:
  app:
    image: docker.io/library/demo
    tag: 1.0.0-alpine
    digest: ""
    environment: &env
      A: "1"
  cron:
    tag: '1.0.0-alpine'
    digest: ""
    environment: *env
`

func TestSetScalars(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		want   [][2]string // old text → new text, each replaced once, in order
		err    string
	}{{
		name:   "plain, double-quoted and single-quoted values keep their style",
		values: map[string]string{"services.app.tag": "1.1.0-alpine", "services.app.digest": "sha256:abc", "services.cron.tag": "1.1.0-alpine", "version": "1.1.0"},
		want: [][2]string{
			{"    tag: 1.0.0-alpine", "    tag: 1.1.0-alpine"},
			{`    digest: ""`, `    digest: "sha256:abc"`},
			{"    tag: '1.0.0-alpine'", "    tag: '1.1.0-alpine'"},
			{"version: 1.0.0   # trailing", "version: 1.1.0   # trailing"},
		},
	}, {
		name:   "a URL with a fragment stays plain",
		values: map[string]string{"changelog": "https://example.org/#1-1-0"},
		want:   [][2]string{{"changelog: https://example.org/#1-0-0", "changelog: https://example.org/#1-1-0"}},
	}, {
		name:   "a value YAML would read as something else is quoted",
		values: map[string]string{"version": "true"},
		want:   [][2]string{{"version: 1.0.0", `version: "true"`}},
	}, {
		name:   "columns count characters, not bytes",
		values: map[string]string{"flow.tag": "x2"},
		want:   [][2]string{{`flow: {note: "é à ü", tag: x1}`, `flow: {note: "é à ü", tag: x2}`}},
	}, {
		name:   "missing key",
		values: map[string]string{"services.app.versioning": "x"},
		err:    `demo.yaml: services.app.versioning is missing; add it (for a digest: digest: "" below the tag)`,
	}, {
		name:   "not a scalar",
		values: map[string]string{"services.app": "x"},
		err:    "demo.yaml: services.app is not a single value",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetScalars("demo.yaml", []byte(editDoc), tt.values)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := editDoc
			for _, r := range tt.want {
				want = strings.Replace(want, r[0], r[1], 1)
			}
			if string(out) != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestNextRelease(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		date, previous, current, want, err string
	}{
		{date: "2026-12-03", want: "2026.12.0"},
		{date: "2026-12-03", previous: "2026.12.0", current: "2026.12.0", want: "2026.12.1"},
		{date: "2026-12-31", previous: "2026.12.9", current: "2026.12.9", want: "2026.12.10"},
		{date: "2027-01-02", previous: "2026.12.9", current: "2026.12.9", want: "2027.01.0"},
		// The built-in catalog says 2026.11.0 without a tag: sites may pin that number.
		{date: "2026-11-20", current: "2026.11.0", want: "2026.11.1"},
		{date: "2026-10-20", previous: "2026.11.0", err: "release 2026.11.0 is newer than the date 2026-10-20"},
	}
	for _, tt := range tests {
		got, err := nextRelease(day(tt.date), tt.previous, tt.current)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("nextRelease(%s, %q, %q) error %v, want %q", tt.date, tt.previous, tt.current, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("nextRelease(%s, %q, %q) = %q, %v; want %q", tt.date, tt.previous, tt.current, got, err, tt.want)
		}
	}
	if got := latestRelease([]string{"2026.9.1", "2026.12.2", "2026.12.10", "2026.11.0", "junk"}); got != "2026.12.10" {
		t.Errorf("latestRelease = %s, want 2026.12.10", got)
	}
}

func TestEvidenceProblems(t *testing.T) {
	images := map[string]string{"proxy/caddy": "r/caddy:2@sha256:1", "app/server": "r/app:1@sha256:2"}
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	good := Evidence{Format: 1, Release: "2026.12.1", Result: "pass", Started: start, Finished: start.Add(time.Hour),
		Scenarios: []Scenario{{Name: "fresh-install", Result: "pass", Seconds: 600}},
		Images:    map[string]string{"proxy/caddy": "r/caddy:2@sha256:1", "app/server": "r/app:1@sha256:2"}}
	tests := []struct {
		name string
		edit func(*Evidence)
		want []string
	}{
		{"passing", func(*Evidence) {}, nil},
		{"failed", func(e *Evidence) {
			e.Result = "fail"
			e.Scenarios = append(e.Scenarios, Scenario{Name: "upgrade", Result: "fail", Detail: "nextcloud answered 502"})
		}, []string{`the result is "fail", not pass`, "scenario upgrade: fail: nextcloud answered 502"}},
		{"another release", func(e *Evidence) { e.Release = "2026.12.0" }, []string{`it is evidence for release "2026.12.0", not 2026.12.1`}},
		{"other images", func(e *Evidence) {
			e.Images = map[string]string{"app/server": "r/app:1@sha256:9", "app/cron": "r/app:1@sha256:2"}
		}, []string{
			"app/server: the test ran r/app:1@sha256:9 but the release pins r/app:1@sha256:2",
			"proxy/caddy (r/caddy:2@sha256:1) was not tested",
			"app/cron was tested but is not in the release",
		}},
		{"no scenarios", func(e *Evidence) { e.Scenarios = nil }, []string{"it lists no scenarios"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := good
			ev.Images = map[string]string{}
			for k, v := range good.Images {
				ev.Images[k] = v
			}
			tt.edit(&ev)
			if got := ev.Problems("2026.12.1", images); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestAppMajors: which new majors of an app's own image are proposed, newest first.
func TestAppMajors(t *testing.T) {
	pattern := `(?P<version>[0-9]+\.[0-9]+\.[0-9]+)`
	app := func(majors string, upgrades ...catalog.Upgrade) *catalog.App {
		return &catalog.App{Name: "demo", Version: "2.20.1", Upgrades: upgrades, Services: map[string]*catalog.Service{
			"web": {Image: catalog.Image{Tag: "2.20.1", Versioning: &catalog.Versioning{Tags: pattern, Majors: majors}}}}}
	}
	tests := []struct {
		name  string
		app   *catalog.App
		kept  []string
		notes []string
	}{{
		name: "any major, no entries",
		app:  app(""),
		kept: []string{"4.0.0", "3.1.0", "3.0.0"},
	}, {
		name:  "a required start not reached: the newest reachable is kept",
		app:   app("", catalog.Upgrade{To: 3, From: "2.20.15"}, catalog.Upgrade{To: 4, From: "3.1.0"}),
		notes: []string{"web: 4.0.0 is not proposed: demo cannot move from 2.20.1 to 4.0.0 at once: version 3 needs 2.20.15 or later first"},
	}, {
		name:  "listed: only the majors upgrades names",
		app:   app("listed", catalog.Upgrade{To: 3}),
		kept:  []string{"3.1.0", "3.0.0"},
		notes: []string{"web: 4.0.0 is a new major version that upgrades does not list (versioning.majors: listed); add an upgrades entry for 4 to take it"},
	}, {
		name:  "listed and a start: 4 needs 3.1.0",
		app:   app("listed", catalog.Upgrade{To: 3}, catalog.Upgrade{To: 4, From: "3.1.0"}),
		kept:  []string{"3.1.0", "3.0.0"},
		notes: []string{"web: 4.0.0 is not proposed: demo cannot move from 2.20.1 to 4.0.0 at once: version 4 needs 3.1.0 or later first"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newer(tt.app.Services["web"].Versioning, "2.20.1", []string{"3.0.0", "3.1.0", "4.0.0", "2.20.15"})
			if err != nil {
				t.Fatal(err)
			}
			kept, notes := appMajors(tt.app, "web", c.majors)
			if got := tagsOf(kept); !reflect.DeepEqual(got, tt.kept) {
				t.Errorf("kept %v, want %v", got, tt.kept)
			}
			if len(notes) != len(tt.notes) {
				t.Fatalf("notes %q, want %q", notes, tt.notes)
			}
			for i := range notes {
				if !strings.HasPrefix(notes[i], tt.notes[i]) {
					t.Errorf("note %q, want it to start with %q", notes[i], tt.notes[i])
				}
			}
		})
	}
}
