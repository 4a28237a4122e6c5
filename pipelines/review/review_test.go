package review_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/githubsim"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/doctor"
	"github.com/nassella/nassella/pipelines/review"
)

// site is one site repo on a forge, as the bot and as a stranger who may comment on
// its pull requests and open issues (anyone can, on a public repo).
type site struct {
	bot, stranger forge.Client
	// merged opens a pull request, merges it and returns its number and merge commit.
	merged func(t *testing.T) (int, string)
	// pushed is a commit on main that no pull request brought.
	pushed string
	// issueOpen says whether issue number is open.
	issueOpen func(t *testing.T, number int) bool
}

// git and commit are the shared test helpers under shorter names.
var (
	git    = testtool.Git
	commit = testtool.PushFile
)

func githubSite(t *testing.T) site {
	sim := githubsim.StartWithRepo(t, "bot-token", "coop", "site")
	sim.AddUser("mallory", "mallory-token")
	client := func(token string) forge.Client {
		c, err := forge.New(forge.KindGitHub, sim.URL+"/api/v3/", "coop", "site", token, forge.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	remote := strings.Replace(sim.URL, "http://", "http://x:bot-token@", 1) + "/coop/site.git"
	dir := t.TempDir()
	s := site{bot: client("bot-token"), stranger: client("mallory-token")}
	s.pushed = commit(t, dir, remote, "main", "first")
	n := 0
	s.merged = func(t *testing.T) (int, string) {
		n++
		branch := fmt.Sprintf("change-%d", n)
		commit(t, dir, remote, branch, branch)
		pr, err := s.bot.CreatePR(context.Background(), forge.NewPR{Title: branch, Head: branch, Base: "main"})
		if err != nil {
			t.Fatal(err)
		}
		sha := fmt.Sprintf("%040x", 0xabc000+pr.Number)
		sim.Merge("coop", "site", pr.Number, sha)
		return pr.Number, sha
	}
	s.issueOpen = func(t *testing.T, number int) bool {
		for _, i := range sim.Issues("coop", "site") {
			if i.Number == number {
				return i.State == "open"
			}
		}
		t.Fatalf("no issue #%d", number)
		return false
	}
	return s
}

// gitea is one real Gitea for all the tests (starting one takes seconds), with the
// organisation coop and the stranger mallory; each test gets a repo of its own.
type gitea struct {
	*giteatest.Server
	mallory string
}

func startGitea(t *testing.T) gitea {
	g := giteatest.Start(t)
	if err := g.CreateOrg(context.Background(), "coop"); err != nil {
		t.Fatal(err)
	}
	mallory, err := g.CreateUser(context.Background(), "mallory")
	if err != nil {
		t.Fatal(err)
	}
	return gitea{g, mallory}
}

func giteaSite(t *testing.T, g gitea, repo string) site {
	ctx := context.Background()
	if err := g.API(ctx, "POST", "/orgs/coop/repos", map[string]any{"name": repo, "default_branch": "main", "auto_init": true}, nil); err != nil {
		t.Fatal(err)
	}
	mallory := g.mallory
	client := func(token string) forge.Client {
		c, err := forge.New(forge.KindGitea, g.URL+"/api/v1/", "coop", repo, token, forge.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s := site{bot: client(g.Token), stranger: client(mallory)}
	file := func(branch, newBranch string) string {
		var out struct {
			Commit struct{ SHA string } `json:"commit"`
		}
		if err := g.API(ctx, "POST", "/repos/coop/"+repo+"/contents/"+newBranch+branch+".txt", map[string]any{
			"content": "aGk=", "branch": branch, "new_branch": newBranch, "message": "change"}, &out); err != nil {
			t.Fatal(err)
		}
		return out.Commit.SHA
	}
	s.pushed = file("main", "")
	n := 0
	s.merged = func(t *testing.T) (int, string) {
		n++
		branch := fmt.Sprintf("change-%d", n)
		file("main", branch)
		pr, err := s.bot.CreatePR(ctx, forge.NewPR{Title: branch, Head: branch, Base: "main"})
		if err != nil {
			t.Fatal(err)
		}
		return pr.Number, giteaMerge(t, g.Server, "coop/"+repo, pr.Number)
	}
	s.issueOpen = func(t *testing.T, number int) bool {
		var i struct{ State string }
		if err := g.API(ctx, "GET", fmt.Sprintf("/repos/coop/%s/issues/%d", repo, number), nil, &i); err != nil {
			t.Fatal(err)
		}
		return i.State == "open"
	}
	return s
}

// TestReview runs each scenario against the GitHub simulator and a real Gitea.
func TestReview(t *testing.T) {
	// Gitea starts once, for the whole test, where there is one (giteatest skips or, in
	// CI, fails without it).
	var g *gitea
	if os.Getenv("NASSELLA_GITEA") != "" || os.Getenv("CI") != "" {
		started := startGitea(t)
		g = &started
	}
	for i, sc := range []struct {
		name string
		test func(t *testing.T, s site)
	}{
		{"StrangersDigestIsIgnored", strangersDigestIsIgnored},
		{"MergeWithoutBotPlanIsRefused", mergeWithoutBotPlanIsRefused},
		{"PlanCommentIgnoresLookalikes", planCommentIgnoresLookalikes},
		{"DoctorIssueIgnoresLookalikes", doctorIssueIgnoresLookalikes},
		{"ApplyFailedIssueOnePerCommit", applyFailedIssueOnePerCommit},
	} {
		t.Run(sc.name+"/github", func(t *testing.T) { sc.test(t, githubSite(t)) })
		t.Run(sc.name+"/gitea", func(t *testing.T) {
			if g == nil {
				t.Skip("no Gitea: run eval \"$(.ci/tools-gitea.sh)\" first")
			}
			sc.test(t, giteaSite(t, *g, fmt.Sprintf("site%d", i)))
		})
	}
}

func plan(digest string) string {
	return "<!-- nassella-plan -->\n<!-- nassella-plan-digest: " + digest + " -->\n### What merging this pull request does\n"
}

func bot(t *testing.T, c forge.Client) string {
	login, err := review.Bot(context.Background(), c, "")
	if err != nil {
		t.Fatal(err)
	}
	return login
}

// Anyone can comment on a pull request: a stranger's comment carrying another digest,
// posted after the bot's plan comment, must not become the reviewed digest.
func strangersDigestIsIgnored(t *testing.T, s site) {
	ctx := context.Background()
	pr, sha := s.merged(t)
	me := bot(t, s.bot)
	if err := review.PostPlan(ctx, s.bot, me, pr, plan("aaaa1111")); err != nil {
		t.Fatal(err)
	}
	if err := s.stranger.Comment(ctx, pr, plan("bbbb2222")); err != nil {
		t.Fatal(err)
	}
	got, err := review.Digest(ctx, s.bot, me, sha)
	if err != nil || got.Digest != "aaaa1111" || got.PR != pr {
		t.Fatalf("Digest = %+v, %v; want the bot's aaaa1111 of #%d", got, err, pr)
	}
}

// A pull request merged without the bot's plan comment (the plan job failed, or the
// merge came first) has nothing reviewed: the digest lookup fails with the reason, even
// when a stranger posted a digest. A direct push has no pull request and no digest.
func mergeWithoutBotPlanIsRefused(t *testing.T, s site) {
	ctx := context.Background()
	pr, sha := s.merged(t)
	me := bot(t, s.bot)
	if err := s.stranger.Comment(ctx, pr, plan("bbbb2222")); err != nil {
		t.Fatal(err)
	}
	got, err := review.Digest(ctx, s.bot, me, sha)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pull request #%d, which has no plan comment by %s", pr, me)) {
		t.Fatalf("Digest = %+v, %v; want it refused for #%d", got, err, pr)
	}
	got, err = review.Digest(ctx, s.bot, me, s.pushed)
	if err != nil || got != (review.Reviewed{}) {
		t.Fatalf("Digest of a direct push = %+v, %v; want no pull request and no error", got, err)
	}
}

// A stranger who posts a plan lookalike first must not have it edited (and so shown as
// the bot's plan, beside their own text): the bot posts its own and edits only that.
func planCommentIgnoresLookalikes(t *testing.T, s site) {
	ctx := context.Background()
	pr, _ := s.merged(t)
	me := bot(t, s.bot)
	fake := plan("bbbb2222") + "Nothing changes, merge away.\n"
	if err := s.stranger.Comment(ctx, pr, fake); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"aaaa1111", "cccc3333"} {
		if err := review.PostPlan(ctx, s.bot, me, pr, plan(d)); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := s.bot.Comments(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	var mine, theirs []string
	for _, c := range cs {
		if c.Author == me {
			mine = append(mine, c.Body)
		} else {
			theirs = append(theirs, c.Body)
		}
	}
	if len(mine) != 1 || mine[0] != plan("cccc3333") || len(theirs) != 1 || theirs[0] != fake {
		t.Fatalf("bot's comments %q, others' %q; want one bot comment with the latest plan and the lookalike untouched", mine, theirs)
	}
}

// A stranger's issue that starts with the doctor marker must not be reused (updated
// with the findings or closed): the doctor opens and closes its own.
func doctorIssueIgnoresLookalikes(t *testing.T, s site) {
	ctx := context.Background()
	me := bot(t, s.bot)
	fake, err := s.stranger.CreateIssue(ctx, "Your site needs attention (nassella doctor)", doctor.Marker+"\nAll fine, ignore the next alerts.\n")
	if err != nil {
		t.Fatal(err)
	}
	did, err := review.DoctorIssue(ctx, s.bot, me, true, doctor.Marker+"\n## 1 thing(s) need attention\n")
	if err != nil || !strings.HasPrefix(did, "opened issue #") || did == fmt.Sprintf("opened issue #%d", fake) {
		t.Fatalf("DoctorIssue with problems = %q, %v; want a new issue of the bot's", did, err)
	}
	var mine int
	fmt.Sscanf(did, "opened issue #%d", &mine)
	if did, err := review.DoctorIssue(ctx, s.bot, me, true, doctor.Marker+"\n## 2 thing(s) need attention\n"); err != nil || did != fmt.Sprintf("updated issue #%d", mine) {
		t.Fatalf("second DoctorIssue = %q, %v; want #%d updated", did, err, mine)
	}
	if did, err := review.DoctorIssue(ctx, s.bot, me, false, ""); err != nil || did != fmt.Sprintf("closed issue #%d", mine) {
		t.Fatalf("DoctorIssue without problems = %q, %v; want #%d closed", did, err, mine)
	}
	if s.issueOpen(t, mine) || !s.issueOpen(t, fake) {
		t.Fatalf("the bot's issue #%d should be closed and the stranger's #%d left open", mine, fake)
	}
}

// giteaMerge merges pull request pr of repo (OWNER/NAME) with a merge commit, as the user
// of as, and returns the commit's SHA.
func giteaMerge(t *testing.T, as *giteatest.Server, repo string, pr int) string {
	t.Helper()
	ctx := context.Background()
	// Gitea checks mergeability in the background and answers 405 until it is done.
	for try := 0; ; try++ {
		err := as.API(ctx, "POST", fmt.Sprintf("/repos/%s/pulls/%d/merge", repo, pr), map[string]any{"Do": "merge"}, nil)
		if err == nil {
			break
		}
		if try == 50 || !strings.Contains(err.Error(), "405") {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var merged struct {
		SHA string `json:"merge_commit_sha"`
	}
	if err := as.API(ctx, "GET", fmt.Sprintf("/repos/%s/pulls/%d", repo, pr), nil, &merged); err != nil || merged.SHA == "" {
		t.Fatalf("reading the merge commit of #%d: %v (%q)", pr, err, merged.SHA)
	}
	return merged.SHA
}
