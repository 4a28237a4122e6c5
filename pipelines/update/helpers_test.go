package update

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// siteYAML is the one-app example (Vaultwarden) renamed, optionally with automerge.
func siteYAML(t testing.TB, example, name string, automerge bool) []byte {
	t.Helper()
	data, ok := examples.Get(example)
	if !ok {
		t.Fatalf("no example %s", example)
	}
	s := string(data)
	i := strings.Index(s, "\nname: ")
	j := strings.Index(s[i+1:], "\n")
	s = s[:i+1] + "name: " + name + s[i+1+j:]
	s = strings.Replace(s, "\n  automerge: true", "", 1)
	s = strings.Replace(s, "\n  automerge: false", "", 1)
	if automerge {
		s = strings.Replace(s, "\nupdates:\n", "\nupdates:\n  automerge: true\n", 1)
	}
	return []byte(s)
}

// nextCatalog copies the built-in catalog's files into a folder as release, with app's
// version moved up by bump patch versions (tag, version, changelog alike), and, when
// evidence is set, a passing vmtest record.
func nextCatalog(t testing.TB, release, app string, bump int, withEvidence bool) (string, *catalog.Release) {
	t.Helper()
	src := filepath.Join("..", "..", "catalog")
	dir := t.TempDir()
	base := catalog.Embedded()
	old := base.Apps[app].Version
	var maj, min, pat int
	if _, err := fmt.Sscanf(old, "%d.%d.%d", &maj, &min, &pat); err != nil {
		t.Fatalf("version %s of %s: %v", old, app, err)
	}
	nv := fmt.Sprintf("%d.%d.%d", maj, min, pat+bump)
	files, _ := filepath.Glob(filepath.Join(src, "apps", "*.yaml"))
	files = append(files, filepath.Join(src, "release.yaml"))
	for _, f := range files {
		rel, _ := filepath.Rel(src, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if rel == "release.yaml" {
			s = strings.Replace(s, "release: "+base.Release, "release: "+release, 1)
		}
		if rel == filepath.Join("apps", app+".yaml") {
			s = strings.ReplaceAll(s, old, nv)
		}
		out := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(out), 0o755)
		if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if withEvidence {
		ev := catalogops.Evidence{Format: 1, Release: release, Result: "pass", Runner: "vmtest (test fixture)",
			Started: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC),
			Scenarios: []catalogops.Scenario{{Name: "fresh-install", Result: "pass", Seconds: 612}, {Name: "upgrade-with-data", Result: "pass", Seconds: 845}}}
		data, _ := json.MarshalIndent(ev, "", "  ")
		p := filepath.Join(dir, filepath.FromSlash(catalogops.EvidencePath(release)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		t.Fatalf("the next catalog does not load: %v", err)
	}
	if cat.Apps[app].Version != nv {
		t.Fatalf("bump failed: %s is %s", app, cat.Apps[app].Version)
	}
	return dir, cat
}

// generateInto writes the files generated from site.yaml's text with cat into dir and
// returns the loaded site.
func generateInto(t testing.TB, dir string, siteData []byte, cat *catalog.Release) *site.Loaded {
	t.Helper()
	l, err := site.Load("site.yaml", siteData, cat)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Write(dir, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

// pushSite generates a site with cat and pushes it as the first commit of main.
func pushSite(t testing.TB, cloneURL, token string, siteData []byte, cat *catalog.Release) {
	t.Helper()
	dir := t.TempDir()
	generateInto(t, dir, siteData, cat)
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), siteData, 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Site Owner", Email: "owner@site.example", When: time.Now()}
	if _, err := wt.Commit("my site", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{cloneURL}}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{RemoteName: "origin", Auth: &githttp.BasicAuth{Username: "owner", Password: token},
		RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatalf("pushing the site to %s: %v", cloneURL, err)
	}
}

// humanCommit adds a commit by a person on top of branch.
func humanCommit(t testing.TB, cloneURL, token, branch string) string {
	t.Helper()
	return pushFile(t, cloneURL, token, branch, "NOTES.md", []byte("my own notes\n"))
}

// pushFile commits file with data as a person on top of branch and pushes it.
func pushFile(t testing.TB, cloneURL, token, branch, file string, data []byte) string {
	t.Helper()
	return pushFileAs(t, cloneURL, token, branch, file, data, fleet.Bot{Name: "Site Owner", Email: "owner@site.example"})
}

// pushFileAs is pushFile with the commit made by who.
func pushFileAs(t testing.TB, cloneURL, token, branch, file string, data []byte, who fleet.Bot) string {
	t.Helper()
	dir := t.TempDir()
	auth := &githttp.BasicAuth{Username: "owner", Password: token}
	repo, err := git.PlainClone(dir, false, &git.CloneOptions{URL: cloneURL, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(file)), data, 0o644)
	wt, _ := repo.Worktree()
	wt.Add(file)
	sig := &object.Signature{Name: who.Name, Email: who.Email, When: time.Now()}
	h, err := wt.Commit("my "+file, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{Auth: auth}); err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// remoteHead is the commit a branch points at on the server ("" when it does not exist).
func remoteHead(t testing.TB, cloneURL, token, branch string) string {
	t.Helper()
	rem := git.NewRemote(nil, &config.RemoteConfig{Name: "origin", URLs: []string{cloneURL}})
	refs, err := rem.List(&git.ListOptions{Auth: &githttp.BasicAuth{Username: "owner", Password: token}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Name() == plumbing.NewBranchReferenceName(branch) {
			return r.Hash().String()
		}
	}
	return ""
}

func byName(rs []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range rs {
		m[r.Site] = r
	}
	return m
}

// giteaCoop starts a real Gitea with the organisation coop that holds the test sites.
func giteaCoop(t *testing.T) *giteatest.Server {
	t.Helper()
	g := giteatest.Start(t)
	if err := g.CreateOrg(context.Background(), "coop"); err != nil {
		t.Fatal(err)
	}
	return g
}

// giteaSite creates coop/name on g, pushes the site generated from siteData with cat to
// it, and returns its fleet entry (stable channel, token in GITEA_TOKEN).
func giteaSite(t *testing.T, g *giteatest.Server, name string, siteData []byte, cat *catalog.Release) fleet.Site {
	t.Helper()
	if err := g.CreateRepo(context.Background(), "coop", name); err != nil {
		t.Fatal(err)
	}
	pushSite(t, g.URL+"/coop/"+name+".git", g.Token, siteData, cat)
	return fleet.Site{Name: name, Forge: "gitea", URL: g.URL, Repo: "coop/" + name, Channel: "stable", TokenEnv: "GITEA_TOKEN"}
}
