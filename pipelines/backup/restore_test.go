package backup_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/backup"
)

// A leftover RESTIC_REPOSITORY, a --repo or a --host of another site is refused, naming
// both, unless forced: restoring it would put another site's data (and secrets) here.
func TestForSiteRefusesAnotherSite(t *testing.T) {
	l, err := site.Load("site.yaml", []byte(siteYAML), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	const own, other = "s3:https://s3.example/acme-backups/acme", "s3:https://s3.example/acme-backups/globex"
	for _, c := range []struct {
		name      string
		env       string // RESTIC_REPOSITORY
		opt       backup.SiteOptions
		want      []string // in the error; none: accepted
		repo, hst string
	}{
		{name: "the site's", repo: own, hst: "acme"},
		{name: "$RESTIC_REPOSITORY is the site's", env: own + "/", repo: own + "/", hst: "acme"},
		{name: "leftover $RESTIC_REPOSITORY", env: other, want: []string{other + " (from $RESTIC_REPOSITORY)", "site acme's backup repository " + own, "unset RESTIC_REPOSITORY", "--force-other-site"}},
		{name: "--repo", env: own, opt: backup.SiteOptions{Repository: other}, want: []string{other + " (from --repo)", own}},
		{name: "--host", opt: backup.SiteOptions{Host: "globex"}, want: []string{"host globex is not site acme's server", "--force-other-site"}},
		{name: "forced", env: other, opt: backup.SiteOptions{Host: "globex", ForceOtherSite: true}, repo: other, hst: "globex"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"RESTIC_PASSWORD": "pw", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "RESTIC_REPOSITORY": c.env}
			r, err := backup.ForSite(l, c.opt, func(k string) string { return env[k] })
			if len(c.want) == 0 {
				if err != nil || r.Repository != c.repo || r.Host != c.hst {
					t.Fatalf("got %s on host %s, %v; want %s on host %s", r.Repository, r.Host, err, c.repo, c.hst)
				}
				return
			}
			if err == nil {
				t.Fatalf("another site's backups were accepted: %s on host %s", r.Repository, r.Host)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// backupAs backs dir up into the host's repository as another machine would.
func (h *host) backupAs(dir string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(h.restic.Bin, append([]string{"--cache-dir", h.restic.CacheDir, "backup", ".", "--json"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"RESTIC_REPOSITORY=" + h.repository, "PATH=" + os.Getenv("PATH"), "HOME=" + h.root}, h.restic.Env...)
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("restic backup of %s: %v", dir, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m struct {
			Type string `json:"message_type"`
			ID   string `json:"snapshot_id"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Type == "summary" {
			return m.ID
		}
	}
	h.t.Fatalf("restic backup of %s gave no snapshot id:\n%s", dir, out)
	return ""
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Another site's server (or a manual backup without nassella's tag) saving into the same
// repository after the site's own backup: its snapshot is newer, but "latest" is still the
// site's, both for nassella restore and for the host's own restore, and its ID is refused.
func TestRestoreTakesOnlyTheSitesSnapshots(t *testing.T) {
	h := newHost(t, "")
	ctx := context.Background()
	if out, err := h.script("run"); err != nil {
		t.Fatalf("backup failed: %v\n%s", err, out)
	}
	own := h.status().Snapshot
	otherSite := filepath.Join(h.root, "other-site")
	writeFiles(t, otherSite, map[string]string{
		"apps/vaultwarden/data/db.sqlite3": "globex's database",
		"secrets/vaultwarden.env":          "ADMIN_TOKEN=globex\n",
	})
	other := h.backupAs(otherSite, "--host", "globex", "--tag", "nassella")
	untagged := h.backupAs(otherSite, "--host", "acme")
	const acmeDB = "vaultwarden's database\x00\x01\x02"

	snaps, err := h.restic.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || !strings.HasPrefix(snaps[0].ID, own) {
		t.Errorf("the site's snapshots: %+v; want only %s", snaps, own)
	}

	dst := filepath.Join(t.TempDir(), "volume")
	got, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: dst, App: "vaultwarden"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, own) {
		t.Errorf("latest restored %s (host %s), want the site's %s", got.ShortID, got.Hostname, own)
	}
	if db, _ := os.ReadFile(filepath.Join(dst, "apps/vaultwarden/data/db.sqlite3")); string(db) != acmeDB {
		t.Errorf("restored another site's database: %q", db)
	}

	for id, want := range map[string]string{
		other:    "is a backup of host globex, not of acme: refusing to restore another site's data; pass --host globex --force-other-site",
		untagged: "has no tag nassella",
	} {
		if _, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: filepath.Join(t.TempDir(), "x"), Snapshot: id[:8]}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("restore of snapshot %s: %v; want %q", id[:8], err, want)
		}
	}
	forced := h.restic
	forced.Host = "globex"
	if got, err := forced.Restore(ctx, backup.RestoreOptions{Target: filepath.Join(t.TempDir(), "forced")}); err != nil || !strings.HasPrefix(got.ID, other) {
		t.Errorf("restore of host globex's latest: %s, %v; want %s", got.ID, err, other)
	}

	hostDst := filepath.Join(h.root, "host-restore")
	if out, err := h.script("restore", "--app", "vaultwarden", "--target", hostDst); err != nil {
		t.Fatalf("host restore: %v\n%s", err, out)
	}
	if db, _ := os.ReadFile(filepath.Join(hostDst, "apps/vaultwarden/data/db.sqlite3")); string(db) != acmeDB {
		t.Errorf("the host restored another site's database as latest: %q", db)
	}
	for _, id := range []string{other[:8], untagged[:8]} {
		hostOther := filepath.Join(h.root, "host-other-"+id)
		out, err := h.script("restore", "--snapshot", id, "--target", hostOther)
		if err == nil || !strings.Contains(out, "snapshot "+id+" is not one of site acme's backups") {
			t.Errorf("the host restored snapshot %s of another host: %v\n%s", id, err, out)
		}
		if _, err := os.Stat(hostOther); err == nil {
			t.Errorf("the refused host restore of %s created %s", id, hostOther)
		}
	}
}

// The target may hold nothing the restore writes, secrets included, and no symlink that
// would lead restic out of it.
func TestRestoreRefusesToOverwriteOrLeaveTheTarget(t *testing.T) {
	h := newHost(t, "")
	ctx := context.Background()
	if out, err := h.script("run"); err != nil {
		t.Fatalf("backup failed: %v\n%s", err, out)
	}
	outside := t.TempDir()
	link := func(p string) func(string) error {
		return func(dir string) error {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
				return err
			}
			return os.Symlink(outside, filepath.Join(dir, p))
		}
	}
	secret := func(app string) func(string) error {
		return func(dir string) error {
			writeFiles(t, dir, map[string]string{"secrets/" + app + ".env": "ADMIN_TOKEN=keep me\n"})
			return nil
		}
	}
	for _, c := range []struct {
		name, app string
		setup     func(dir string) error
		want      string // the path (under the target) and the reason
		keep      string // the secrets file setup wrote, which must stay as it was
	}{
		{"one app over its secrets", "vaultwarden", secret("vaultwarden"), "secrets/vaultwarden.env already holds data", "vaultwarden"},
		{"every app over secrets", "", secret("immich"), "secrets already holds data", "immich"},
		{"apps links out", "vaultwarden", link("apps"), "apps is a symlink to " + outside, ""},
		{"the app's folder links out", "vaultwarden", link("apps/vaultwarden"), "apps/vaultwarden is a symlink to " + outside, ""},
		{"secrets links out, one app", "vaultwarden", link("secrets"), "secrets is a symlink to " + outside, ""},
		{"secrets links out, every app", "", link("secrets"), "secrets is a symlink to " + outside, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "target")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			_, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: dir, App: c.app})
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, c.want)) {
				t.Errorf("restore: %v; want %q", err, filepath.Join(dir, c.want))
			}
			if entries, _ := os.ReadDir(outside); len(entries) > 0 {
				t.Errorf("the restore wrote outside the target: %v", entries)
			}
			if c.keep != "" {
				if b, _ := os.ReadFile(filepath.Join(dir, "secrets", c.keep+".env")); string(b) != "ADMIN_TOKEN=keep me\n" {
					t.Errorf("the restore overwrote the existing secrets: %q", b)
				}
			}
		})
	}
	// The target itself a symlink: refused too, naming the folder to pass instead.
	target := filepath.Join(t.TempDir(), "volume")
	if err := os.Symlink(outside, target); err != nil {
		t.Fatal(err)
	}
	if _, err := h.restic.Restore(ctx, backup.RestoreOptions{Target: target}); err == nil || !strings.Contains(err.Error(), target+" is a symlink to "+outside+": restic would write through it") {
		t.Errorf("restore into a symlink: %v", err)
	}
}
