package update

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
)

// TestGiteaPlans runs the bot against a real Gitea for two sites: one on the os-only plan
// gets no branch, no pull request and no API call, and the run says why and how far
// behind it is; after its owner changes the one line to plan: full, the next run of the
// same release opens its pull request.
func TestGiteaPlans(t *testing.T) {
	g := giteaCoop(t)
	ctx := context.Background()
	cat0 := catalog.Embedded()
	r1 := bumpRelease(cat0.Release, 1)
	dir1, cat1 := nextCatalog(t, r1, "vaultwarden", 1, false)
	clone := func(n string) string { return g.URL + "/coop/" + n + ".git" }
	osOnly := strings.Replace(string(siteYAML(t, "one-app", "oneoff", false)), "\nupdates:\n", "\nupdates:\n  plan: os-only\n", 1)
	fl := &fleet.Fleet{Bot: fleet.DefaultBot, Sites: []fleet.Site{
		giteaSite(t, g, "member", siteYAML(t, "one-app", "member", false), cat0),
		giteaSite(t, g, "oneoff", []byte(osOnly), cat0),
	}}
	run := func() (map[string]Result, string) {
		t.Helper()
		var log bytes.Buffer
		res, err := Run(ctx, Options{Fleet: fl, Catalog: cat1, CatalogDir: dir1, Progress: &log, Getenv: func(string) string { return g.Token }})
		Summary(&log, res)
		t.Logf("catalog %s:\n%s", r1, log.String())
		if err != nil {
			t.Fatal(err)
		}
		return byName(res), log.String()
	}
	openPRs := func(n string) []giteaPR {
		t.Helper()
		var out []giteaPR
		if err := g.API(ctx, "GET", "/repos/coop/"+n+"/pulls?state=open", nil, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	vw := cat0.Apps["vaultwarden"]
	behind := "plan os-only: " + vw.Title + " " + vw.Version + " here, " + cat1.Apps["vaultwarden"].Version + " available"

	res, log := run()
	if r := res["oneoff"]; r.Outcome != Skipped || r.Note != behind || r.APICalls != 0 || r.PR != 0 {
		t.Errorf("os-only site: %+v, want skipped with note %q and no API call", r, behind)
	}
	if !strings.Contains(log, "oneoff: skipped ("+behind+")") {
		t.Errorf("the run's log does not say why oneoff was skipped:\n%s", log)
	}
	if p := openPRs("oneoff"); len(p) != 0 || remoteHead(t, clone("oneoff"), g.Token, BranchPrefix+r1) != "" {
		t.Errorf("os-only site got a branch or pull requests: %+v", p)
	}
	if res["member"].Outcome != Opened || len(openPRs("member")) != 1 {
		t.Errorf("full site: %+v, want one opened pull request", res["member"])
	}

	// The owner moves to the full plan: one line of site.yaml, on main.
	pushFile(t, clone("oneoff"), g.Token, "main", "site.yaml", []byte(strings.Replace(osOnly, "plan: os-only", "plan: full", 1)))
	res, _ = run()
	if r := res["oneoff"]; r.Outcome != Opened || r.PR == 0 {
		t.Fatalf("after the switch to full: %+v, want an opened pull request", r)
	}
	p := openPRs("oneoff")
	if len(p) != 1 || p[0].Head.Ref != BranchPrefix+r1 || !strings.Contains(p[0].Title, "Vaultwarden "+cat1.Apps["vaultwarden"].Version) {
		t.Errorf("after the switch: pull requests %+v", p)
	}
	if res["member"].Outcome != UpToDate {
		t.Errorf("full site on the second run: %s, want %s", res["member"].Outcome, UpToDate)
	}
}
