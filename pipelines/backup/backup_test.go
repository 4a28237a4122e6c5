package backup_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/backup"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// The site every test backs up: two apps with a dump hook each and one with an excluded
// cache.
const siteYAML = `version: 1
name: acme
domain: acme.example
admin:
  email: ops@acme.example
  ssh_keys: [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l me@laptop" ]
provider:
  hetzner: { location: nbg1, server_type: cx53, volume_gb: 50 }
dns:
  hetzner: {}
apps:
  vaultwarden: {}
  uptime-kuma: {}
  immich: {}
backups:
  schedule: "daily 03:00"
  keep: { daily: 1, weekly: 0, monthly: 0 }
  target: { s3: { endpoint: "https://s3.example", bucket: acme-backups } }
updates:
  channel: stable
  window: "Sun 03:00"
  timezone: Europe/Berlin
`

func need(t *testing.T, env, how string) string {
	t.Helper()
	return testtool.Require(t, env, how)
}

// host is a folder laid out like the server: config, data volume, the rendered backup
// script, a docker STUB on PATH, and a real S3 server behind it.
type host struct {
	t                   *testing.T
	root, data, config  string
	env                 []string
	stubLog, repository string
	restic              backup.Restic
}

// newHost renders the backup files of siteYAML, with the apps' hooks replaced by local
// commands (fail names an app whose hook fails).
func newHost(t *testing.T, fail string) *host {
	bin := need(t, "NASSELLA_RESTIC", `eval "$(.ci/tools-backup.sh)"`)
	s3 := s3test.Start(t)
	s3.Bucket(t, "acme-backups")

	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", []byte(siteYAML), cat)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range l.Apps {
		spec := *a.Spec
		spec.Backup.Hooks = nil
		switch a.Name {
		case "vaultwarden":
			spec.Backup.Hooks = []catalog.Hook{{Service: "vaultwarden", Output: "db.sql",
				Command: []string{"sh", "-c", `cat "$NASSELLA_DATA/apps/vaultwarden/data/db.sqlite3"; echo "-- dumped, it's done"`}}}
		case "uptime-kuma":
			spec.Backup.Hooks = []catalog.Hook{{Service: "server", Output: "kuma.sql", Command: []string{"echo", "kuma dump"}}}
		}
		if a.Name == fail {
			spec.Backup.Hooks = append(spec.Backup.Hooks, catalog.Hook{Service: "db", Output: "broken.sql",
				Command: []string{"sh", "-c", "echo 'connection refused' >&2; exit 3"}})
		}
		l.Apps[i].Spec = &spec
	}
	in := render.Input{Site: l, Catalog: cat, Version: "test"}

	root := t.TempDir()
	h := &host{t: t, root: root, data: filepath.Join(root, "var/lib/nassella"), config: filepath.Join(root, "etc/nassella"),
		stubLog: filepath.Join(root, "docker-stub.log")}
	h.repository = "s3:" + s3.Endpoint + "/acme-backups/acme"
	envFile := butane.BackupEnvFile(in) + "RESTIC_REPOSITORY=" + butane.Quote(h.repository) + "\n"
	outside := "RESTIC_PASSWORD=correct horse battery staple\nAWS_ACCESS_KEY_ID=" + s3.Access + "\nAWS_SECRET_ACCESS_KEY=" + s3.Secret + "\n"
	stub, err := os.ReadFile("testdata/docker-stub.sh")
	if err != nil {
		t.Fatal(err)
	}
	script, err := fs.ReadFile(sitetemplate.FS, "host/nassella-backup.sh")
	if err != nil {
		t.Fatal(err)
	}
	stubDir := filepath.Join(root, "stub-bin")
	for p, body := range map[string]string{
		filepath.Join(h.config, "backup.env"):                          envFile,
		filepath.Join(h.config, "backup-hooks.sh"):                     butane.BackupHooksFile(in),
		filepath.Join(h.config, "backup-settings.env"):                 butane.BackupSettingsFile(in),
		filepath.Join(h.config, "outside.env"):                         outside,
		filepath.Join(root, "nassella-backup"):                         string(script),
		filepath.Join(stubDir, "docker"):                               string(stub),
		filepath.Join(h.data, "apps/vaultwarden/data/db.sqlite3"):      "vaultwarden's database\x00\x01\x02",
		filepath.Join(h.data, "apps/vaultwarden/data/attachments/a"):   strings.Repeat("attachment ", 1000),
		filepath.Join(h.data, "apps/uptime-kuma/data/kuma.db"):         "kuma",
		filepath.Join(h.data, "apps/immich/upload/photo.jpg"):          strings.Repeat("\xff\xd8 photo", 5000),
		filepath.Join(h.data, "apps/immich/model-cache/model.onnx"):    "a cache, excluded",
		filepath.Join(h.data, "secrets/vaultwarden.env"):               "ADMIN_TOKEN=s3cr3t\n",
		filepath.Join(h.data, "secrets/immich.env"):                    "DB_PASSWORD=x\n",
		filepath.Join(h.data, "proxy/data/caddy/certificates/a/a.crt"): "certificate",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.env = append(os.Environ(),
		"PATH="+stubDir+":"+os.Getenv("PATH"),
		"NASSELLA_DATA="+h.data, "NASSELLA_CONFIG="+h.config,
		"NASSELLA_RESTIC_CACHE="+filepath.Join(root, "cache"),
		"NASSELLA_RESTIC="+bin, "STUB_LOG="+h.stubLog)
	h.restic = backup.Restic{Bin: bin, Repository: h.repository, Host: "acme", CacheDir: filepath.Join(root, "cache"), Env: []string{
		"RESTIC_PASSWORD=correct horse battery staple", "AWS_ACCESS_KEY_ID=" + s3.Access, "AWS_SECRET_ACCESS_KEY=" + s3.Secret}}
	return h
}

// script runs the real nassella-backup script.
func (h *host) script(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(h.root, "nassella-backup")}, args...)...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *host) status() *hostcontract.Status {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.data, "backup/status.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := hostcontract.ParseStatus(data)
	if err != nil {
		h.t.Fatalf("%v\n%s", err, data)
	}
	return s
}

// tree reads every file under dir (but the skipped folders) as path → contents.
func tree(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestBackupRetentionCheckRestore(t *testing.T) {
	h := newHost(t, "")
	ctx := context.Background()

	start := time.Now()
	out, err := h.script("run")
	if err != nil {
		t.Fatalf("backup failed: %v\n%s", err, out)
	}
	t.Logf("first backup (with restic init) in %s", time.Since(start).Round(time.Millisecond))
	st := h.status()
	if st.Result != "ok" || st.Snapshot == "" || st.SizeBytes == 0 || st.LastSuccess == "" || st.Disk.SizeBytes == 0 {
		t.Fatalf("status after a good backup: %+v", st)
	}
	dump, err := os.ReadFile(filepath.Join(h.data, "apps/vaultwarden/dumps/db.sql"))
	if err != nil || string(dump) != "vaultwarden's database\x00\x01\x02-- dumped, it's done\n" {
		t.Fatalf("vaultwarden's dump: %q, %v", dump, err)
	}
	if strings.Contains(out, "correct horse") || strings.Contains(out, "nassella-test-secret") {
		t.Errorf("the backup printed a secret:\n%s", out)
	}
	first := st.Snapshot

	// A second backup the same day: keep.daily 1 leaves only the newest.
	if err := os.WriteFile(filepath.Join(h.data, "apps/uptime-kuma/data/kuma.db"), []byte("kuma, changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := h.script("run"); err != nil {
		t.Fatalf("second backup failed: %v\n%s", err, out)
	}
	second := h.status().Snapshot
	snaps, err := h.restic.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || !strings.HasPrefix(snaps[0].ID, second) || second == first {
		t.Fatalf("after retention (keep daily 1): %+v; want only %s", snaps, second)
	}

	if out, err := h.script("check"); err != nil {
		t.Fatalf("restic check failed: %v\n%s", err, out)
	}

	// Full restore into an empty folder: the volume byte for byte, but the excluded cache
	// and the backup folder (its status record is written after the snapshot).
	full := filepath.Join(t.TempDir(), "fresh-volume")
	if err := os.MkdirAll(filepath.Join(full, "lost+found"), 0o700); err != nil { // as on a fresh ext4 volume
		t.Fatal(err)
	}
	got, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: full})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != snaps[0].ID {
		t.Errorf("restored %s, want the latest %s", got.ID, snaps[0].ID)
	}
	want := tree(t, h.data, "backup", "apps/immich/model-cache")
	if restored := tree(t, full, "backup"); !reflect.DeepEqual(restored, want) {
		t.Errorf("full restore differs:\ngot  %v\nwant %v", keys(restored), keys(want))
	}
	if _, err := os.Stat(filepath.Join(full, "apps/immich/model-cache")); err == nil {
		t.Errorf("the excluded model-cache was backed up")
	}
	if _, err := os.Stat(filepath.Join(full, "backup/.lock")); err == nil {
		t.Errorf("the backup's lock file was backed up")
	}
	// Restoring onto data is refused.
	if _, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: full}); err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("restore over data: %v", err)
	}

	// One app, by snapshot ID: its folder with its dump, and its secrets; nothing else.
	one := filepath.Join(t.TempDir(), "one")
	if _, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: one, App: "vaultwarden", Snapshot: second}); err != nil {
		t.Fatal(err)
	}
	wantOne := map[string]string{}
	for p, b := range want {
		if strings.HasPrefix(p, "apps/vaultwarden/") || p == "secrets/vaultwarden.env" {
			wantOne[p] = b
		}
	}
	if restored := tree(t, one); !reflect.DeepEqual(restored, wantOne) {
		t.Errorf("single-app restore: got %v, want %v", keys(restored), keys(wantOne))
	}
	if _, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: t.TempDir(), App: "nextclod"}); err == nil || !strings.Contains(err.Error(), `no app "nextclod"`) {
		t.Errorf("restore of an app not in the snapshot: %v", err)
	}

	// The host script restores with the very same restic arguments.
	hostOne := filepath.Join(h.root, "host-restore")
	os.WriteFile(h.stubLog, nil, 0o644)
	if out, err := h.script("restore", "--app", "vaultwarden", "--target", hostOne); err != nil {
		t.Fatalf("host restore: %v\n%s", err, out)
	}
	if restored := tree(t, hostOne); !reflect.DeepEqual(restored, wantOne) {
		t.Errorf("host single-app restore: got %v, want %v", keys(restored), keys(wantOne))
	}
	log, _ := os.ReadFile(h.stubLog)
	wantArgs := strings.Join(quoteAll(hostcontract.RestoreArgs("acme", "", "vaultwarden", hostOne)), " ")
	if !strings.Contains(string(log), wantArgs) {
		t.Errorf("the host script ran restic differently from nassella restore:\n%s\nwant … %s", log, wantArgs)
	}
}

func TestFailingHookFailsTheBackup(t *testing.T) {
	h := newHost(t, "immich")
	out, err := h.script("run")
	if err == nil {
		t.Fatalf("the backup worked although immich's hook failed:\n%s", out)
	}
	if !strings.Contains(out, "immich: the backup hook in service db failed (connection refused") {
		t.Errorf("the failure does not say which hook failed and why:\n%s", out)
	}
	st := h.status()
	if st.Result != "failed" || !strings.Contains(st.Error, "immich") || st.Snapshot != "" || st.LastSuccess != "" {
		t.Errorf("status after a failed hook: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(h.data, "apps/immich/dumps/broken.sql")); err == nil {
		t.Errorf("a failed hook left a dump behind")
	}
	log, _ := os.ReadFile(h.stubLog)
	if bytes.Contains(log, []byte("docker run")) {
		t.Errorf("restic ran although a hook failed:\n%s", log)
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// quoteAll quotes like bash's printf %q does for these simple words.
func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, " ", `\ `)
	}
	return out
}
