package update

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/testenv/giteatest"
)

// TestGiteaWithdrawnServerType runs the bot against a real Gitea with the release the
// sites already have: a site on cx32 (withdrawn) gets a pull request whose only change
// to site.yaml is that value, saying so in plain words; a site on cx33 gets none; an
// os-only site on cx32 gets one too, changing site.yaml alone; a second run changes
// nothing.
func TestGiteaWithdrawnServerType(t *testing.T) {
	g := giteaCoop(t)
	ctx := context.Background()
	cat := catalog.Embedded()
	current := strings.Replace(string(siteYAML(t, "one-app", "current", false)), "{ location: hel1, server_type: cx23,", "{ location: nbg1, server_type: cx33,", 1)
	if !strings.Contains(current, "server_type: cx33") {
		t.Fatal("the one-app example no longer names its server type inline")
	}
	old := strings.Replace(strings.Replace(current, "name: current", "name: old", 1), "server_type: cx33", "server_type: cx32", 1)
	old = strings.Replace(old, "\nprovider:\n", "\n# the server we ordered in 2024\nprovider:\n", 1)
	oneoff := strings.Replace(strings.Replace(old, "name: old", "name: oneoff", 1), "\nupdates:\n", "\nupdates:\n  plan: os-only\n", 1)
	fl := &fleet.Fleet{Bot: fleet.DefaultBot, Sites: []fleet.Site{
		giteaSite(t, g, "current", []byte(current), cat),
		oldSite(t, g, "old", old, cat),
		oldSite(t, g, "oneoff", oneoff, cat),
	}}
	run := func() map[string]Result {
		t.Helper()
		var log bytes.Buffer
		res, err := Run(ctx, Options{Fleet: fl, Catalog: cat, Progress: &log, Getenv: func(string) string { return g.Token }})
		Summary(&log, res)
		t.Logf("catalog %s:\n%s", cat.Release, log.String())
		if err != nil {
			t.Fatal(err)
		}
		return byName(res)
	}
	res := run()
	if r := res["current"]; r.Outcome != Unchanged || r.PR != 0 {
		t.Errorf("site on cx33: %+v, want unchanged", r)
	}
	branch := BranchPrefix + cat.Release
	for _, n := range []string{"old", "oneoff"} {
		src := old
		if n == "oneoff" {
			src = oneoff
		}
		r := res[n]
		if r.Outcome != Opened || r.PR == 0 {
			t.Fatalf("site %s on cx32: %+v, want an opened pull request", n, r)
		}
		if got, want := string(branchFile(t, g, n, branch, "site.yaml")), strings.Replace(src, "server_type: cx32", "server_type: cx33", 1); got != want {
			t.Errorf("%s's site.yaml on the bot's branch:\n%s\nwant only the type changed:\n%s", n, got, want)
		}
		var pr giteaPR
		if err := g.API(ctx, "GET", "/repos/coop/"+n+"/pulls/"+strconv.Itoa(r.PR), nil, &pr); err != nil {
			t.Fatal(err)
		}
		words := "Your server type cx32 can no longer be ordered from Hetzner. This update moves your site to cx33, its successor: 8 GB of memory, enough for your apps. " +
			"Your server keeps running on cx32 until the next change rebuilds it; from then on it runs on cx33."
		if !strings.Contains(pr.Title, "server type cx32 → cx33") || !strings.Contains(pr.Body, words) || !strings.Contains(pr.Body, "see Hetzner's price list") {
			t.Errorf("%s's pull request %q does not say the move in plain words:\n%s", n, pr.Title, pr.Body)
		}
		if i := strings.Index(pr.Body, words); i > 400 {
			t.Errorf("%s: the move is said at character %d, want it near the top", n, i)
		}
	}
	// The os-only site's pull request changes nothing but site.yaml.
	if got, want := branchFile(t, g, "oneoff", branch, "terraform/site.auto.tfvars"), branchFile(t, g, "oneoff", "main", "terraform/site.auto.tfvars"); !bytes.Equal(got, want) {
		t.Errorf("the os-only site's generated files changed:\n%s", got)
	}
	if got := string(branchFile(t, g, "old", branch, "terraform/site.auto.tfvars")); !strings.Contains(got, `"cx33"`) {
		t.Errorf("the full site's generated files do not name cx33:\n%s", got)
	}
	// The os-only site's check regenerates its files on the bot's branch, as the bot
	// (nassella review regenerate); the bot's next run keeps that commit.
	regen := pushFileAs(t, g.URL+"/coop/oneoff.git", g.Token, branch, "terraform/site.auto.tfvars",
		[]byte(strings.Replace(string(branchFile(t, g, "oneoff", branch, "terraform/site.auto.tfvars")), `"cx32"`, `"cx33"`, 1)), fleet.DefaultBot)
	res = run()
	for _, n := range []string{"old", "oneoff"} {
		if res[n].Outcome != UpToDate || res[n].Pushed {
			t.Errorf("second run, %s: %+v, want %s", n, res[n], UpToDate)
		}
	}
	if h := remoteHead(t, g.URL+"/coop/oneoff.git", g.Token, branch); h != regen {
		t.Errorf("the os-only site's branch is at %s, want the check's commit %s", h, regen)
	}

	// A release that moves an app: the move rides on its pull request.
	r1 := bumpRelease(cat.Release, 1)
	dir1, cat1 := nextCatalog(t, r1, "vaultwarden", 1, false)
	var log bytes.Buffer
	out, err := Run(ctx, Options{Fleet: fl, Catalog: cat1, CatalogDir: dir1, Progress: &log, Getenv: func(string) string { return g.Token }})
	t.Logf("catalog %s:\n%s", r1, log.String())
	if err != nil {
		t.Fatal(err)
	}
	r := byName(out)["old"]
	var pr giteaPR
	if r.Outcome != Opened {
		t.Fatalf("old with catalog %s: %+v, want opened", r1, r)
	}
	if err := g.API(ctx, "GET", "/repos/coop/old/pulls/"+strconv.Itoa(r.PR), nil, &pr); err != nil {
		t.Fatal(err)
	}
	if want := "Vaultwarden " + cat1.Apps["vaultwarden"].Version + "); server type cx32 → cx33"; !strings.Contains(pr.Title, want) || !strings.Contains(pr.Body, "can no longer be ordered") {
		t.Errorf("title %q lacks %q, or the body the move:\n%s", pr.Title, want, pr.Body)
	}
	if got, want := string(branchFile(t, g, "old", BranchPrefix+r1, "site.yaml")), strings.Replace(old, "server_type: cx32", "server_type: cx33", 1); got != want {
		t.Errorf("old's site.yaml with catalog %s:\n%s", r1, got)
	}
}

// oldSite pushes a site generated while its (now withdrawn) server type was still sold:
// generated as cx33, with the generated files and site.yaml then naming cx32.
func oldSite(t *testing.T, g *giteatest.Server, name, siteData string, cat *catalog.Release) fleet.Site {
	t.Helper()
	s := giteaSite(t, g, name, []byte(strings.Replace(siteData, "server_type: cx32", "server_type: cx33", 1)), cat)
	clone := g.URL + "/coop/" + name + ".git"
	tfvars := strings.Replace(string(branchFile(t, g, name, "main", "terraform/site.auto.tfvars")), `"cx33"`, `"cx32"`, 1)
	pushFile(t, clone, g.Token, "main", "terraform/site.auto.tfvars", []byte(tfvars))
	pushFile(t, clone, g.Token, "main", "site.yaml", []byte(siteData))
	return s
}

// branchFile reads file on branch of coop/name.
func branchFile(t *testing.T, g *giteatest.Server, name, branch, file string) []byte {
	t.Helper()
	dir := t.TempDir()
	_, err := git.PlainClone(dir, false, &git.CloneOptions{URL: g.URL + "/coop/" + name + ".git", Auth: &githttp.BasicAuth{Username: "owner", Password: g.Token},
		ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
