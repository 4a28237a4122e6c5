package catalog

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// TestEmbeddedVersioning checks that the catalog pipeline can follow every image of the
// built-in catalog: each has a versioning policy that reads its current tag, and each app
// says where release notes are.
func TestEmbeddedVersioning(t *testing.T) {
	r := Embedded()
	check := func(where string, img Image) {
		if img.Versioning == nil {
			t.Errorf("%s: no versioning policy; nassella catalog check-updates cannot follow %s", where, img.Image)
			return
		}
		if _, _, ok := img.Versioning.Match(img.Tag); !ok {
			t.Errorf("%s: versioning.tags does not read the tag %s", where, img.Tag)
		}
	}
	check("proxy", r.Proxy)
	check("backup", r.Backup)
	for _, name := range r.Names() {
		a := r.Apps[name]
		if a.ChangelogTemplate == "" {
			t.Errorf("%s: no changelog_template; a bump could not name its release notes", name)
		}
		if v, ok := a.AppVersion(); !ok || v != a.Version {
			t.Errorf("%s: the http service's tag gives version %q, want %q", name, v, a.Version)
		}
		for _, sn := range a.ServiceNames() {
			check(name+"/"+sn, a.Services[sn].Image)
		}
	}
}

func TestLoadVersioningInvalid(t *testing.T) {
	const policy = "    digest: \"\"\n    versioning:\n      tags: '^(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+)$'\n"
	withPolicy := func(old, new string) string {
		return strings.Replace(edit(t, "    digest: \"\"\n", policy), old, new, 1)
	}
	tests := []struct {
		name, app, want string
	}{{
		name: "no version group",
		app:  withPolicy("(?P<version>", "(?P<v>"),
		want: `apps/demo.yaml:31:13: versioning.tags "^(?P<v>[0-9]+\\.[0-9]+\\.[0-9]+)$" has no group named version; write one like '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'`,
	}, {
		name: "not a regular expression",
		app:  withPolicy("[0-9]+)$'", "[0-9]+$'"),
		want: `apps/demo.yaml:31:13: versioning.tags "^(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+$" is not a regular expression: missing closing ): ` + "`" + `^(?:^(?P<version>[0-9]+\.[0-9]+\.[0-9]+$)$` + "`" + `; write one like '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'`,
	}, {
		name: "does not read the current tag",
		app:  withPolicy(")$'", ")-alpine$'"),
		want: `apps/demo.yaml:31:13: tag "1.0.0" does not match versioning.tags, or its version group is not a semantic version; change the pattern so it reads the version of the current tag`,
	}, {
		name: "unknown step",
		app:  withPolicy("$'\n", "$'\n      allow: minors\n"),
		want: `apps/demo.yaml:32:14: allow "minors" is unknown; use patch, minor (the default) or major`,
	}, {
		name: "same_as names no service",
		app:  withPolicy("$'\n", "$'\n      same_as: api\n"),
		want: `apps/demo.yaml:32:16: "api" is not another service of the app`,
	}, {
		name: "no tags",
		app:  edit(t, "    digest: \"\"\n", "    digest: \"\"\n    versioning:\n      allow: major\n"),
		want: `apps/demo.yaml:31:7: versioning needs tags, a regular expression with a group named version; for example tags: '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'`,
	}, {
		name: "version out of step with the tag",
		app:  withPolicy("tag: 1.0.0", "tag: 1.0.1"),
		want: `apps/demo.yaml:5:10: version "1.0.0" is not the version "1.0.1" in the tag of the http service "web"; keep version and the tag in step: the catalog pipeline reads new versions from the tag`,
	}, {
		name: "changelog_template gives another URL",
		app:  strings.Replace(withPolicy("", ""), "changelog: https://example.org/releases/1.0.0\n", "changelog: https://example.org/releases/1.0.0\nchangelog_template: https://example.org/releases/v{version}\n", 1),
		want: `apps/demo.yaml:7:21: changelog_template gives https://example.org/releases/v1.0.0 for version 1.0.0, but changelog is https://example.org/releases/1.0.0; make the template give the changelog URL`,
	}, {
		name: "changelog_template with an unknown placeholder",
		app:  strings.Replace(withPolicy("", ""), "changelog: https://example.org/releases/1.0.0\n", "changelog: https://example.org/releases/1.0.0\nchangelog_template: https://example.org/releases/{tag}\n", 1),
		want: `apps/demo.yaml:7:21: unknown placeholder {tag} in "https://example.org/releases/{tag}"; use {version}, {major}, {minor} or {patch}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(catalogFS(withApp(tt.app)))
			if err == nil {
				t.Fatalf("Load succeeded; want\n%s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Load error:\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}

	// The valid policy loads, with a template that gives the changelog.
	ok := strings.Replace(withPolicy("", ""), "changelog: https://example.org/releases/1.0.0\n", "changelog: https://example.org/releases/1.0.0\nchangelog_template: https://example.org/releases/{version}\n", 1)
	if _, err := Load(catalogFS(withApp(ok))); err != nil {
		t.Errorf("a valid policy: %v", err)
	}
}

func TestExpandChangelog(t *testing.T) {
	tests := []struct{ template, version, want string }{
		{"https://github.com/dani-garcia/vaultwarden/releases/tag/{version}", "1.35.0", "https://github.com/dani-garcia/vaultwarden/releases/tag/1.35.0"},
		{"https://nextcloud.com/changelog/#{major}-{minor}-{patch}", "32.0.3", "https://nextcloud.com/changelog/#32-0-3"},
		{"https://example.org/{major}.{minor}", "17.8", "https://example.org/17.8"},
	}
	for _, tt := range tests {
		if got, err := ExpandChangelog(tt.template, tt.version); err != nil || got != tt.want {
			t.Errorf("ExpandChangelog(%q, %q) = %q, %v; want %q", tt.template, tt.version, got, err, tt.want)
		}
	}
	if _, err := ExpandChangelog("https://example.org/{version}", "latest"); err == nil {
		t.Errorf("ExpandChangelog accepted the version latest")
	}
}

// TestEmbeddedChecked checks the record of the last comparison with upstream: every app
// and host piece has one, the catalog is not ahead of it, and an app left behind a newer
// upstream major says how it gets there (an upgrades entry on the way).
func TestEmbeddedChecked(t *testing.T) {
	r := Embedded()
	for _, h := range []struct {
		where   string
		current string
		c       *Checked
	}{{"compose", r.Compose.Version, r.Compose.Checked}, {"proxy", versionOf(r.Proxy), r.Proxy.Checked}, {"backup", versionOf(r.Backup), r.Backup.Checked}} {
		if h.c == nil {
			t.Errorf("%s: no checked record", h.where)
			continue
		}
		if h.c.Version != h.current {
			t.Errorf("%s: checked.version %s, but the release has %s", h.where, h.c.Version, h.current)
		}
	}
	for _, name := range r.Names() {
		a := r.Apps[name]
		if a.Checked == nil {
			t.Errorf("%s: no checked record", name)
			continue
		}
		cur, up := semver.MustParse(a.Version), semver.MustParse(a.Checked.Version)
		if up.LessThan(cur) {
			t.Errorf("%s: checked.version %s is older than version %s", name, up, cur)
		}
		if up.Major() == cur.Major() {
			continue
		}
		found := false
		for _, u := range a.Upgrades {
			found = found || (uint64(u.To) > cur.Major() && uint64(u.To) <= up.Major())
		}
		if !found {
			t.Errorf("%s: upstream is at %s but the catalog has no upgrades entry for a major after %d", name, up, cur.Major())
		}
	}
}

func versionOf(img Image) string {
	v, _, _ := img.Versioning.Match(img.Tag)
	return v
}

// upgradeApp is an app with the upgrades of Nextcloud (one major at a time) and of an app
// whose major 3 names no start.
func upgradeApp() *App {
	return &App{Name: "demo", Version: "34.0.1", Upgrades: []Upgrade{
		{To: 3, Notes: "https://example.org/3"},
		{To: 33, From: "32.0.0", Notes: "https://example.org/33"},
		{To: 34, From: "33.0.0", Notes: "https://example.org/34"},
	}}
}

func TestCheckUpgrade(t *testing.T) {
	tests := []struct {
		from, to string
		want     string // part of the refusal; "" allowed
	}{
		{"32.0.2", "32.0.14", ""},           // a minor step needs no entry
		{"32.0.2", "33.0.8", ""},            // one major, from a release of the one before
		{"31.0.9", "33.0.8", "32.0.0"},      // skips 32
		{"32.0.2", "34.0.3", "33.0.0"},      // skips 33
		{"33.0.8", "34.0.3", ""},            // the next step
		{"2.3.1", "3.3.1", ""},              // a major without a start
		{"1.0.0", "34.0.0", "32.0.0"},       // the first refused entry is named
		{"34.0.3", "33.0.8", ""},            // not a move up
		{"latest", "34.0.3", ""},            // not a version: not judged
		{"31.5", "33.1", "32.0.0"},          // two-part versions are versions
		{"33.0.0-rc.1", "34.0.0", "33.0.0"}, // a pre-release is before 33.0.0
	}
	for _, tt := range tests {
		err := upgradeApp().CheckUpgrade(tt.from, tt.to)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s → %s refused: %v", tt.from, tt.to, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want+" or later first")):
			t.Errorf("%s → %s: %v, want a refusal naming %s", tt.from, tt.to, err, tt.want)
		}
	}
	err := upgradeApp().CheckUpgrade("32.0.2", "34.0.3")
	want := "demo cannot move from 32.0.2 to 34.0.3 at once: version 34 needs 33.0.0 or later first (upgrades, to: 34); move to 33.0.0 first, then to 34.0.3; upgrade notes: https://example.org/34"
	if err == nil || err.Error() != want {
		t.Errorf("refusal:\n got: %v\nwant: %s", err, want)
	}
}

// TestCheckUpgradesFromLock reads the old versions from a site's lock images, as a site
// moving to a newer catalog release has them.
func TestCheckUpgradesFromLock(t *testing.T) {
	a := upgradeApp()
	a.HTTP.Service = "app"
	a.Services = map[string]*Service{"app": {Image: Image{Image: "docker.io/library/demo", Tag: "34.0.1-apache",
		Versioning: &Versioning{Tags: `^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-apache$`}}}}
	r := &Release{Apps: map[string]*App{"demo": a}}
	tests := []struct {
		ref  string
		want int
	}{
		{"docker.io/library/demo:32.0.2-apache@sha256:" + strings.Repeat("a", 64), 1},
		{"127.0.0.1:5000/library/demo:33.0.8-apache", 0},
		{"docker.io/library/demo:34.0.1-apache", 0},
		{"127.0.0.1:5000/library/demo", 0},   // no tag: not judged
		{"docker.io/library/demo:32-fpm", 0}, // another variant: not judged
	}
	for _, tt := range tests {
		errs := r.CheckUpgrades(map[string]string{"demo/app": tt.ref, "demo/db": "x:1"}, []string{"demo", "gone"})
		if len(errs) != tt.want {
			t.Errorf("from %s: %v, want %d refusals", tt.ref, errs, tt.want)
		}
	}
	if errs := r.CheckUpgrades(map[string]string{}, []string{"demo"}); len(errs) != 0 {
		t.Errorf("an app new to the site: %v", errs)
	}
}

func TestLoadUpgradesInvalid(t *testing.T) {
	withUpgrades := func(block string) string {
		return strings.Replace(testApp, "subdomain: demo\n", block+"subdomain: demo\n", 1)
	}
	tests := []struct {
		name, app, want string
	}{{
		name: "no major",
		app:  withUpgrades("upgrades:\n  - notes: https://example.org/up\n"),
		want: "apps/demo.yaml:8:5: to must be the major version the entry is for, like 3",
	}, {
		name: "two entries for a major",
		app:  withUpgrades("upgrades:\n  - to: 2\n    notes: https://example.org/up\n  - to: 2\n    notes: https://example.org/up\n"),
		want: "apps/demo.yaml:10:9: major 2 has two upgrades entries; keep one",
	}, {
		name: "from not below the major",
		app:  withUpgrades("upgrades:\n  - to: 2\n    from: 2.1.0\n    notes: https://example.org/up\n"),
		want: "apps/demo.yaml:9:11: from 2.1.0 is not below major 2; name a version of an earlier major",
	}, {
		name: "from not a version",
		app:  withUpgrades("upgrades:\n  - to: 2\n    from: latest\n    notes: https://example.org/up\n"),
		want: `apps/demo.yaml:9:11: from "latest" is not a version; write the oldest version that may move straight to this major, like 2.20.15`,
	}, {
		name: "notes not https",
		app:  withUpgrades("upgrades:\n  - to: 2\n    notes: http://example.org/up\n"),
		want: "apps/demo.yaml:9:12: notes must be the https URL of upstream's upgrade notes",
	}, {
		name: "a step in no service, a step without a command",
		app:  withUpgrades("upgrades:\n  - to: 2\n    notes: https://example.org/up\n    before:\n      - service: db\n        command: [dump]\n    after:\n      - service: web\n"),
		want: "apps/demo.yaml:11:7: upgrade steps (before) are not run by nassella yet; leave the major to check-updates' note and the upgrade notes until they are; see catalog.Upgrade\napps/demo.yaml:11:18: \"db\" is not one of the app's services\napps/demo.yaml:14:7: upgrade steps (after) are not run by nassella yet; leave the major to check-updates' note and the upgrade notes until they are; see catalog.Upgrade\napps/demo.yaml:14:9: a step needs a command",
	}, {
		name: "checked without a date and source",
		app:  withUpgrades("checked:\n  version: 1.2.0\n  date: 2026-13-01\n"),
		want: "apps/demo.yaml:8:3: checked.source is required; say where the version was read: the upstream repository and its tag\napps/demo.yaml:9:9: checked.date \"2026-13-01\" is not a date; write the day of the check as YYYY-MM-DD",
	}, {
		name: "checked on a service",
		app:  strings.Replace(testApp, "    digest: \"\"\n", "    digest: \"\"\n    checked: {version: 1.0.0, date: 2026-12-03, source: x}\n", 1),
		want: "apps/demo.yaml:30:14: a service has no checked of its own; record checked once, at the top of the entry",
	}, {
		name: "unknown majors",
		app:  strings.Replace(testApp, "    digest: \"\"\n", "    digest: \"\"\n    versioning:\n      tags: '^(?P<version>[0-9.]+)$'\n      majors: sometimes\n", 1),
		want: `apps/demo.yaml:32:15: majors "sometimes" is unknown; use propose (the default), listed or never`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(catalogFS(withApp(tt.app)))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load error:\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
	ok := withUpgrades("checked:\n  version: 2.0.1\n  date: 2026-12-03\n  source: github:example/demo tag v2.0.1\nupgrades:\n  - to: 2\n    from: 1.0.0\n    notes: https://example.org/up\n")
	if _, err := Load(catalogFS(withApp(ok))); err != nil {
		t.Errorf("valid upgrades: %v", err)
	}
}
