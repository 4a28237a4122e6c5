package catalogops_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/registry"
	"github.com/nassella/nassella/internal/testenv/registrytest"
	"github.com/nassella/nassella/pipelines/catalogops"
)

var maintainer = catalogops.Identity{Name: "Maintainer", Email: "maintainer@example.org"}

// fixture is a catalog repo (git, made with go-git) whose images are on a test registry.
type fixture struct {
	t       *testing.T
	srv     *registrytest.Server
	root    string // the repository
	dir     string // the catalog folder in it
	repo    *git.Repository
	digests map[string]string // "repo:tag" → index digest, as go-containerregistry computes it
	compose []byte            // the compose sysext the HTTPS server serves
	http    *http.Client      // trusts that server
	reg     *registry.Client
	mu      sync.Mutex
	waits   []time.Duration // what the registry client was told to wait
}

var pushes = []struct {
	repo       string
	dockerList bool
	tags       []string
}{
	{"test/vaultwarden", false, []string{"1.34.3", "1.35.0", "1.36.0-rc.1", "2.0.0", "latest"}},
	{"test/nextcloud", true, []string{"32.0.2-apache", "32.0.3-apache", "33.0.0-apache", "34.0.0-apache", "32.0.3-fpm"}},
	{"test/postgres", false, []string{"17.7-alpine", "17.8-alpine", "18.1-alpine"}},
	{"test/caddy", true, []string{"2.10.2-alpine"}},
	{"test/restic", false, []string{"0.18.1", "0.18.2", "0.19.0"}},
	{"test/photos-server", false, []string{"v2.3.1", "v2.4.0", "v2.4.1", "v3.0.0"}},
	{"test/photos-ml", false, []string{"v2.3.1", "v2.4.0", "v3.0.0"}},
}

// newFixture starts the registry and the file server, pushes the images and commits
// testdata/catalog into a new repo, at the root or in the folder sub.
func newFixture(t *testing.T, sub string) *fixture {
	t.Helper()
	f := &fixture{t: t, srv: registrytest.New(), digests: map[string]string{}, compose: []byte("a compose sysext image\n")}
	t.Cleanup(f.srv.Close)
	for _, p := range pushes {
		push := f.srv.Push
		if p.dockerList {
			push = f.srv.PushDockerList
		}
		d, err := push(p.repo, p.tags...)
		if err != nil {
			t.Fatal(err)
		}
		for tag, digest := range d {
			f.digests[p.repo+":"+tag] = digest
		}
	}
	composeURL, _, client, closeFiles := registrytest.ServeFile("/docker-compose.raw", f.compose)
	t.Cleanup(closeFiles)
	f.http = client
	f.reg = &registry.Client{UserAgent: "nassella-test", Sleep: func(_ context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waits = append(f.waits, d)
		return nil
	}}

	f.root = t.TempDir()
	f.dir = filepath.Join(f.root, sub)
	repl := strings.NewReplacer("REGISTRY", f.srv.Host, "COMPOSE_URL", composeURL)
	err := filepath.WalkDir("testdata/catalog", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/catalog", p)
		out := filepath.Join(f.dir, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(repl.Replace(string(data))), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "README.md"), []byte("the catalog repo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f.repo, err = git.PlainInit(f.root, false); err != nil {
		t.Fatal(err)
	}
	wt, _ := f.repo.Worktree()
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Founder", Email: "founder@example.org", When: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	if _, err := wt.Commit("catalog: the first apps", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) load() *catalog.Release {
	f.t.Helper()
	cat, err := catalog.Load(os.DirFS(f.dir))
	if err != nil {
		f.t.Fatal(err)
	}
	return cat
}

func (f *fixture) read(name string) string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

// fileAt is a repository file as commit-ish rev has it.
func (f *fixture) fileAt(rev, name string) string {
	f.t.Helper()
	h, err := f.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		f.t.Fatalf("%s: %v", rev, err)
	}
	c, err := f.repo.CommitObject(*h)
	if err != nil {
		f.t.Fatal(err)
	}
	file, err := c.File(name)
	if err != nil {
		f.t.Fatalf("%s in %s: %v", name, rev, err)
	}
	text, _ := file.Contents()
	return text
}

func (f *fixture) head() plumbing.Hash {
	f.t.Helper()
	ref, err := f.repo.Head()
	if err != nil {
		f.t.Fatal(err)
	}
	return ref.Hash()
}

func (f *fixture) lock() catalogops.LockResult {
	f.t.Helper()
	res, err := catalogops.Lock(context.Background(), f.dir, catalogops.LockOptions{Registry: f.reg, HTTP: f.http})
	if err != nil {
		f.t.Fatalf("Lock: %v", err)
	}
	return res
}

// fsck has real git check every object go-git wrote, when git is installed.
func (f *fixture) fsck() {
	f.t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	if out, err := exec.Command("git", "-C", f.root, "fsck", "--strict", "--no-dangling").CombinedOutput(); err != nil {
		f.t.Errorf("git fsck: %v\n%s", err, out)
	}
}

// describe renders updates for comparison, digests checked against the registry's.
func (f *fixture) describe(ups []catalogops.Update) string {
	var b strings.Builder
	for _, u := range ups {
		if u.Err != nil {
			fmt.Fprintf(&b, "%s: error: %v\n", u.App, u.Err)
			continue
		}
		major := ""
		switch {
		case u.Major && u.Upgrade != nil:
			major = " [major, upgrade notes: " + u.Upgrade.Notes + "]"
		case u.Major:
			major = " [major]"
		}
		switch {
		case len(u.Bumps) == 0:
			fmt.Fprintf(&b, "%s: up to date\n", u.App)
		case u.ToVersion != "":
			fmt.Fprintf(&b, "%s %s → %s %s%s\n", u.App, u.FromVersion, u.ToVersion, u.Changelog, major)
		default:
			fmt.Fprintf(&b, "%s%s\n", u.App, major)
		}
		for _, bu := range u.Bumps {
			repo := strings.TrimPrefix(bu.Image, f.srv.Host+"/")
			digest := "digest ok"
			if want := f.digests[repo+":"+bu.ToTag]; bu.Digest != want {
				digest = fmt.Sprintf("digest %s, want %s", bu.Digest, want)
			}
			fmt.Fprintf(&b, "  %s %s → %s (%s)\n", bu.Service, bu.FromTag, bu.ToTag, digest)
		}
		for _, n := range u.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	return b.String()
}

const wantUpdates = `proxy: up to date
backup
  restic 0.18.1 → 0.18.2 (digest ok)
backup [major]
  restic 0.18.1 → 0.19.0 (digest ok)
nextcloud 32.0.2 → 32.0.3 https://nextcloud.com/changelog/#32-0-3
  app 32.0.2-apache → 32.0.3-apache (digest ok)
  cron 32.0.2-apache → 32.0.3-apache (digest ok)
  db 17.7-alpine → 17.8-alpine (digest ok)
  note: db: 18.1-alpine is newer but a new major version, which check-updates never proposes (versioning.majors: never): moving to it needs a step nassella does not take by itself, such as a database dump and restore
nextcloud 32.0.2 → 33.0.0 https://nextcloud.com/changelog/#33-0-0 [major, upgrade notes: https://example.org/nextcloud/33]
  app 32.0.2-apache → 33.0.0-apache (digest ok)
  cron 32.0.2-apache → 33.0.0-apache (digest ok)
  note: app: 34.0.0-apache is not proposed: nextcloud cannot move from 32.0.2 to 34.0.0 at once: version 34 needs 33.0.0 or later first (upgrades, to: 34); move to 33.0.0 first, then to 34.0.0; upgrade notes: https://example.org/nextcloud/34
photos 2.3.1 → 2.4.0 https://example.org/photos/releases/v2.4.0
  machine-learning v2.3.1 → v2.4.0 (digest ok)
  server v2.3.1 → v2.4.0 (digest ok)
  note: server: v2.4.1 waits for machine-learning, which has no tag of version 2.4.1 yet
  note: server: v3.0.0 is a new major version that upgrades does not list (versioning.majors: listed); add an upgrades entry for 3 to take it
vaultwarden 1.34.3 → 1.35.0 https://github.com/dani-garcia/vaultwarden/releases/tag/1.35.0
  server 1.34.3 → 1.35.0 (digest ok)
vaultwarden 1.34.3 → 2.0.0 https://github.com/dani-garcia/vaultwarden/releases/tag/2.0.0 [major]
  server 1.34.3 → 2.0.0 (digest ok)
`

// TestCheckUpdatesAndPropose finds the right tags through the token flow and a rate
// limit, then proposes one branch per app, refreshed rather than duplicated on re-runs.
func TestCheckUpdatesAndPropose(t *testing.T) {
	f := newFixture(t, "catalog")
	ctx := context.Background()
	f.srv.RateLimit(1, "2")
	before := f.srv.Stats()
	ups := catalogops.CheckUpdates(ctx, f.reg, f.load(), nil)
	if got := f.describe(ups); got != wantUpdates {
		t.Errorf("updates:\n%s\nwant:\n%s", got, wantUpdates)
	}
	if len(f.waits) != 1 || f.waits[0] != 2*time.Second {
		t.Errorf("the client waited %v after the 429, want [2s] as Retry-After said", f.waits)
	}
	// Seven repositories, one token each, each reused for the tag list and the manifests.
	if got := f.srv.Stats().TokensIssued - before.TokensIssued; got != 7 {
		t.Errorf("%d tokens fetched for 7 repositories, want 7", got)
	}

	// One host image by its name, as --app backup asks.
	only := catalogops.CheckUpdates(ctx, f.reg, f.load(), []string{"backup"})
	if len(only) != 2 || len(only[0].Bumps) != 1 || only[0].Bumps[0].ToTag != "0.18.2" || only[0].Edits()["backup.tag"] != "0.18.2" ||
		!only[1].Major || only[1].Edits()["backup.tag"] != "0.19.0" {
		t.Errorf("checking only backup: %+v", only)
	}

	repo, err := catalogops.OpenRepo(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := &catalogops.GitProposer{Repo: repo, Author: maintainer, Now: func() time.Time { return now }}
	propose := func(ups []catalogops.Update) map[string]catalogops.Proposed {
		t.Helper()
		out := map[string]catalogops.Proposed{}
		for _, u := range ups {
			if u.Err != nil || len(u.Bumps) == 0 {
				continue
			}
			res, err := p.Propose(ctx, catalogops.ProposalFor(u))
			if err != nil {
				t.Fatalf("Propose %s: %v", u.App, err)
			}
			if res.Branch != u.Branch() {
				t.Errorf("%s: proposed on %s, want %s", u.App, res.Branch, u.Branch())
			}
			out[res.Branch] = res
		}
		return out
	}
	base := f.head()
	first := propose(ups)
	var branches []string
	for branch, res := range first {
		branches = append(branches, branch)
		if res.State != "new" {
			t.Errorf("%s: %+v, want a new branch", branch, res)
		}
		c, err := f.repo.CommitObject(plumbing.NewHash(res.Commit))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.ParentHashes) != 1 || c.ParentHashes[0] != base {
			t.Errorf("%s: the proposal's commit is not one commit on top of HEAD", branch)
		}
	}
	sort.Strings(branches)
	if want := "[catalog/bump-backup catalog/bump-nextcloud catalog/bump-photos catalog/bump-vaultwarden catalog/major-backup catalog/major-nextcloud catalog/major-vaultwarden]"; fmt.Sprint(branches) != want {
		t.Fatalf("proposed %v, want %s", branches, want)
	}
	if f.head() != base {
		t.Errorf("proposing moved HEAD")
	}
	if st, _ := mustWorktree(t, f.repo).Status(); !st.IsClean() {
		t.Errorf("proposing touched the worktree:\n%s", st)
	}

	// The edit is exactly the values that move: comments and everything else stay.
	orig := f.fileAt("HEAD", "catalog/apps/vaultwarden.yaml")
	want := strings.NewReplacer(
		"version: 1.34.3", "version: 1.35.0",
		"releases/tag/1.34.3", "releases/tag/1.35.0",
		"tag: 1.34.3", "tag: 1.35.0",
		`digest: ""`, `digest: "`+f.digests["test/vaultwarden:1.35.0"]+`"`,
	).Replace(orig)
	if got := f.fileAt("catalog/bump-vaultwarden", "catalog/apps/vaultwarden.yaml"); got != want {
		t.Errorf("the proposed vaultwarden.yaml:\n%s\nwant:\n%s", got, want)
	}
	if msg := commitMessage(t, f.repo, first["catalog/bump-vaultwarden"].Commit); !strings.HasPrefix(msg, "catalog: vaultwarden 1.34.3 → 1.35.0\n\nRelease notes: https://github.com/dani-garcia/vaultwarden/releases/tag/1.35.0\n") {
		t.Errorf("commit message:\n%s", msg)
	}

	// The major upgrades, on their own branches: marked as such, with the upgrade notes
	// when the catalog has them, and what to do before merging.
	if got := f.fileAt("catalog/major-nextcloud", "catalog/apps/nextcloud.yaml"); !strings.Contains(got, "version: 33.0.0\n") || !strings.Contains(got, "    tag: 33.0.0-apache\n") || strings.Contains(got, "32.0.2-apache") {
		t.Errorf("the major upgrade's nextcloud.yaml:\n%s", got)
	}
	for branch, want := range map[string][]string{
		"catalog/major-nextcloud": {"catalog: nextcloud 32.0.2 → 33.0.0 (major upgrade)\n\nA major upgrade, proposed on its own: read the upgrade notes before merging.\n\nUpgrade notes: https://example.org/nextcloud/33\nRelease notes: https://nextcloud.com/changelog/#33-0-0\n",
			"- note: app: 34.0.0-apache is not proposed: nextcloud cannot move from 32.0.2 to 34.0.0 at once",
			"- sites move to 33 only from 32.0.0 or later (upgrades, to: 33); older ones are refused\n",
			"- the release's VM upgrade test must pass before it is promoted\n"},
		"catalog/major-vaultwarden": {"catalog: vaultwarden 1.34.3 → 2.0.0 (major upgrade)\n",
			"- the catalog has no upgrades entry for vaultwarden 2: add one to apps/vaultwarden.yaml on this branch"},
		"catalog/major-backup": {"catalog: backup: restic 0.18.1 → 0.19.0 (major upgrade)\n"},
	} {
		msg := commitMessage(t, f.repo, first[branch].Commit)
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: the commit message lacks %q:\n%s", branch, w, msg)
			}
		}
	}

	// Nothing new upstream: every branch stays as it is.
	second := propose(catalogops.CheckUpdates(ctx, f.reg, f.load(), nil))
	for branch, res := range second {
		if res.State != "unchanged" || res.Commit != first[branch].Commit {
			t.Errorf("%s on a second run: %+v, want unchanged at %s", branch, res, first[branch].Commit)
		}
	}

	// A newer patch upstream: the branch moves to one fresh commit on the same base.
	d, err := f.srv.Push("test/vaultwarden", "1.35.1")
	if err != nil {
		t.Fatal(err)
	}
	third := propose(catalogops.CheckUpdates(ctx, f.reg, f.load(), []string{"vaultwarden"}))
	res := third["catalog/bump-vaultwarden"]
	if res.State != "refreshed" || res.Commit == first["catalog/bump-vaultwarden"].Commit {
		t.Fatalf("vaultwarden after 1.35.1: %+v, want refreshed", res)
	}
	c, _ := f.repo.CommitObject(plumbing.NewHash(res.Commit))
	if len(c.ParentHashes) != 1 || c.ParentHashes[0] != base {
		t.Errorf("the refreshed branch is not one commit on top of HEAD")
	}
	if got := f.fileAt("catalog/bump-vaultwarden", "catalog/apps/vaultwarden.yaml"); !strings.Contains(got, "tag: 1.35.1\n    digest: \""+d["1.35.1"]+"\"") {
		t.Errorf("the refreshed branch does not pin 1.35.1:\n%s", got)
	}
	f.fsck()
}

func TestLock(t *testing.T) {
	f := newFixture(t, "catalog")
	orig := f.read("apps/vaultwarden.yaml")
	res := f.lock()
	if want := []string{"apps/nextcloud.yaml", "apps/photos.yaml", "apps/vaultwarden.yaml", "release.yaml"}; fmt.Sprint(res.Files) != fmt.Sprint(want) {
		t.Errorf("rewrote %v, want %v", res.Files, want)
	}
	cat := f.load()
	if u := cat.Unpinned(cat.Names()); len(u) != 0 {
		t.Errorf("still unpinned after lock: %v", u)
	}
	for _, l := range res.Images {
		repo := strings.TrimPrefix(l.Image, f.srv.Host+"/")
		if want := f.digests[repo+":"+l.Tag]; l.Digest != want || !l.Index || l.Was != "" {
			t.Errorf("%s: %+v, want the index digest %s", l.Where, l, want)
		}
	}
	if cat.Proxy.Digest != f.digests["test/caddy:2.10.2-alpine"] {
		t.Errorf("proxy digest %s, want the manifest list's %s", cat.Proxy.Digest, f.digests["test/caddy:2.10.2-alpine"])
	}
	sum := sha512.Sum512(f.compose)
	if cat.Compose.SHA512 != hex.EncodeToString(sum[:]) {
		t.Errorf("compose sha512 %s, want the file's", cat.Compose.SHA512)
	}
	want := strings.Replace(orig, `digest: ""`, `digest: "`+f.digests["test/vaultwarden:1.34.3"]+`"`, 1)
	if got := f.read("apps/vaultwarden.yaml"); got != want {
		t.Errorf("locked vaultwarden.yaml:\n%s\nwant only the digest set:\n%s", got, want)
	}

	// Again: nothing moves, nothing is written.
	if again := f.lock(); len(again.Files) != 0 {
		t.Errorf("a second lock rewrote %v", again.Files)
	}

	// A tag re-pushed upstream (a rebuilt postgres) is caught.
	old := f.digests["test/postgres:17.7-alpine"]
	d, err := f.srv.Push("test/postgres", "17.7-alpine")
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]string{}
	for _, l := range f.lock().Images {
		if l.Changed() {
			changed[l.Where] = l.Was + " → " + l.Digest
		}
	}
	if want := map[string]string{"nextcloud/db": old + " → " + d["17.7-alpine"]}; fmt.Sprint(changed) != fmt.Sprint(want) {
		t.Errorf("changed %v, want %v", changed, want)
	}

	// A tag that does not exist: named in the error; the rest is still written.
	if err := os.WriteFile(filepath.Join(f.dir, "apps/vaultwarden.yaml"), []byte(strings.NewReplacer("1.34.3", "1.34.9").Replace(orig)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = catalogops.Lock(context.Background(), f.dir, catalogops.LockOptions{Registry: f.reg, HTTP: f.http})
	if err == nil || !strings.Contains(err.Error(), "could not pin 1 of them") || !strings.Contains(err.Error(), "vaultwarden/server: "+f.srv.Host+"/test/vaultwarden:1.34.9: 404 Not Found") {
		t.Errorf("Lock with a missing tag: %v", err)
	}
}

func TestReleaseAndPromote(t *testing.T) {
	f := newFixture(t, "catalog")
	ctx := context.Background()
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	cut := func(date string) (catalogops.ReleaseResult, error) {
		d, _ := time.Parse(time.DateOnly, date)
		return catalogops.CutRelease(catalogops.ReleaseOptions{Dir: f.dir, Date: d, Author: maintainer, Now: now})
	}

	// Unpinned: refused, naming every image.
	_, err := cut("2026-12-03")
	wantErr := `cannot cut a release: 9 images are not pinned by digest, and a release must name exactly what is tested:
  host/docker-compose sysext 2.34.0
  proxy/caddy HOST/test/caddy:2.10.2-alpine
  host/restic HOST/test/restic:0.18.1
  nextcloud/app HOST/test/nextcloud:32.0.2-apache
  nextcloud/cron HOST/test/nextcloud:32.0.2-apache
  nextcloud/db HOST/test/postgres:17.7-alpine
  photos/machine-learning HOST/test/photos-ml:v2.3.1
  photos/server HOST/test/photos-server:v2.3.1
  vaultwarden/server HOST/test/vaultwarden:1.34.3
run nassella catalog lock first`
	if err == nil || err.Error() != strings.ReplaceAll(wantErr, "HOST", f.srv.Host) {
		t.Fatalf("release of an unpinned catalog: %v\nwant:\n%s", err, wantErr)
	}
	if _, err := f.repo.Tag("catalog/2026.12.0"); err == nil {
		t.Fatal("a refused release left a tag")
	}

	// Pinned: the first release, numbered after the untagged 2026.11.0 in release.yaml.
	f.lock()
	r0, err := cut("2026-12-03")
	if err != nil {
		t.Fatal(err)
	}
	if r0.Release != "2026.12.0" || r0.Previous != "" || r0.Tag != "catalog/2026.12.0" {
		t.Errorf("first release %+v", r0)
	}
	assertAnnotatedTag(t, f.repo, "catalog/2026.12.0", r0.Commit)
	rel := f.fileAt("catalog/2026.12.0", "catalog/release.yaml")
	if !strings.Contains(rel, "# A test catalog") || !strings.Contains(rel, "release: 2026.12.0\nchannel: testing\n") {
		t.Errorf("release.yaml of 2026.12.0:\n%s", rel)
	}
	if got := f.fileAt("catalog/2026.12.0", "catalog/channels.yaml"); !strings.HasSuffix(got, "testing: \"2026.12.0\"\n") {
		t.Errorf("channels.yaml:\n%s", got)
	}
	if st, _ := mustWorktree(t, f.repo).Status(); !st.IsClean() {
		t.Errorf("the release left changes uncommitted:\n%s", st)
	}
	if _, err := cut("2026-12-04"); err == nil || !strings.Contains(err.Error(), "nothing changed since release 2026.12.0") {
		t.Errorf("a release without changes: %v", err)
	}

	// Bumps merged (the ordinary proposals' edits), locked, released: the changelog says
	// what moved.
	for _, u := range catalogops.CheckUpdates(ctx, f.reg, f.load(), []string{"nextcloud", "vaultwarden"}) {
		if u.Major {
			continue
		}
		file := filepath.Join(f.dir, u.File)
		data, _ := os.ReadFile(file)
		out, err := catalogops.SetScalars(u.File, data, u.Edits())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(file, out, 0o644)
	}
	f.lock()
	r1, err := cut("2026-12-10")
	if err != nil {
		t.Fatal(err)
	}
	wantNotes := strings.ReplaceAll(`## 2026.12.1 (2026-12-10)

Changes since 2026.12.0:

- **nextcloud** 32.0.2 → 32.0.3 ([release notes](https://nextcloud.com/changelog/#32-0-3))
  - app: HOST/test/nextcloud 32.0.2-apache → 32.0.3-apache
  - cron: HOST/test/nextcloud 32.0.2-apache → 32.0.3-apache
  - db: HOST/test/postgres 17.7-alpine → 17.8-alpine
- **vaultwarden** 1.34.3 → 1.35.0 ([release notes](https://github.com/dani-garcia/vaultwarden/releases/tag/1.35.0))
  - server: HOST/test/vaultwarden 1.34.3 → 1.35.0
`, "HOST", f.srv.Host)
	if r1.Release != "2026.12.1" || r1.Previous != "2026.12.0" || r1.Notes != wantNotes {
		t.Errorf("second release %s after %s, notes:\n%s\nwant:\n%s", r1.Release, r1.Previous, r1.Notes, wantNotes)
	}
	changelog := f.fileAt("catalog/2026.12.1", "catalog/CHANGELOG.md")
	if i, j := strings.Index(changelog, "## 2026.12.1"), strings.Index(changelog, "## 2026.12.0"); i < 0 || j < i {
		t.Errorf("CHANGELOG.md does not list 2026.12.1 above 2026.12.0:\n%s", changelog)
	}

	// Promotion: refused without evidence, with failing evidence, and with evidence of
	// other images; done with evidence of a pass of exactly this release.
	var bot recordingBot
	promote := func(release, channel string) (catalogops.PromoteResult, error) {
		return catalogops.Promote(ctx, catalogops.PromoteOptions{Dir: f.dir, Release: release, Channel: channel, Author: maintainer, Bot: &bot, Now: now})
	}
	if _, err := promote("2026.12.1", "stable"); err == nil || !strings.Contains(err.Error(),
		"cannot promote 2026.12.1 to stable: there is no vmtest evidence for it (evidence/2026.12.1/vmtest.json in the catalog folder)") {
		t.Errorf("promotion without evidence: %v", err)
	}
	images := catalogops.ReleaseImages(f.load())
	ev := catalogops.Evidence{Format: 1, Release: "2026.12.1", Result: "fail", Runner: "vmtest 0.1.0 on ci-7",
		Started: clock, Finished: clock.Add(41 * time.Minute),
		Scenarios: []catalogops.Scenario{
			{Name: "fresh-install", Result: "pass", Seconds: 812},
			{Name: "upgrade-from-2026.12.0", Result: "fail", Seconds: 903, Detail: "nextcloud answered 502 after the upgrade"},
		},
		Images: images}
	writeEvidence(t, f, ev)
	if _, err := promote("2026.12.1", "stable"); err == nil || !strings.Contains(err.Error(), "scenario upgrade-from-2026.12.0: fail: nextcloud answered 502 after the upgrade") {
		t.Errorf("promotion on failing evidence: %v", err)
	}
	ev.Result, ev.Scenarios[1].Result, ev.Scenarios[1].Detail = "pass", "pass", ""
	ev.Images = map[string]string{}
	for k, v := range images {
		ev.Images[k] = v
	}
	ev.Images["vaultwarden/server"] = f.srv.Host + "/test/vaultwarden:1.34.3@" + f.digests["test/vaultwarden:1.34.3"]
	writeEvidence(t, f, ev)
	if _, err := promote("2026.12.1", "stable"); err == nil || !strings.Contains(err.Error(), "vaultwarden/server: the test ran "+ev.Images["vaultwarden/server"]+" but the release pins "+images["vaultwarden/server"]) {
		t.Errorf("promotion on evidence of other images: %v", err)
	}
	if _, err := f.repo.Tag("channel/stable/2026.12.1"); err == nil {
		t.Fatal("a refused promotion left a tag")
	}
	ev.Images = images
	writeEvidence(t, f, ev)
	res, err := promote("2026.12.1", "stable")
	if err != nil {
		t.Fatalf("promotion on passing evidence: %v", err)
	}
	tag := assertAnnotatedTag(t, f.repo, "channel/stable/2026.12.1", r1.Commit)
	for _, want := range []string{"Promote catalog 2026.12.1 to stable", "Evidence: evidence/2026.12.1/vmtest.json sha256:" + res.SHA256,
		"VM test: pass, 2 scenarios in 41m0s", "upgrade-from-2026.12.0: pass (15m3s)", "Promoted-by: Maintainer <maintainer@example.org>", "Recorded-in: " + res.Record} {
		if !strings.Contains(tag.Message, want) {
			t.Errorf("the tag message lacks %q:\n%s", want, tag.Message)
		}
	}
	if head := f.head().String(); head != res.Record {
		t.Errorf("HEAD %s is not the promotion record %s", head, res.Record)
	}
	if msg := commitMessage(t, f.repo, res.Record); !strings.HasPrefix(msg, "catalog: promote 2026.12.1 to stable\n") {
		t.Errorf("record commit message:\n%s", msg)
	}
	if got := f.fileAt("HEAD", "catalog/channels.yaml"); !strings.Contains(got, "stable: \"2026.12.1\"\ntesting: \"2026.12.1\"\n") {
		t.Errorf("channels.yaml after the promotion:\n%s", got)
	}
	if got := f.fileAt("HEAD", "catalog/evidence/2026.12.1/vmtest.json"); !strings.Contains(got, `"result": "pass"`) {
		t.Errorf("the evidence was not committed with the promotion:\n%s", got)
	}
	if fmt.Sprint(bot.got) != fmt.Sprint([]catalogops.Promotion{{Release: "2026.12.1", Channel: "stable", Tag: "channel/stable/2026.12.1", Commit: r1.Commit}}) {
		t.Errorf("the update bot was told %+v", bot.got)
	}

	for _, tt := range []struct{ release, channel, err string }{
		{"2026.12.1", "stable", "cannot promote 2026.12.1 to stable: it is already on stable (tag channel/stable/2026.12.1)"},
		{"2026.12.0", "stable", "cannot promote 2026.12.0 to stable: stable already serves 2026.12.1, which is newer"},
		{"2026.12.7", "stable", "cannot promote 2026.12.7 to stable: there is no such release (no tag catalog/2026.12.7); releases: 2026.12.0, 2026.12.1"},
		{"2026.12.1", "testing", `releases can be promoted to stable only (they are cut on testing), not to "testing"`},
	} {
		if _, err := promote(tt.release, tt.channel); err == nil || err.Error() != tt.err {
			t.Errorf("promote %s to %s: %v\nwant: %s", tt.release, tt.channel, err, tt.err)
		}
	}
	if len(bot.got) != 1 {
		t.Errorf("the update bot was called for refused promotions: %+v", bot.got)
	}
	f.fsck()
}

// TestSignedRelease signs the release commit and tag with an OpenPGP key, in a repo whose
// root is the catalog folder.
func TestSignedRelease(t *testing.T) {
	f := newFixture(t, "")
	entity, err := openpgp.NewEntity("Maintainer", "", "maintainer@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, _ := armorPublic(&pub)
	entity.Serialize(w)
	w.Close()

	f.lock()
	who := maintainer
	who.SignKey = entity
	res, err := catalogops.CutRelease(catalogops.ReleaseOptions{Dir: f.dir, Date: time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), Author: who})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release != "2027.01.0" {
		t.Errorf("release %s, want 2027.01.0", res.Release)
	}
	tag := assertAnnotatedTag(t, f.repo, "catalog/2027.01.0", res.Commit)
	if _, err := tag.Verify(pub.String()); err != nil {
		t.Errorf("the tag's signature does not verify: %v", err)
	}
	c, _ := f.repo.CommitObject(plumbing.NewHash(res.Commit))
	if _, err := c.Verify(pub.String()); err != nil {
		t.Errorf("the commit's signature does not verify: %v", err)
	}
	if got := f.fileAt("catalog/2027.01.0", "release.yaml"); !strings.Contains(got, "release: 2027.01.0\n") {
		t.Errorf("release.yaml:\n%s", got)
	}
	f.fsck()
}

type recordingBot struct{ got []catalogops.Promotion }

func (b *recordingBot) Promoted(_ context.Context, p catalogops.Promotion) error {
	b.got = append(b.got, p)
	return nil
}

func writeEvidence(t *testing.T, f *fixture, ev catalogops.Evidence) {
	t.Helper()
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.dir, catalogops.EvidencePath(ev.Release))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertAnnotatedTag(t *testing.T, r *git.Repository, name, commit string) *object.Tag {
	t.Helper()
	ref, err := r.Tag(name)
	if err != nil {
		t.Fatalf("tag %s: %v", name, err)
	}
	tag, err := r.TagObject(ref.Hash())
	if err != nil {
		t.Fatalf("tag %s is not annotated: %v", name, err)
	}
	if tag.Target.String() != commit || tag.TargetType != plumbing.CommitObject {
		t.Errorf("tag %s names %s %s, want commit %s", name, tag.TargetType, tag.Target, commit)
	}
	if tag.Tagger.Name != maintainer.Name || tag.Tagger.Email != maintainer.Email {
		t.Errorf("tag %s was made by %s", name, tag.Tagger)
	}
	return tag
}

func commitMessage(t *testing.T, r *git.Repository, hash string) string {
	t.Helper()
	c, err := r.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	return c.Message
}

func mustWorktree(t *testing.T, r *git.Repository) *git.Worktree {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

func armorPublic(w io.Writer) (io.WriteCloser, error) {
	return armor.Encode(w, openpgp.PublicKeyType, nil)
}
