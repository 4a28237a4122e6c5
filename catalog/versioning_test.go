package catalog

import (
	"strings"
	"testing"
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
