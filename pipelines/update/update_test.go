package update

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
)

type giteaPR struct {
	Number int    `json:"number"`
	State  string `json:"state"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	Merged bool   `json:"merged"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

type giteaComment struct {
	Body string `json:"body"`
}

// TestGitea runs the bot against a real Gitea: a release opens one pull request per
// changed site and none for an unchanged one, a second run changes nothing, a person's
// commit on the bot's branch is kept and commented on once, auto-merge merges when the
// required check passes, and a newer release closes the older pull request with a
// comment pointing at the new one.
func TestGitea(t *testing.T) {
	g := giteaCoop(t)
	ctx := context.Background()
	cat0 := catalog.Embedded()
	r1, r2 := bumpRelease(cat0.Release, 1), bumpRelease(cat0.Release, 2)
	dir1, cat1 := nextCatalog(t, r1, "vaultwarden", 1, true)
	dir2, cat2 := nextCatalog(t, r2, "vaultwarden", 2, false)
	clone := func(n string) string { return g.URL + "/coop/" + n + ".git" }
	// alpha, bravo: plain; charlie: already on r1 (nothing to change); delta: automerge;
	// echo: follows testing.
	for _, n := range []string{"alpha", "bravo", "charlie", "delta", "echo"} {
		if err := g.CreateRepo(ctx, "coop", n); err != nil {
			t.Fatal(err)
		}
		c := cat0
		if n == "charlie" {
			c = cat1
		}
		pushSite(t, clone(n), g.Token, siteYAML(t, "one-app", n, n == "delta"), c)
	}
	// delta's main requires the check nassella/plan, so auto-merge waits for it.
	if err := g.API(ctx, "POST", "/repos/coop/delta/branch_protections", map[string]any{
		"rule_name": "main", "enable_status_check": true, "status_check_contexts": []string{"nassella/plan"}}, nil); err != nil {
		t.Fatal(err)
	}
	site := func(n, ch string) fleet.Site {
		return fleet.Site{Name: n, Forge: "gitea", URL: g.URL, Repo: "coop/" + n, Channel: ch, TokenEnv: "GITEA_TOKEN"}
	}
	fl := &fleet.Fleet{Bot: fleet.DefaultBot, Sites: []fleet.Site{site("alpha", "stable"), site("bravo", "stable"),
		site("charlie", "stable"), site("delta", "stable"), site("echo", "testing")}}
	var progress bytes.Buffer
	run := func(cat *catalog.Release, dir string) map[string]Result {
		t.Helper()
		progress.Reset()
		res, err := Run(ctx, Options{Fleet: fl, Catalog: cat, CatalogDir: dir, Parallel: 3, Progress: &progress,
			Getenv: func(string) string { return g.Token }})
		var sum bytes.Buffer
		Summary(&sum, res)
		t.Logf("catalog %s:\n%s\n%s", cat.Release, progress.String(), sum.String())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(progress.String()+sum.String(), g.Token) {
			t.Fatal("the output shows the token")
		}
		return byName(res)
	}
	prs := func(n string) []giteaPR {
		t.Helper()
		var out []giteaPR
		if err := g.API(ctx, "GET", "/repos/coop/"+n+"/pulls?state=all&limit=50", nil, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	comments := func(n string, pr int) []giteaComment {
		t.Helper()
		var out []giteaComment
		if err := g.API(ctx, "GET", fmt.Sprintf("/repos/coop/%s/issues/%d/comments", n, pr), nil, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Release r1.
	res := run(cat1, dir1)
	for _, n := range []string{"alpha", "bravo", "delta"} {
		if res[n].Outcome != Opened {
			t.Errorf("%s: %s, want opened", n, res[n].Outcome)
		}
		if res[n].APICalls > 7 {
			t.Errorf("%s: %d API calls", n, res[n].APICalls)
		}
		p := prs(n)
		if len(p) != 1 || p[0].Head.Ref != BranchPrefix+r1 || len(p[0].Labels) != 1 || p[0].Labels[0].Name != Label {
			t.Fatalf("%s: pull requests %+v", n, p)
		}
		for _, want := range []string{"catalog " + r1, "from catalog " + cat0.Release,
			"| Vaultwarden | " + cat0.Apps["vaultwarden"].Version + " | " + cat1.Apps["vaultwarden"].Version + " | [release notes](https://github.com/dani-garcia/vaultwarden/releases/tag/" + cat1.Apps["vaultwarden"].Version + ")",
			"rebuilds the server", "Your data stays", "VM test **pass**ed", "upgrade-with-data: pass"} {
			if !strings.Contains(p[0].Body, want) {
				t.Errorf("%s: the body lacks %q:\n%s", n, want, p[0].Body)
			}
		}
	}
	if r := res["charlie"]; r.Outcome != Unchanged || r.APICalls != 0 || len(prs("charlie")) != 0 || remoteHead(t, clone("charlie"), g.Token, BranchPrefix+r1) != "" {
		t.Errorf("charlie (already on %s): %+v", r1, r)
	}
	if r := res["echo"]; r.Outcome != Skipped || len(prs("echo")) != 0 {
		t.Errorf("echo (testing): %+v", r)
	}
	if r := res["delta"]; r.AutoMerge != "scheduled" {
		t.Errorf("delta: auto-merge %q, want scheduled", r.AutoMerge)
	}

	// Again: nothing new.
	heads := map[string]string{}
	for _, n := range []string{"alpha", "bravo", "delta"} {
		heads[n] = remoteHead(t, clone(n), g.Token, BranchPrefix+r1)
	}
	res = run(cat1, dir1)
	for _, n := range []string{"alpha", "bravo"} {
		if r := res[n]; r.Outcome != UpToDate || r.Pushed || r.APICalls != 1 {
			t.Errorf("second run, %s: %+v", n, r)
		}
	}
	for _, n := range []string{"alpha", "bravo", "delta"} {
		if len(prs(n)) != 1 {
			t.Errorf("%s: a second pull request", n)
		}
		if h := remoteHead(t, clone(n), g.Token, BranchPrefix+r1); h != heads[n] {
			t.Errorf("%s: the branch moved on the second run", n)
		}
	}
	if r := res["delta"]; r.AutoMerge != "already-on" {
		t.Errorf("delta second run: auto-merge %q", r.AutoMerge)
	}

	// The required check passes: Gitea merges delta's pull request by itself.
	dp := prs("delta")[0]
	if err := g.API(ctx, "POST", "/repos/coop/delta/statuses/"+dp.Head.SHA, map[string]any{"state": "success", "context": "nassella/plan"}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !prs("delta")[0].Merged {
		if time.Now().After(deadline) {
			t.Fatal("delta's pull request was not merged 30 s after its check passed")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A person commits to bravo's bot branch: the bot keeps it and says so, once.
	human := humanCommit(t, clone("bravo"), g.Token, BranchPrefix+r1)
	for i := 0; i < 2; i++ {
		res = run(cat1, dir1)
		if r := res["bravo"]; r.Outcome != HumanHeld {
			t.Errorf("bravo with a person's commit: %+v", r)
		}
		if h := remoteHead(t, clone("bravo"), g.Token, BranchPrefix+r1); h != human {
			t.Fatalf("the bot overwrote the person's commit %s with %s", human, h)
		}
	}
	bp := prs("bravo")[0]
	if c := comments("bravo", bp.Number); len(c) != 1 || !strings.Contains(c[0].Body, "never overwrites") {
		t.Errorf("bravo's comments: %+v", c)
	}
	if r := res["delta"]; r.Outcome != Unchanged || r.APICalls != 0 {
		t.Errorf("delta after its merge: %+v", r)
	}

	// Release r2: new pull requests; the r1 ones are closed, pointing at them.
	res = run(cat2, dir2)
	for _, n := range []string{"alpha", "bravo", "delta"} {
		r := res[n]
		if r.Outcome != Opened {
			t.Errorf("%s on %s: %+v", n, r2, r)
			continue
		}
		all := prs(n)
		var open, closed []giteaPR
		for _, p := range all {
			if p.State == "open" {
				open = append(open, p)
			} else if !p.Merged {
				closed = append(closed, p)
			}
		}
		if len(open) != 1 || open[0].Head.Ref != BranchPrefix+r2 || !strings.Contains(open[0].Body, "from catalog "+map[bool]string{true: r1, false: cat0.Release}[n == "delta"]) {
			t.Errorf("%s: open pull requests %+v", n, open)
		}
		if n == "delta" {
			continue // its r1 pull request was merged
		}
		if len(closed) != 1 || len(r.Closed) != 1 || r.Closed[0] != closed[0].Number {
			t.Errorf("%s: closed %+v, result %+v", n, closed, r)
			continue
		}
		c := comments(n, closed[0].Number)
		if len(c) == 0 || !strings.Contains(c[len(c)-1].Body, fmt.Sprintf("Superseded by #%d", open[0].Number)) {
			t.Errorf("%s: the closed pull request's comments %+v", n, c)
		}
	}
	if r := res["alpha"]; r.APICalls > 6 {
		t.Errorf("alpha on %s: %d API calls (list, create, label, comment and close the old one)", r2, r.APICalls)
	}
	if h := remoteHead(t, clone("bravo"), g.Token, BranchPrefix+r1); h != human {
		t.Errorf("the person's commit on the old branch is gone")
	}
}

// bumpRelease is release YYYY.MM.N with N moved up by n.
func bumpRelease(r string, n int) string {
	var y, m, p int
	fmt.Sscanf(r, "%d.%d.%d", &y, &m, &p)
	return fmt.Sprintf("%04d.%02d.%d", y, m, p+n)
}
