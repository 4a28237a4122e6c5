package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/githubsim"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
	"github.com/nassella/nassella/pipelines/update"
)

func window(t *testing.T, spec, tz string) deploy.Window {
	t.Helper()
	w, err := deploy.ParseWindow(site.Updates{Window: spec, Timezone: tz})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func at(t *testing.T, tz, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The window is one hour from its start in the site's timezone: its edges, a window
// crossing midnight, the week wrapping round, the days the clocks change, and a time
// given in another zone.
func TestWindowNext(t *testing.T) {
	const berlin = "Europe/Berlin"
	for _, c := range []struct {
		name, spec, tz string
		now            time.Time
		open           bool
		start          time.Time
	}{
		{"at the start", "Sun 03:00", berlin, at(t, berlin, "2026-12-06 03:00"), true, at(t, berlin, "2026-12-06 03:00")},
		{"inside", "Sun 03:00", berlin, at(t, berlin, "2026-12-06 03:59"), true, at(t, berlin, "2026-12-06 03:00")},
		{"at the end: next week", "Sun 03:00", berlin, at(t, berlin, "2026-12-06 04:00"), false, at(t, berlin, "2026-12-13 03:00")},
		{"a minute before", "Sun 03:00", berlin, at(t, berlin, "2026-12-06 02:59"), false, at(t, berlin, "2026-12-06 03:00")},
		{"the day before", "Sun 03:00", berlin, at(t, berlin, "2026-12-05 03:30"), false, at(t, berlin, "2026-12-06 03:00")},
		{"the day after", "Sun 03:00", berlin, at(t, berlin, "2026-12-07 03:30"), false, at(t, berlin, "2026-12-13 03:00")},
		{"crossing midnight, before it", "Sat 23:30", berlin, at(t, berlin, "2026-12-05 23:45"), true, at(t, berlin, "2026-12-05 23:30")},
		{"crossing midnight, after it", "Sat 23:30", berlin, at(t, berlin, "2026-12-06 00:15"), true, at(t, berlin, "2026-12-05 23:30")},
		{"crossing midnight, ended", "Sat 23:30", berlin, at(t, berlin, "2026-12-06 00:30"), false, at(t, berlin, "2026-12-12 23:30")},
		{"the week wraps round", "Mon 08:00", berlin, at(t, berlin, "2026-12-06 12:00"), false, at(t, berlin, "2026-12-07 08:00")},
		// Summer time starts: 02:00 becomes 03:00, so a 02:30 window starts at 03:30 and
		// lasts an hour of real time.
		{"skipped hour", "Sun 02:30", berlin, at(t, berlin, "2026-03-29 03:45"), true, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"skipped hour, before", "Sun 02:30", berlin, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), false, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		// Summer time ends: 02:30 happens twice; the window is the second.
		{"repeated hour, first", "Sun 02:30", berlin, time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC), false, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		{"repeated hour, second", "Sun 02:30", berlin, time.Date(2026, 10, 25, 1, 45, 0, 0, time.UTC), true, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		// The same instant is inside in one timezone and outside in another.
		{"UTC site", "Sun 03:00", "UTC", at(t, berlin, "2026-12-06 03:30"), false, time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)},
		{"New York site", "Sat 21:00", "America/New_York", at(t, berlin, "2026-12-06 03:30"), true, at(t, "America/New_York", "2026-12-05 21:00")},
	} {
		t.Run(c.name, func(t *testing.T) {
			start, open := window(t, c.spec, c.tz).Next(c.now)
			if open != c.open || !start.Equal(c.start) {
				t.Errorf("%s %s at %s: got start %s open %v, want %s open %v", c.spec, c.tz, c.now, start, open, c.start, c.open)
			}
		})
	}
	if got := window(t, "Sun 03:00", berlin).String(); got != "Sun 03:00 Europe/Berlin" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []site.Updates{{Window: "Sunday 3am", Timezone: berlin}, {Window: "Sun 03:00", Timezone: "Mars/Olympus"}, {Window: "Sun 03:00"}} {
		if _, err := deploy.ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%+v) took it", bad)
		}
	}
}

func plan(changes ...deploy.Change) *deploy.Plan {
	return &deploy.Plan{Changes: changes}
}

var (
	rebuild = deploy.Change{Address: "hcloud_server.host", Type: "hcloud_server", Action: "replace"}
	resize  = deploy.Change{Address: "hcloud_server.host", Type: "hcloud_server", Action: "update"}
	create  = deploy.Change{Address: "hcloud_server.host", Type: "hcloud_server", Action: "create"}
	record  = deploy.Change{Address: "hcloud_zone_rrset.app", Type: "hcloud_zone_rrset", Action: "create"}
)

// Only the update bot's own merge of a change that restarts the server waits, and only
// outside the window.
func TestWait(t *testing.T) {
	w := window(t, "Sun 03:00", "Europe/Berlin")
	outside, inside := at(t, "Europe/Berlin", "2026-12-03 14:00"), at(t, "Europe/Berlin", "2026-12-06 03:20")
	bot, person := deploy.Merge{PR: 7, By: "nassella-bot", Bot: true}, deploy.Merge{PR: 8, By: "owner"}
	for _, c := range []struct {
		name  string
		p     *deploy.Plan
		m     deploy.Merge
		now   time.Time
		waits bool
	}{
		{"bot, rebuild, outside", plan(rebuild, record), bot, outside, true},
		{"bot, resize, outside", plan(resize), bot, outside, true},
		{"bot, rebuild, inside", plan(rebuild), bot, inside, false},
		{"bot, nothing restarts", plan(record), bot, outside, false},
		{"bot, first server", plan(create, record), bot, outside, false},
		{"person, rebuild, outside", plan(rebuild), person, outside, false},
		{"direct push, rebuild", plan(rebuild), deploy.Merge{}, outside, false},
	} {
		until, waits := deploy.Wait(c.p, c.m, w, c.now)
		if waits != c.waits {
			t.Errorf("%s: waits %v, want %v", c.name, waits, c.waits)
		}
		if waits && !until.Equal(at(t, "Europe/Berlin", "2026-12-06 03:00")) {
			t.Errorf("%s: waits until %s", c.name, until)
		}
	}
}

// The plan comment says when a merge applies, in the owner's words.
func TestTiming(t *testing.T) {
	s := &site.Loaded{Site: &site.Site{Updates: site.Updates{Window: "Sun 03:00", Timezone: "Europe/Berlin", Automerge: true}}}
	for _, c := range []struct {
		name string
		p    *deploy.Plan
		auto bool
		want string
	}{
		{"rebuild, automerge", plan(rebuild), true, "Merged by you: applied at once. Merged automatically by the update bot: applied in the next maintenance window, Sun 03:00 Europe/Berlin."},
		{"rebuild, no automerge", plan(rebuild), false, "Applied as soon as you merge it."},
		{"nothing restarts", plan(record), true, "Applied as soon as it is merged."},
	} {
		s.Updates.Automerge = c.auto
		c.p.Site = s
		if got := deploy.Timing(c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := deploy.Timing(plan(rebuild)); got != "" {
		t.Errorf("without a site: %q", got)
	}
}

// The apply workflow and the update bot agree on what a bot branch is.
func TestUpdateBranchPrefix(t *testing.T) {
	if forge.UpdateBranchPrefix != update.BranchPrefix {
		t.Errorf("deploy takes %q for the bot's branches, the bot uses %q", forge.UpdateBranchPrefix, update.BranchPrefix)
	}
}

// mergeSite is a site repo on a forge where the bot and a person open and merge pull
// requests.
type mergeSite struct {
	repo   string
	bot    forge.Client
	pushed string // a commit on main no pull request brought
	// merge opens a pull request from branch as the bot and merges it as the bot or the
	// person; it returns the number and the merge commit.
	merge func(t *testing.T, branch string, byBot bool) (int, string)
}

// Who merged: the bot's own merge of its update branch is the bot's; a person's merge of
// it, the bot's merge of another branch and a direct push are a person's.
func TestWhoMerged(t *testing.T) {
	check := func(t *testing.T, s mergeSite) {
		ctx := context.Background()
		for _, c := range []struct {
			branch string
			byBot  bool
			bot    bool
		}{
			{update.BranchPrefix + "2026.12.0", true, true},
			{update.BranchPrefix + "2026.12.1", false, false},
			{"owner-edit", true, false},
		} {
			pr, sha := s.merge(t, c.branch, c.byBot)
			m, err := deploy.WhoMerged(ctx, s.bot, s.repo, sha)
			if err != nil {
				t.Fatal(err)
			}
			if m.PR != pr || m.Bot != c.bot || m.By == "" {
				t.Errorf("%s merged by the bot %v: %+v, want pull request #%d, bot %v", c.branch, c.byBot, m, pr, c.bot)
			}
		}
		m, err := deploy.WhoMerged(ctx, s.bot, s.repo, s.pushed)
		if err != nil || m != (deploy.Merge{}) {
			t.Errorf("a direct push: %+v, %v", m, err)
		}
	}
	t.Run("github", func(t *testing.T) { check(t, githubMergeSite(t)) })
	t.Run("gitea", func(t *testing.T) { check(t, giteaMergeSite(t)) })
}

func githubMergeSite(t *testing.T) mergeSite {
	sim := githubsim.StartWithRepo(t, "bot-token", "coop", "site")
	sim.AddUser("owner", "owner-token")
	c, err := forge.New(forge.KindGitHub, sim.URL+"/api/v3/", "coop", "site", "bot-token", forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	remote := strings.Replace(sim.URL, "http://", "http://x:bot-token@", 1) + "/coop/site.git"
	dir := t.TempDir()
	s := mergeSite{repo: "coop/site", bot: c, pushed: testtool.PushFile(t, dir, remote, "main", "first")}
	n := 0
	s.merge = func(t *testing.T, branch string, byBot bool) (int, string) {
		testtool.PushFile(t, dir, remote, branch, fmt.Sprintf("change-%d", n))
		n++
		pr, err := c.CreatePR(context.Background(), forge.NewPR{Title: branch, Head: branch, Base: "main"})
		if err != nil {
			t.Fatal(err)
		}
		sha := fmt.Sprintf("%040x", 0xdef000+pr.Number)
		who := "owner"
		if byBot {
			who = sim.Login
		}
		sim.MergeAs("coop", "site", pr.Number, sha, who)
		return pr.Number, sha
	}
	return s
}

func giteaMergeSite(t *testing.T) mergeSite {
	ctx := context.Background()
	g := giteatest.Start(t)
	owner, err := g.CreateUser(ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.API(ctx, "POST", "/user/repos", map[string]any{"name": "site", "default_branch": "main", "auto_init": true}, nil); err != nil {
		t.Fatal(err)
	}
	repo := giteatest.AdminUser + "/site"
	if err := g.API(ctx, "PUT", "/repos/"+repo+"/collaborators/owner", map[string]any{"permission": "write"}, nil); err != nil {
		t.Fatal(err)
	}
	c, err := forge.New(forge.KindGitea, g.URL+"/api/v1/", giteatest.AdminUser, "site", g.Token, forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	file := func(branch, newBranch string) string {
		var out struct {
			Commit struct{ SHA string } `json:"commit"`
		}
		name := strings.ReplaceAll(newBranch, "/", "-") + fmt.Sprint(time.Now().UnixNano()) + ".txt"
		if err := g.API(ctx, "POST", "/repos/"+repo+"/contents/"+name, map[string]any{
			"content": "aGk=", "branch": branch, "new_branch": newBranch, "message": "change"}, &out); err != nil {
			t.Fatal(err)
		}
		return out.Commit.SHA
	}
	s := mergeSite{repo: repo, bot: c, pushed: file("main", "")}
	s.merge = func(t *testing.T, branch string, byBot bool) (int, string) {
		file("main", branch)
		pr, err := c.CreatePR(ctx, forge.NewPR{Title: branch, Head: branch, Base: "main"})
		if err != nil {
			t.Fatal(err)
		}
		merger := g.As(owner)
		if byBot {
			merger = g
		}
		sha, err := merger.Merge(ctx, repo, pr.Number)
		if err != nil {
			t.Fatal(err)
		}
		return pr.Number, sha
	}
	return s
}
