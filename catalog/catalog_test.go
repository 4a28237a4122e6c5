package catalog

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestEmbeddedLoads checks the release built into the binary: Embedded panics when it is
// invalid, so a broken catalog must fail here first.
func TestEmbeddedLoads(t *testing.T) {
	r, err := Load(embedded)
	if err != nil {
		t.Fatalf("the embedded catalog does not load:\n%v", err)
	}
	Embedded() // must not panic

	if n := len(r.Apps); n < 8 {
		t.Errorf("the catalog has %d apps, want at least 8", n)
	}
	for _, name := range []string{"nextcloud", "forgejo", "immich", "paperless-ngx", "jellyfin", "uptime-kuma", "vaultwarden"} {
		if r.Apps[name] == nil {
			t.Errorf("the catalog has no %s", name)
		}
	}
	for _, name := range r.Names() {
		if got, want := r.Files[name], "apps/"+name+".yaml"; got != want {
			t.Errorf("%s was read from %q, want %q", name, got, want)
		}
	}
}

// TestEmbeddedConventions checks what the loader cannot see in one file: the rules every
// entry follows so that sites built from the whole release work.
func TestEmbeddedConventions(t *testing.T) {
	r := Embedded()
	registries := []string{"docker.io/", "ghcr.io/", "codeberg.org/", "quay.io/"}
	subdomains := map[string]string{}
	services := 0
	for _, name := range r.Names() {
		a := r.Apps[name]
		if _, ok := a.Services[a.HTTP.Service]; !ok {
			t.Errorf("%s: http.service %q is not one of its services", name, a.HTTP.Service)
		}
		if other, ok := subdomains[a.Subdomain]; ok {
			t.Errorf("%s and %s both default to the subdomain %q", other, name, a.Subdomain)
		}
		subdomains[a.Subdomain] = name

		used := map[string]bool{} // secrets and volumes some service refers to
		for _, sn := range a.ServiceNames() {
			s := a.Services[sn]
			services++
			where := name + "/" + sn
			// Digests are read from the registry by the catalog pipeline, which does not
			// exist yet; one written by hand cannot be trusted.
			if s.Digest != "" {
				t.Errorf("%s: digest %q is set; leave it empty until the pipeline fills it", where, s.Digest)
			}
			known := false
			for _, reg := range registries {
				known = known || strings.HasPrefix(s.Image.Image, reg)
			}
			if !known {
				t.Errorf("%s: image %q is not on one of the registries %v", where, s.Image.Image, registries)
			}
			fields := append(append(append([]string{s.User}, s.Command...), s.Entrypoint...), s.Tmpfs...)
			for _, v := range s.Environment {
				fields = append(fields, v)
			}
			if s.Healthcheck != nil {
				fields = append(fields, s.Healthcheck.Test...)
			}
			for _, v := range fields {
				for _, ref := range interpolations(v) {
					used[ref] = true
				}
			}
			for _, m := range s.Volumes {
				used[strings.SplitN(m, ":", 2)[0]] = true
			}
			// A database is backed up by dumping it, never by copying its live files.
			if strings.HasSuffix(s.Image.Image, "/postgres") {
				dumped := false
				for _, h := range a.Backup.Hooks {
					dumped = dumped || h.Service == sn && len(h.Command) > 0 && strings.HasPrefix(h.Command[0], "pg_dump")
				}
				if !dumped {
					t.Errorf("%s: a PostgreSQL service needs a pg_dump or pg_dumpall backup hook", where)
				}
				if s.Healthcheck == nil {
					t.Errorf("%s: a PostgreSQL service needs a healthcheck so dependants wait for it", where)
				}
			}
		}
		// The claim's password and the values its steps send count as used.
		if cl := a.Claim; cl != nil {
			used[cl.Password] = true
			for _, st := range cl.Steps {
				var vs []string
				if st.Exec != nil {
					vs = st.Exec.Command
				}
				if h := st.HTTP; h != nil {
					vs = append(vs, h.Path, h.JSON, h.Form)
					for _, v := range h.Headers {
						vs = append(vs, v)
					}
				}
				for _, v := range vs {
					for _, ref := range ClaimRefs(v) {
						used[ref] = true
					}
				}
			}
		}
		for _, s := range a.Secrets {
			if !used[s.Name] {
				t.Errorf("%s: secret %s is declared but no service or claim uses it", name, s.Name)
			}
		}
		for _, v := range a.Volumes {
			if !used[v.Name] {
				t.Errorf("%s: volume %s is declared but no service mounts it", name, v.Name)
			}
		}
	}
	if r.Proxy.Digest != "" || r.Compose.SHA512 != "" {
		t.Errorf("the proxy digest or compose sha512 is set by hand; leave them empty")
	}
	// With nothing pinned yet, every image and the compose sysext are listed as unpinned.
	if got, want := len(r.Unpinned(r.Names())), services+3; got != want {
		t.Errorf("Unpinned lists %d entries, want %d", got, want)
	}
}

// TestEmbeddedApps spot-checks requirements that are easy to lose in an edit.
func TestEmbeddedApps(t *testing.T) {
	r := Embedded()

	nc := r.Apps["nextcloud"]
	if cron := nc.Services["cron"]; cron == nil || strings.Join(cron.Entrypoint, " ") != "/cron.sh" {
		t.Errorf("nextcloud: the cron service must run the image's /cron.sh")
	} else {
		if cron.Ref() != nc.Services["app"].Ref() {
			t.Errorf("nextcloud: cron runs %s, the app %s; they must be the same image", cron.Ref(), nc.Services["app"].Ref())
		}
		for k, v := range nc.Services["app"].Environment {
			if cron.Environment[k] != v {
				t.Errorf("nextcloud: cron's %s is %q, the app's %q; background jobs need the same settings", k, cron.Environment[k], v)
			}
		}
	}

	fj := r.Apps["forgejo"].Services["server"].Environment
	if fj["FORGEJO__server__DISABLE_SSH"] != "true" || fj["FORGEJO__server__START_SSH_SERVER"] != "false" {
		t.Errorf("forgejo: SSH must be disabled, only 80 and 443 are open")
	}

	if db := r.Apps["immich"].Services["database"]; db == nil || db.Image.Image != "ghcr.io/immich-app/postgres" {
		t.Errorf("immich: the database must be Immich's PostgreSQL image with the vector extensions")
	}

	ex := map[string]bool{}
	for _, v := range r.Apps["immich"].Backup.Exclude {
		ex[v] = true
	}
	if !ex["model-cache"] || ex["upload"] || ex["db"] {
		t.Errorf("immich: back up the uploads and database, not the model cache; exclude = %v", r.Apps["immich"].Backup.Exclude)
	}
}

const testRelease = `release: 2026.11.0
channel: stable
flatcar:
  channel: stable
  min_version: 3941.1.0
compose:
  version: 2.34.0
  url: https://example.org/compose.raw
  sha512: ""
proxy:
  image: docker.io/library/caddy
  tag: 2.10.2-alpine
  digest: ""
`

// testApp is a valid entry; each case below breaks one thing in it. Line numbers in the
// expected messages refer to this text.
const testApp = `name: demo
title: Demo
summary: A test app.
homepage: https://example.org
version: 1.0.0
changelog: https://example.org/releases/1.0.0
subdomain: demo
memory_mb: 128
http:
  service: web
  port: 8080
health:
  path: /
  status: 200
secrets:
  - name: DB_PASSWORD
    length: 32
volumes:
  - name: data
backup:
  hooks:
    - service: web
      command: ["dump"]
      output: demo.sql
services:
  web:
    image: docker.io/library/demo
    tag: 1.0.0
    digest: ""
    environment:
      PASSWORD: "${DB_PASSWORD}"
      URL: "{{url}}"
    volumes:
      - data:/data
`

// testClaim is the test app's claim, appended to it (and after anything a case appends)
// by withApp; claimEdit changes it.
const testClaim = `claim:
  login: "{{admin_email}}"
  password: DB_PASSWORD
  steps:
    - http:
        method: POST
        path: /api/setup
        json: '{"password": "${DB_PASSWORD}"}'
        status: [201]
        save:
          token: '"token":"([^"]+)"'
    - exec:
        service: web
        command: [admin, --token, "${token}"]
`

// edit returns testApp with old replaced by new; old must occur exactly once.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(testApp, old) != 1 {
		t.Fatalf("the test app does not contain %q exactly once", old)
	}
	return strings.Replace(testApp, old, new, 1)
}

// withApp is a catalog folder with the test release and app (with its claim) as its
// only entry.
func withApp(app string) map[string]string {
	return map[string]string{"release.yaml": testRelease, "apps/demo.yaml": app + testClaim}
}

// claimEdit is the test app with its claim changed: old replaced by new, once.
func claimEdit(t *testing.T, old, new string) map[string]string {
	t.Helper()
	if strings.Count(testClaim, old) != 1 {
		t.Fatalf("the test claim does not contain %q exactly once", old)
	}
	return map[string]string{"release.yaml": testRelease, "apps/demo.yaml": testApp + strings.Replace(testClaim, old, new, 1)}
}

func catalogFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func TestLoadValid(t *testing.T) {
	for name, app := range map[string]string{
		"as written": testApp,
		// $$ is a literal dollar sign, not a variable.
		"escaped dollar": edit(t, `PASSWORD: "${DB_PASSWORD}"`, `PASSWORD: "$${DB_PASSWORD} and $$5"`),
		// Secrets may be used in commands too, not only in the environment.
		"secret in command": edit(t, "    digest: \"\"\n", "    digest: \"\"\n    command: [\"serve\", \"--password=${DB_PASSWORD}\"]\n"),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Load(catalogFS(withApp(app)))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := r.Names(); len(got) != 1 || got[0] != "demo" {
				t.Errorf("apps = %v, want [demo]", got)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // the whole catalog folder
		want  string
	}{{
		name:  "unknown key with a typo",
		files: withApp(edit(t, "    environment:", "    enviroment:")),
		want:  `apps/demo.yaml:30:5: unknown setting "enviroment" in services.web; did you mean "environment"?`,
	}, {
		name:  "unknown top-level key",
		files: withApp(edit(t, "memory_mb: 128", "memory_mbs: 128")),
		want:  `apps/demo.yaml:8:1: unknown setting "memory_mbs" in the top level; did you mean "memory_mb"?`,
	}, {
		name:  "secret not declared",
		files: withApp(edit(t, `"${DB_PASSWORD}"`, `"${DB_PASS}"`)),
		want:  `apps/demo.yaml:31:17: ${DB_PASS} is not one of the app's secrets; declare it under secrets, or write $$ for a literal dollar sign`,
	}, {
		name:  "secret not declared, with a default",
		files: withApp(edit(t, `"${DB_PASSWORD}"`, `"${DB_PASS:-changeme}"`)),
		want:  `apps/demo.yaml:31:17: ${DB_PASS} is not one of the app's secrets; declare it under secrets, or write $$ for a literal dollar sign`,
	}, {
		name:  "secret not declared, in a command",
		files: withApp(edit(t, "    digest: \"\"\n", "    digest: \"\"\n    command: [\"serve\", \"--token=${TOKEN}\"]\n")),
		want:  `apps/demo.yaml:30:24: ${TOKEN} is not one of the app's secrets; declare it under secrets, or write $$ for a literal dollar sign`,
	}, {
		name:  "mount of a volume not declared",
		files: withApp(edit(t, "- data:/data", "- cache:/data")),
		want:  `apps/demo.yaml:34:9: "cache:/data" must be <volume>:<absolute path>[:ro] with a volume the app declares`,
	}, {
		name:  "mount with a relative path",
		files: withApp(edit(t, "- data:/data", "- data:data")),
		want:  `apps/demo.yaml:34:9: "data:data" must be <volume>:<absolute path>[:ro] with a volume the app declares`,
	}, {
		name:  "mount option other than ro",
		files: withApp(edit(t, "- data:/data", "- data:/data:rw")),
		want:  `apps/demo.yaml:34:9: "data:/data:rw" must be <volume>:<absolute path>[:ro] with a volume the app declares`,
	}, {
		name:  "latest tag",
		files: withApp(edit(t, "tag: 1.0.0", "tag: latest")),
		want:  `apps/demo.yaml:28:10: tag "latest" is not a pinned tag; name an exact upstream version, never latest`,
	}, {
		name:  "made-up digest",
		files: withApp(edit(t, `digest: ""`, `digest: "sha256:deadbeef"`)),
		want:  `apps/demo.yaml:29:13: digest "sha256:deadbeef" is not sha256:<64 hex digits>; leave it empty; the catalog pipeline fills it from the registry`,
	}, {
		name:  "image without a registry",
		files: withApp(edit(t, "image: docker.io/library/demo", "image: demo")),
		want:  `apps/demo.yaml:27:12: image "demo" is not a fully qualified repository; write it with its registry, e.g. docker.io/library/postgres`,
	}, {
		name:  "name differs from the file name",
		files: withApp(edit(t, "name: demo\n", "name: demo-app\n")),
		want:  `apps/demo.yaml:1:7: name "demo-app" does not match the file name "demo.yaml"; rename one of them`,
	}, {
		name:  "unknown placeholder",
		files: withApp(edit(t, `"{{url}}"`, `"{{hostname}}"`)),
		want:  `apps/demo.yaml:32:12: unknown placeholder {{hostname}}; use one of {{host}}, {{url}}, {{domain}}, {{admin_email}}, {{timezone}}`,
	}, {
		name:  "unknown placeholder in the caddy snippet",
		files: withApp(edit(t, "memory_mb: 128\n", "memory_mb: 128\ncaddy: redir /x {{site}}/y\n")),
		want:  `apps/demo.yaml:9:8: unknown placeholder {{site}}; use one of {{host}}, {{url}}, {{domain}}, {{admin_email}}, {{timezone}}`,
	}, {
		name:  "number written as text",
		files: withApp(edit(t, "memory_mb: 128", "memory_mb: lots")),
		want:  `apps/demo.yaml:8:12: memory_mb must be a whole number, not "lots"; write a number without quotes or units, like 50`,
	}, {
		name:  "hook in a service the app does not have",
		files: withApp(edit(t, "    - service: web", "    - service: worker")),
		want:  `apps/demo.yaml:22:16: hook service "worker" is not one of the app's services`,
	}, {
		name:  "two hooks writing one file",
		files: withApp(edit(t, "      output: demo.sql\n", "      output: demo.sql\n    - service: web\n      command: [\"dump\", \"--all\"]\n      output: demo.sql\n")),
		want:  `apps/demo.yaml:27:15: output "demo.sql" is written by two hooks; give each hook its own file`,
	}, {
		name:  "excluded volume not declared",
		files: withApp(edit(t, "  hooks:\n", "  exclude: [cache]\n  hooks:\n")),
		want:  `apps/demo.yaml:21:13: "cache" is not one of the app's volumes`,
	}, {
		name: "every problem in a file at once, in file order",
		files: withApp(strings.NewReplacer(
			"tag: 1.0.0", "tag: latest",
			"memory_mb: 128", "memory_mb: 10",
			`"{{url}}"`, `"{{hostname}}"`,
		).Replace(testApp)),
		want: `apps/demo.yaml:8:12: memory_mb must say what the app needs, at least 64
apps/demo.yaml:28:10: tag "latest" is not a pinned tag; name an exact upstream version, never latest
apps/demo.yaml:32:12: unknown placeholder {{hostname}}; use one of {{host}}, {{url}}, {{domain}}, {{admin_email}}, {{timezone}}`,
	}, {
		name:  "bad release number",
		files: map[string]string{"release.yaml": strings.Replace(testRelease, "2026.11.0", "2026.13.0", 1), "apps/demo.yaml": testApp + testClaim},
		want:  `release.yaml:1:10: release "2026.13.0" is not of the form YYYY.MM.N; for example 2026.11.0`,
	}, {
		name:  "latest proxy tag",
		files: map[string]string{"release.yaml": strings.Replace(testRelease, "2.10.2-alpine", "latest", 1), "apps/demo.yaml": testApp + testClaim},
		want:  `release.yaml:12:8: tag "latest" is not a pinned tag; name an exact upstream version, never latest`,
	}, {
		name:  "no claim",
		files: map[string]string{"release.yaml": testRelease, "apps/demo.yaml": testApp},
		want:  `apps/demo.yaml:1:7: the app has no claim; add claim: with the administrator's login, its password secret and the steps that create it (catalog/claim.go), so the app is never open to whoever reaches it first`,
	}, {
		name:  "claim password not a secret",
		files: claimEdit(t, "  password: DB_PASSWORD", "  password: ADMIN_PASSWORD"),
		want:  `apps/demo.yaml:37:13: "ADMIN_PASSWORD" is not one of the app's secrets; declare it under secrets`,
	}, {
		name:  "claim value used before it is saved",
		files: claimEdit(t, `"password": "${DB_PASSWORD}"`, `"password": "${token}"`),
		want:  `apps/demo.yaml:42:15: ${token} is neither one of the app's secrets nor saved by an earlier step`,
	}, {
		name:  "claim expression the host reads otherwise",
		files: claimEdit(t, `'"token":"([^"]+)"'`, `'"token":"(\w+)"'`),
		want:  `apps/demo.yaml:45:18: "\\w" is not POSIX extended regular expression syntax, which the host's grep -E and sed -E read; write classes like [0-9] and [[:space:]], and no (?...) groups or lazy quantifiers`,
	}, {
		name:  "claim request sent again that changes something",
		files: claimEdit(t, "        status: [201]", "        status: [201]\n        expect: ok\n        repeat: 2"),
		want:  `apps/demo.yaml:45:17: repeat is 1 to 20, for a GET with expect; only a request that changes nothing may be sent again`,
	}, {
		name:  "claim step neither exec nor http",
		files: claimEdit(t, "    - exec:\n        service: web\n        command: [admin, --token, \"${token}\"]\n", "    - {}\n"),
		want:  `apps/demo.yaml:46:7: a claim step is either exec or http`,
	}, {
		name:  "no apps",
		files: map[string]string{"release.yaml": testRelease},
		want:  `apps/: the catalog has no apps; add apps/<name>.yaml files`,
	}, {
		name:  "no release.yaml",
		files: map[string]string{"apps/demo.yaml": testApp},
		want:  `catalog: open release.yaml: file does not exist (a catalog folder holds release.yaml and apps/*.yaml)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(catalogFS(tt.files))
			if err == nil {
				t.Fatalf("Load succeeded with apps %v; want the error\n%s", r.Names(), tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Load error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}
