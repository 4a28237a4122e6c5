package update

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// TestGitHub runs the bot against the GitHub simulator: pull requests opened with the
// changes and evidence, labelled, auto-merge on through GraphQL for the site that asks,
// secondary rate limits (403 and 429 with Retry-After) waited out, and a second run that
// only lists.
func TestGitHub(t *testing.T) {
	const token = "ghp_simulatedtokensimulatedtoken0001"
	sim, err := githubsim.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cat0 := catalog.Embedded()
	next := bumpRelease(cat0.Release, 7)
	dir, cat1 := nextCatalog(t, next, "vaultwarden", 1, true)
	for _, n := range []string{"alpha", "bravo"} {
		if err := sim.CreateRepo("coop", n); err != nil {
			t.Fatal(err)
		}
		pushSite(t, sim.URL+"/coop/"+n+".git", token, siteYAML(t, "one-app", n, n == "bravo"), cat0)
	}
	fl := &fleet.Fleet{Bot: fleet.DefaultBot, Sites: []fleet.Site{
		{Name: "alpha", Forge: "github", URL: sim.URL, Repo: "coop/alpha", Channel: "stable", TokenEnv: "GH_TOKEN"},
		{Name: "bravo", Forge: "github", URL: sim.URL, Repo: "coop/bravo", Channel: "stable", TokenEnv: "GH_TOKEN"},
	}}
	var mu sync.Mutex
	var slept []time.Duration
	var progress bytes.Buffer
	opts := Options{Fleet: fl, Catalog: cat1, CatalogDir: dir, Parallel: 1, Progress: &progress,
		Getenv: func(string) string { return token },
		Forge: forge.Options{Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			// go-github remembers a secondary limit and refuses to send before it ends,
			// so the wait is real.
			time.Sleep(d)
			return nil
		}}}
	sim.SecondaryLimit(403, 429)
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(slept) != 2 || slept[0] != time.Second || slept[1] != time.Second {
		t.Errorf("waits for the secondary limits: %v, want two of 1s (Retry-After)", slept)
	}
	r := byName(res)
	for _, n := range []string{"alpha", "bravo"} {
		if r[n].Outcome != Opened {
			t.Fatalf("%s: %+v", n, r[n])
		}
		prs := sim.PullRequests("coop", n)
		if len(prs) != 1 {
			t.Fatalf("%s: %d pull requests", n, len(prs))
		}
		p := prs[0]
		if p.Head.Ref != "nassella/catalog-"+next || p.Base.Ref != "main" || len(p.Labels) != 1 || p.Labels[0].Name != Label {
			t.Errorf("%s: pull request %+v", n, p)
		}
		for _, want := range []string{"catalog " + next, "| Vaultwarden | " + cat0.Apps["vaultwarden"].Version + " | " + cat1.Apps["vaultwarden"].Version + " |",
			"releases/tag/" + cat1.Apps["vaultwarden"].Version, "VM test **pass**ed", "fresh-install: pass", "Your data stays"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("%s: the body lacks %q:\n%s", n, want, p.Body)
			}
		}
		if (p.AutoMerge != nil) != (n == "bravo") {
			t.Errorf("%s: auto-merge %+v", n, p.AutoMerge)
		}
	}
	// alpha: list, create, labels = 3, plus the two refused lists; bravo: list, create,
	// labels and the GraphQL auto-merge = 4.
	if got := r["alpha"].APICalls; got != 5 {
		t.Errorf("alpha made %d API calls, want 5 (3 and 2 rate-limited)", got)
	}
	if got := r["bravo"].APICalls; got != 4 {
		t.Errorf("bravo made %d API calls, want 4", got)
	}
	if strings.Contains(progress.String(), token) {
		t.Error("the progress shows the token")
	}

	// A second run: no new commit, no new pull request, one call (the list) per site.
	heads := map[string]string{}
	for _, n := range []string{"alpha", "bravo"} {
		heads[n] = remoteHead(t, sim.URL+"/coop/"+n+".git", token, "nassella/catalog-"+next)
	}
	res, err = Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res {
		if x.Outcome != UpToDate || x.APICalls != 1 || x.Pushed {
			t.Errorf("second run, %s: %+v", x.Site, x)
		}
		if len(sim.PullRequests("coop", x.Site)) != 1 {
			t.Errorf("%s: a second pull request", x.Site)
		}
		if h := remoteHead(t, sim.URL+"/coop/"+x.Site+".git", token, "nassella/catalog-"+next); h != heads[x.Site] {
			t.Errorf("%s: the branch moved on the second run", x.Site)
		}
	}
	var sum bytes.Buffer
	Summary(&sum, res)
	if !strings.Contains(sum.String(), "2 sites: 2 up-to-date") {
		t.Errorf("summary:\n%s", sum.String())
	}
}
