package catalog

import (
	"encoding/xml"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// mailSection is a valid mail section for the test app; cases below break one thing.
const mailSection = `mail:
  uses: password resets
  services: [web]
  environment:
    SMTP_HOST: "{{mail.host}}"
    SMTP_FROM: "{{mail.from_local}}@{{mail.from_domain}}"
  auth:
    SMTP_USER: "{{mail.user}}"
    SMTP_PASSWORD: "{{mail.password}}"
  tls:
    starttls: { SMTP_TLS: starttls }
    tls: { SMTP_TLS: tls }
    none: {}
`

// withMail is the test app with a mail section (after the services, from line 35 on),
// with old replaced by new.
func withMail(t *testing.T, old, new string) map[string]string {
	t.Helper()
	if old != "" && strings.Count(mailSection, old) != 1 {
		t.Fatalf("the mail section does not contain %q exactly once", old)
	}
	return withApp(testApp + strings.Replace(mailSection, old, new, 1))
}

func TestLoadMail(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string // "" for valid
	}{
		{"as written", withMail(t, "", ""), ""},
		{"in the app only", withApp(testApp + "mail:\n  uses: alerts\n  settings: Settings, Mail\n"), ""},
		{"service the app does not have", withMail(t, "[web]", "[worker]"),
			`apps/demo.yaml:37:14: "worker" is not one of the app's services`},
		{"a TLS mode missing", withMail(t, "    none: {}\n", ""),
			`apps/demo.yaml:45:5: mail.tls has no entry for none; give each of starttls, tls and none its settings ({} when it needs none)`},
		{"an unknown TLS mode", withMail(t, "    none: {}\n", "    none: {}\n    ssl: {}\n"),
			`apps/demo.yaml:48:10: "ssl" is not a TLS mode; use starttls, tls and none`},
		{"password outside auth", withMail(t, `SMTP_HOST: "{{mail.host}}"`, `SMTP_HOST: "{{mail.password}}"`),
			`apps/demo.yaml:39:16: {{mail.password}} is empty when the relay has no user; move it under mail.auth`},
		{"unknown placeholder", withMail(t, `"{{mail.host}}"`, `"{{mail.server}}"`),
			`apps/demo.yaml:39:16: unknown placeholder {{mail.server}}; use one of {{mail.host}}, {{mail.port}}, {{mail.from}}, {{mail.from_local}}, {{mail.from_domain}}, {{mail.user}}, {{mail.password}} or {{host}}, {{url}}, {{domain}}, {{admin_email}}, {{timezone}}`},
		{"a secret of its own", withMail(t, `"{{mail.password}}"`, `"${DB_PASSWORD}"`),
			`apps/demo.yaml:43:20: ${DB_PASSWORD} in a mail setting; use {{mail.password}} for the relay's password; the app's own secrets go in its services' environment`},
		{"a name the service sets itself", withMail(t, "SMTP_HOST:", "URL:"),
			`apps/demo.yaml:39:10: URL is also in services.web.environment; set it in one place`},
		{"a name set twice", withMail(t, "    starttls: { SMTP_TLS: starttls }", "    starttls: { SMTP_HOST: starttls }"),
			`apps/demo.yaml:45:28: SMTP_HOST is also set in mail.environment; set it in one place`},
		{"no uses", withMail(t, "  uses: password resets\n", ""),
			`apps/demo.yaml:36:3: mail.uses is required; say what the app sends e-mail for, like "password resets and invitations"`},
		{"neither services nor settings", withApp(testApp + "mail:\n  uses: alerts\n"),
			`apps/demo.yaml:36:3: a mail section without services needs settings; name the services that take the relay, or say in settings where the owner sets a mail server in the app`},
	} {
		t.Run(tt.name, func(t *testing.T) { loads(t, tt.files, tt.want) })
	}
}

// loads checks that the catalog folder loads with the error want ("" for none).
func loads(t *testing.T, files map[string]string, want string) {
	t.Helper()
	_, err := Load(catalogFS(files))
	got := ""
	if err != nil {
		got = err.Error()
	}
	if got != want {
		t.Errorf("Load:\n got: %s\nwant: %s", got, want)
	}
}

func TestLoadFiles(t *testing.T) {
	file := func(volume, path, content string) map[string]string {
		return withApp(testApp + "files:\n  - volume: " + volume + "\n    path: " + path + "\n    content: " + content + "\n")
	}
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"as written", file("data", "config/settings.xml", "<settings/>"), ""},
		{"a volume the app does not have", file("cache", "settings.xml", "x"),
			`apps/demo.yaml:36:13: "cache" is not one of the app's volumes`},
		{"a path out of the volume", file("data", "../other/settings.xml", "x"),
			`apps/demo.yaml:37:11: path "../other/settings.xml" must be a plain path inside the volume; write it like config/network.xml`},
		{"an absolute path", file("data", "/etc/passwd", "x"),
			`apps/demo.yaml:37:11: path "/etc/passwd" must be a plain path inside the volume; write it like config/network.xml`},
		{"no content", file("data", "settings.xml", `""`),
			`apps/demo.yaml:38:14: a seeded file needs content`},
	} {
		t.Run(tt.name, func(t *testing.T) { loads(t, tt.files, tt.want) })
	}
}

// TestEmbeddedMail: every app that sends e-mail says so, and the ones that take a relay
// from their environment get all of it.
func TestEmbeddedMail(t *testing.T) {
	r := Embedded()
	fromEnv := []string{"forgejo", "mealie", "nextcloud", "paperless-ngx", "vaultwarden"}
	inApp := []string{"audiobookshelf", "immich", "uptime-kuma"}
	for _, name := range r.Names() {
		m := r.Apps[name].Mail
		switch {
		case slices.Contains(fromEnv, name):
			if m == nil || len(m.Services) == 0 {
				t.Errorf("%s takes a mail relay from its environment; its mail section must name the services", name)
				continue
			}
			all := strings.Join(slices.Concat(mapValues(m.Environment), mapValues(m.Auth)), " ")
			for _, p := range []string{"{{mail.host}}", "{{mail.port}}", "{{mail.user}}", "{{mail.password}}"} {
				if !strings.Contains(all, p) {
					t.Errorf("%s: the relay's %s goes nowhere", name, p)
				}
			}
			if !strings.Contains(all, "{{mail.from") {
				t.Errorf("%s: the sender address goes nowhere", name)
			}
		case slices.Contains(inApp, name):
			if m == nil || m.Settings == "" || len(m.Services) > 0 {
				t.Errorf("%s sets its mail server in the app; its mail section must say where (settings), with no services", name)
			}
		case m != nil:
			t.Errorf("%s sends no e-mail, but has a mail section", name)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestEmbeddedCorrections pins the corrections found by comparing the catalog with the
// upstream projects (issue 15, part 2); each names the upstream source in the entry.
func TestEmbeddedCorrections(t *testing.T) {
	r := Embedded()

	// Apache's own limit must not be below the 10 GB Caddy and PHP allow.
	nc := r.Apps["nextcloud"].Services["app"].Environment
	if nc["APACHE_BODY_LIMIT"] != "0" || !strings.Contains(r.Apps["nextcloud"].Caddy, "max_size 10GB") {
		t.Errorf("nextcloud: APACHE_BODY_LIMIT = %q; want 0 (unlimited), with Caddy's request_body as the one limit", nc["APACHE_BODY_LIMIT"])
	}

	// Jellyfin reads visitors' addresses from Caddy's headers only from known proxies.
	jf := r.Apps["jellyfin"]
	var netXML string
	for _, f := range jf.Files {
		if f.Volume == "config" && f.Path == "config/network.xml" {
			netXML = f.Content
		}
	}
	var cfg struct {
		XMLName      xml.Name `xml:"NetworkConfiguration"`
		KnownProxies []string `xml:"KnownProxies>string"`
	}
	if err := xml.Unmarshal([]byte(netXML), &cfg); err != nil {
		t.Errorf("jellyfin: network.xml is not the NetworkConfiguration XML Jellyfin reads: %v", err)
	}
	if !slices.Equal(cfg.KnownProxies, []string{"172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/8"}) {
		t.Errorf("jellyfin: known proxies %v, want Docker's private ranges", cfg.KnownProxies)
	}

	// The database-setup server answers /api/entry-page too; the health path must need
	// the app's database.
	if h := r.Apps["uptime-kuma"].Health; h.Path == "/api/entry-page" || h.Status == 200 {
		t.Errorf("uptime-kuma: health %s %d is answered by the database-setup server too", h.Path, h.Status)
	}

	// Immich's postgres: a tag scheme upstream still builds, and a pattern that finds the
	// next one.
	db := r.Apps["immich"].Services["database"]
	if strings.Contains(db.Tag, "pgvectors") {
		t.Errorf("immich: database tag %s is a pgvecto.rs variant upstream no longer builds", db.Tag)
	}
	for tag, want := range map[string]bool{
		"14-vectorchord0.5.4":                true,
		"14-vectorchord0.5.3-pgvector0.8.1":  false, // pinned to one pgvector
		"14-vectorchord0.4.3-pgvectors0.2.0": false,
		"15-vectorchord0.5.4":                false, // another PostgreSQL major
	} {
		if _, _, ok := db.Versioning.Match(tag); ok != want {
			t.Errorf("immich: database versioning matches %s: %v, want %v", tag, ok, want)
		}
	}

	// The admin token stays, generated on the host, until the claim step creates the first
	// account: without it nobody could (sign-ups are off). Sign-ups must stay off.
	vw := r.Apps["vaultwarden"].Services["server"].Environment
	if vw["ADMIN_TOKEN"] != "${ADMIN_TOKEN}" || vw["SIGNUPS_ALLOWED"] != "false" {
		t.Errorf("vaultwarden: ADMIN_TOKEN %q, SIGNUPS_ALLOWED %q; want the host's token and sign-ups off", vw["ADMIN_TOKEN"], vw["SIGNUPS_ALLOWED"])
	}

	// Audiobookshelf's image has no HEALTHCHECK; the entry must not say it has.
	raw, err := fs.ReadFile(embedded, "apps/audiobookshelf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "image's own health check uses it") {
		t.Errorf("audiobookshelf: the entry still claims an image health check")
	}
}
