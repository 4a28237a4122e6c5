package update

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// strangerForge is a forge holding the site repo coop/alpha (on catalog cat0, with
// automerge) for the bot, a fork of it by the user mallory, and mallory as a
// collaborator who may push to the site repo itself.
type strangerForge struct {
	site     fleet.Site
	botToken string
	botLogin string
	// push pushes a commit of mallory's to branches of the fork, or of the site repo.
	push func(fork bool, branches ...string)
	// open is mallory opening a pull request from head (BRANCH or mallory:BRANCH).
	open func(head string) int
	prs  func() []seenPR
}

// seenPR is a pull request as the forge shows it.
type seenPR struct {
	Number                    int
	Author, Head, Title, Body string
	Open, Merged, AutoMerge   bool
	Labels, Comments          int
}

// testStrangersPRs: pull requests by mallory whose branches are named like the bot's —
// from her fork for this release, an older and a newer one, and from the site repo
// itself for a newer one — are not the bot's. The bot opens its own pull request, never
// edits, labels, auto-merges, comments on or closes hers, and does not stop for the
// "newer" ones.
func testStrangersPRs(t *testing.T, f strangerForge, release string, cat *catalog.Release, catDir string) {
	f.push(true, BranchPrefix+"2099.12.1", BranchPrefix+release, BranchPrefix+"2000.01.1")
	f.push(false, BranchPrefix+"2099.12.2")
	theirs := map[int]string{} // mallory's pull requests' heads, by number
	open := func(heads ...string) {
		for _, h := range heads {
			theirs[f.open(h)] = h
		}
	}
	fl := &fleet.Fleet{Bot: fleet.DefaultBot, Sites: []fleet.Site{f.site}}
	opts := Options{Fleet: fl, Catalog: cat, CatalogDir: catDir, Getenv: func(string) string { return f.botToken }}
	// First this release's and an older one's, then the newer ones.
	open("mallory:"+BranchPrefix+release, "mallory:"+BranchPrefix+"2000.01.1")
	for run, want := range []string{Opened, UpToDate} {
		if run == 1 {
			open("mallory:"+BranchPrefix+"2099.12.1", BranchPrefix+"2099.12.2")
		}
		res, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if r := res[0]; r.Outcome != want || r.PR == 0 || theirs[r.PR] != "" || len(r.Closed) != 0 || (run == 0) != (r.AutoMerge == forge.AutoMergeScheduled) {
			t.Fatalf("run %d: %+v; want %s, with the bot's own pull request and auto-merge scheduled on the first run (mallory's: %v)", run+1, r, want, theirs)
		}
		prs := f.prs()
		if len(prs) != len(theirs)+1 {
			t.Fatalf("run %d: %d pull requests, want mallory's %d and the bot's: %+v", run+1, len(prs), len(theirs), prs)
		}
		for _, p := range prs {
			h, isTheirs := theirs[p.Number]
			if !isTheirs {
				if p.Number != res[0].PR || p.Author != f.botLogin || p.Head != BranchPrefix+release || p.Labels != 1 || !p.Open {
					t.Errorf("run %d: the bot's pull request %+v", run+1, p)
				}
				continue
			}
			if p.Author != "mallory" || !p.Open || p.Merged || p.AutoMerge || p.Title != "mallory's "+h || p.Body != "by mallory" || p.Labels != 0 || p.Comments != 0 {
				t.Errorf("run %d: the bot touched mallory's pull request #%d (%s): %+v", run+1, p.Number, h, p)
			}
		}
	}
}

func TestGitHubStrangersPRs(t *testing.T) {
	const token, strangerToken = "ghp_simulatedtokensimulatedtoken0003", "ghp_strangerstokenstrangerstoken0004"
	sim, err := githubsim.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.AddUser("mallory", strangerToken)
	cat0 := catalog.Embedded()
	next := bumpRelease(cat0.Release, 1)
	dir, cat1 := nextCatalog(t, next, "vaultwarden", 1, false)
	if err := sim.CreateRepo("coop", "alpha"); err != nil {
		t.Fatal(err)
	}
	pushSite(t, sim.URL+"/coop/alpha.git", token, siteYAML(t, "one-app", "alpha", true), cat0)
	if err := sim.Fork("coop", "alpha", "mallory"); err != nil {
		t.Fatal(err)
	}
	stranger, err := forge.New(forge.KindGitHub, sim.URL+"/api/v3/", "coop", "alpha", strangerToken, forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testStrangersPRs(t, strangerForge{
		site:     fleet.Site{Name: "alpha", Forge: "github", URL: sim.URL, Repo: "coop/alpha", Channel: "stable", TokenEnv: "GH_TOKEN"},
		botToken: token, botLogin: sim.Login,
		push: func(fork bool, branches ...string) {
			pushBranches(t, sim.URL+map[bool]string{true: "/mallory", false: "/coop"}[fork]+"/alpha.git", strangerToken, branches...)
		},
		open: func(head string) int {
			pr, err := stranger.CreatePR(context.Background(), forge.NewPR{Title: "mallory's " + head, Body: "by mallory", Head: head, Base: "main"})
			if err != nil {
				t.Fatal(err)
			}
			return pr.Number
		},
		prs: func() []seenPR {
			var out []seenPR
			for _, p := range sim.PullRequests("coop", "alpha") {
				out = append(out, seenPR{Number: p.Number, Author: p.User.Login, Head: p.Head.Ref, Title: p.Title, Body: p.Body,
					Open: p.State == "open", AutoMerge: p.AutoMerge != nil, Labels: len(p.Labels), Comments: len(p.Comments)})
			}
			return out
		},
	}, next, cat1, dir)
}

func TestGiteaStrangersPRs(t *testing.T) {
	g := giteaCoop(t)
	ctx := context.Background()
	if err := g.CreateRepo(ctx, "coop", "alpha"); err != nil {
		t.Fatal(err)
	}
	cat0 := catalog.Embedded()
	r1 := bumpRelease(cat0.Release, 1)
	dir1, cat1 := nextCatalog(t, r1, "vaultwarden", 1, false)
	pushSite(t, g.URL+"/coop/alpha.git", g.Token, siteYAML(t, "one-app", "alpha", true), cat0)
	// main requires a check, so the bot's auto-merge waits instead of merging at once.
	if err := g.API(ctx, "POST", "/repos/coop/alpha/branch_protections", map[string]any{
		"rule_name": "main", "enable_status_check": true, "status_check_contexts": []string{"nassella/plan"}}, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := g.CreateUser(ctx, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Fork(ctx, tok, "coop", "alpha"); err != nil {
		t.Fatal(err)
	}
	if err := g.API(ctx, "PUT", "/repos/coop/alpha/collaborators/mallory", map[string]any{"permission": "write"}, nil); err != nil {
		t.Fatal(err)
	}
	testStrangersPRs(t, strangerForge{
		site:     fleet.Site{Name: "alpha", Forge: "gitea", URL: g.URL, Repo: "coop/alpha", Channel: "stable", TokenEnv: "GITEA_TOKEN"},
		botToken: g.Token, botLogin: g.User,
		push: func(fork bool, branches ...string) {
			pushBranches(t, g.URL+map[bool]string{true: "/mallory", false: "/coop"}[fork]+"/alpha.git", tok, branches...)
		},
		open: func(head string) int {
			var pr giteaPR
			if err := g.As(tok).API(ctx, "POST", "/repos/coop/alpha/pulls", map[string]any{"head": head, "base": "main", "title": "mallory's " + head, "body": "by mallory"}, &pr); err != nil {
				t.Fatal(err)
			}
			return pr.Number
		},
		prs: func() []seenPR {
			var prs []struct {
				giteaPR
				User struct {
					Login string `json:"login"`
				} `json:"user"`
			}
			if err := g.API(ctx, "GET", "/repos/coop/alpha/pulls?state=all&limit=50", nil, &prs); err != nil {
				t.Fatal(err)
			}
			var out []seenPR
			for _, p := range prs {
				var cs []giteaComment
				if err := g.API(ctx, "GET", fmt.Sprintf("/repos/coop/alpha/issues/%d/comments", p.Number), nil, &cs); err != nil {
					t.Fatal(err)
				}
				// Gitea does not show a scheduled auto-merge; Merged shows one that ran.
				out = append(out, seenPR{Number: p.Number, Author: p.User.Login, Head: p.Head.Ref, Title: p.Title, Body: p.Body,
					Open: p.State == "open", Merged: p.Merged, Labels: len(p.Labels), Comments: len(cs)})
			}
			return out
		},
	}, r1, cat1, dir1)
}

func TestBotPRs(t *testing.T) {
	pr := func(n int, release, repo, author string) forge.PR {
		return forge.PR{Number: n, Head: BranchPrefix + release, HeadRepo: repo, Author: author}
	}
	prs := []forge.PR{
		pr(1, "2026.11.1", "coop/site", "bot"),
		pr(2, "2099.12.1", "mallory/site", "bot"), // a fork: never the bot's
		pr(3, "2026.12.1", "mallory/site", "mallory"),
		pr(4, "2026.12.1", "Coop/Site", "Bot"),
		pr(5, "2099.12.1", "coop/site", "mallory"),
		pr(6, "2026.10.1", "", "bot"), // its fork is gone
		pr(7, "2026.12.1", "coop/site", "mallory"),
	}
	o := botPRs(prs, "coop/site", "bot", "2026.12.1")
	if o.mine == nil || o.mine.Number != 4 || o.newer != nil || o.taken == nil || o.taken.Number != 7 || len(o.older) != 1 || o.older[0].Number != 1 {
		t.Errorf("%+v", o)
	}
}

// pushBranches pushes a commit on top of main of the repo at cloneURL to each branch.
func pushBranches(t testing.TB, cloneURL, token string, branches ...string) {
	t.Helper()
	dir := t.TempDir()
	auth := &githttp.BasicAuth{Username: "someone", Password: token}
	repo, err := git.PlainClone(dir, false, &git.CloneOptions{URL: cloneURL, Auth: auth, ReferenceName: "refs/heads/main", SingleBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("a stranger's change\n"), 0o644)
	wt, _ := repo.Worktree()
	wt.Add("NOTES.md")
	sig := &object.Signature{Name: "Stranger", Email: "stranger@elsewhere.example", When: time.Now()}
	h, err := wt.Commit("a change", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	var specs []config.RefSpec
	for _, b := range branches {
		specs = append(specs, config.RefSpec(h.String()+":refs/heads/"+b))
	}
	if err := repo.Push(&git.PushOptions{Auth: auth, RefSpecs: specs}); err != nil {
		t.Fatalf("pushing %v to %s: %v", branches, cloneURL, err)
	}
}
