package review_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	sitemodel "github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/githubsim"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
	"github.com/nassella/nassella/pipelines/review"
)

// regenSiteYAML is the owner's site; its server type is on line 10, its first app on line 15.
const regenSiteYAML = `version: 1
name: coop
domain: coop.example
admin:
  email: it@coop.example
  ssh_keys:
    - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL it@coop"
provider:
  hetzner:
    server_type: cx33
    location: fsn1
    volume_gb: 20
dns: { hetzner: {} }
apps:
  vaultwarden: {}
backups:
  schedule: "daily 02:00"
  keep: { daily: 10 }
  target:
    s3: { bucket: coop-backups, endpoint: "https://fsn1.your-objectstorage.com" }
updates:
  timezone: Europe/Vienna
  window: "Sat 02:00"
  channel: stable
`

// withApp is the site with app added on line 16.
func withApp(app string) string {
	return strings.Replace(regenSiteYAML, "  vaultwarden: {}\n", "  vaultwarden: {}\n  "+app+": {}\n", 1)
}

var botAuthor = gitx.Identity{Name: fleet.DefaultBot.Name, Email: fleet.DefaultBot.Email}

// siteForge is one site repo on a forge, as its owner (who edits files the way the
// forge's web editor commits them), the bot, and a stranger with a fork see it.
type siteForge struct {
	gitea              bool
	repo               string // OWNER/NAME
	bot                forge.Client
	botLogin, botToken string
	// edit commits content to path on branch as the owner, making the branch from main
	// when it does not exist yet.
	edit func(t *testing.T, branch, path, content string)
	// open opens a pull request from branch as the owner.
	open func(t *testing.T, branch string) int
	// forkPR opens a stranger's pull request from a branch of a fork, whose site.yaml is
	// content.
	forkPR func(t *testing.T, content string) int
	// merge merges a pull request as the owner with a merge commit and returns its SHA.
	merge func(t *testing.T, pr int) string
}

// generatedSite is the generated repo of siteYAML, by path, site.yaml included.
func generatedSite(t *testing.T, siteYAML string) map[string][]byte {
	t.Helper()
	return generatedSiteOf(t, siteYAML, catalog.Embedded())
}

// generatedSiteOf is generatedSite from the catalog release cat.
func generatedSiteOf(t *testing.T, siteYAML string, cat *catalog.Release) map[string][]byte {
	t.Helper()
	l, err := sitemodel.Load("site.yaml", []byte(siteYAML), cat)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"site.yaml": []byte(siteYAML)}
	for _, p := range tr.Paths() {
		f, _ := tr.Get(p)
		out[p] = f.Data
	}
	return out
}

// pushMain pushes files (a generated site) as the owner's first commit of main.
func pushMain(t *testing.T, url, user, token string, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "my site")
	git(t, dir, "push", "-q", strings.Replace(url, "://", "://"+user+":"+token+"@", 1), "main")
}

func githubForge(t *testing.T, name string) siteForge {
	s, _ := githubForgeSim(t, name)
	return s
}

// githubForgeSim is githubForge with the simulator itself.
func githubForgeSim(t *testing.T, name string) (siteForge, *githubsim.Server) {
	return githubForgeOf(t, name, generatedSite(t, regenSiteYAML))
}

// githubForgeOf is githubForgeSim with files as the repo's first commit.
func githubForgeOf(t *testing.T, name string, files map[string][]byte) (siteForge, *githubsim.Server) {
	sim, err := githubsim.Start("bot-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddUser("owner", "owner-token")
	sim.AddUser("mallory", "mallory-token")
	if err := sim.CreateRepo("owner", name); err != nil {
		t.Fatal(err)
	}
	client := func(token string) forge.Client {
		c, err := forge.New(forge.KindGitHub, sim.URL+"/api/v3/", "owner", name, token, forge.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	url := sim.URL + "/owner/" + name + ".git"
	pushMain(t, url, "owner", "owner-token", files)
	// The owner's edits: a commit per file on a clone, pushed.
	edit := func(t *testing.T, url, token, branch, path, content string) {
		dir := t.TempDir()
		remote := strings.Replace(url, "://", "://x:"+token+"@", 1)
		git(t, dir, "init", "-q")
		git(t, dir, "fetch", "-q", remote, "main")
		git(t, dir, "checkout", "-q", "-B", branch, "FETCH_HEAD")
		if out, err := gitOut(dir, "fetch", "-q", remote, branch); err == nil {
			git(t, dir, "reset", "-q", "--hard", "FETCH_HEAD")
		} else if !strings.Contains(out, "couldn't find remote ref") {
			t.Fatalf("git fetch %s: %s", branch, out)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "add", path)
		git(t, dir, "commit", "-q", "-m", "Update "+path)
		git(t, dir, "push", "-q", remote, branch)
	}
	owner := client("owner-token")
	return siteForge{repo: "owner/" + name, bot: client("bot-token"), botLogin: sim.Login, botToken: "bot-token",
		edit: func(t *testing.T, branch, path, content string) { edit(t, url, "owner-token", branch, path, content) },
		open: func(t *testing.T, branch string) int {
			pr, err := owner.CreatePR(context.Background(), forge.NewPR{Title: "My change", Head: branch, Base: "main"})
			if err != nil {
				t.Fatal(err)
			}
			return pr.Number
		},
		forkPR: func(t *testing.T, content string) int {
			if err := sim.Fork("owner", name, "mallory"); err != nil {
				t.Fatal(err)
			}
			edit(t, sim.URL+"/mallory/"+name+".git", "mallory-token", "my-idea", "site.yaml", content)
			pr, err := client("mallory-token").CreatePR(context.Background(), forge.NewPR{Title: "An idea", Head: "mallory:my-idea", Base: "main"})
			if err != nil {
				t.Fatal(err)
			}
			return pr.Number
		},
		// The simulator has no merge button: the merge commit is made with git and pushed,
		// then the simulator records the pull request as merged by the owner.
		merge: func(t *testing.T, pr int) string {
			info, err := owner.PullRequest(context.Background(), pr)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			remote := strings.Replace(url, "://", "://x:owner-token@", 1)
			git(t, dir, "init", "-q")
			git(t, dir, "fetch", "-q", remote, "main")
			git(t, dir, "checkout", "-q", "-B", "main", "FETCH_HEAD")
			git(t, dir, "fetch", "-q", remote, info.Head)
			git(t, dir, "merge", "-q", "--no-ff", "-m", fmt.Sprintf("Merge pull request #%d", pr), "FETCH_HEAD")
			git(t, dir, "push", "-q", remote, "main")
			sha := strings.TrimSpace(mustGitOut(t, dir, "rev-parse", "HEAD"))
			sim.MergeAs("owner", name, pr, sha, "owner")
			return sha
		},
	}, sim
}

// giteaUsers is one real Gitea with the site's owner, the bot and a stranger.
type giteaUsers struct {
	*giteatest.Server
	owner, bot, stranger string // tokens
}

func startGiteaUsers(t *testing.T) giteaUsers {
	g := giteaUsers{Server: giteatest.Start(t)}
	ctx := context.Background()
	for login, tok := range map[string]*string{"owner": &g.owner, "nassella-bot": &g.bot, "mallory": &g.stranger} {
		var err error
		if *tok, err = g.CreateUser(ctx, login); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// webEdit commits content to path of owner/name on branch as the forge's web editor
// does, through the contents API (PUT /repos/{owner}/{repo}/contents/{filepath} with sha
// to change a file, POST to add one; new_branch makes the branch from main:
// routers/api/v1/api.go, modules/structs/repo_file.go).
func webEdit(t *testing.T, g *giteatest.Server, owner, name, branch, path, content string) {
	t.Helper()
	ctx := context.Background()
	in := map[string]any{"content": base64.StdEncoding.EncodeToString([]byte(content)), "message": "Update " + path}
	from := branch
	if err := g.API(ctx, "GET", fmt.Sprintf("/repos/%s/%s/branches/%s", owner, name, branch), nil, nil); err != nil {
		from = "main"
		in["branch"], in["new_branch"] = "main", branch
	} else {
		in["branch"] = branch
	}
	var cur struct {
		SHA string `json:"sha"`
	}
	method := "PUT"
	if err := g.API(ctx, "GET", fmt.Sprintf("/repos/%s/%s/contents/%s?ref=%s", owner, name, path, from), nil, &cur); err != nil {
		method = "POST"
	}
	in["sha"] = cur.SHA
	if err := g.API(ctx, method, fmt.Sprintf("/repos/%s/%s/contents/%s", owner, name, path), in, nil); err != nil {
		t.Fatal(err)
	}
}

func giteaForge(t *testing.T, g giteaUsers, name string) siteForge {
	return giteaForgeOf(t, g, name, generatedSite(t, regenSiteYAML))
}

// giteaForgeOf is giteaForge with files as the repo's first commit.
func giteaForgeOf(t *testing.T, g giteaUsers, name string, files map[string][]byte) siteForge {
	ctx := context.Background()
	owner := g.As(g.owner)
	// As the admin: the owner's token may not create repos (scope write:user).
	if err := g.API(ctx, "POST", "/admin/users/owner/repos", map[string]any{"name": name, "default_branch": "main"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.API(ctx, "PUT", "/repos/owner/"+name+"/collaborators/nassella-bot", map[string]any{"permission": "write"}, nil); err != nil {
		t.Fatal(err)
	}
	pushMain(t, g.URL+"/owner/"+name+".git", "owner", g.owner, files)
	// Gitea marks a repo as no longer empty after the first push in the background; until
	// then its contents API fails (a nil dereference in Gitea 1.26).
	for try := 0; ; try++ {
		var r struct{ Empty bool }
		if err := g.API(ctx, "GET", "/repos/owner/"+name, nil, &r); err != nil {
			t.Fatal(err)
		}
		if !r.Empty {
			break
		}
		if try == 100 {
			t.Fatal("the repo stays empty after the push")
		}
		time.Sleep(50 * time.Millisecond)
	}
	bot, err := forge.New(forge.KindForgejo, g.URL+"/api/v1/", "owner", name, g.bot, forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	openPR := func(t *testing.T, as *giteatest.Server, head string) int {
		var pr struct{ Number int }
		if err := as.API(ctx, "POST", "/repos/owner/"+name+"/pulls", map[string]any{"head": head, "base": "main", "title": "My change"}, &pr); err != nil {
			t.Fatal(err)
		}
		return pr.Number
	}
	return siteForge{gitea: true, repo: "owner/" + name, bot: bot, botLogin: "nassella-bot", botToken: g.bot,
		edit: func(t *testing.T, branch, path, content string) {
			webEdit(t, owner, "owner", name, branch, path, content)
		},
		open: func(t *testing.T, branch string) int { return openPR(t, owner, branch) },
		forkPR: func(t *testing.T, content string) int {
			if err := g.Fork(ctx, g.stranger, "owner", name); err != nil {
				t.Fatal(err)
			}
			webEdit(t, g.As(g.stranger), "mallory", name, "my-idea", "site.yaml", content)
			return openPR(t, g.As(g.stranger), "mallory:my-idea")
		},
		merge: func(t *testing.T, pr int) string { return giteaMerge(t, owner, "owner/"+name, pr) },
	}
}

// TestRegenerate runs each scenario on the GitHub simulator and on a real Gitea.
func TestRegenerate(t *testing.T) {
	var g *giteaUsers
	if os.Getenv("NASSELLA_GITEA") != "" || os.Getenv("CI") != "" {
		started := startGiteaUsers(t)
		g = &started
	}
	for i, sc := range []struct {
		name string
		test func(t *testing.T, s siteForge)
	}{
		{"OwnerEditIsCommittedByTheBot", ownerEditIsCommittedByTheBot},
		{"MistakeGetsALineNote", mistakeGetsALineNote},
		{"MistakeOutsideTheDiff", mistakeOutsideTheDiff},
		{"HumanCommitIsNotOverwritten", humanCommitIsNotOverwritten},
		{"ForkGetsAComment", forkGetsAComment},
	} {
		t.Run(sc.name+"/github", func(t *testing.T) { sc.test(t, githubForge(t, "site")) })
		t.Run(sc.name+"/gitea", func(t *testing.T) {
			if g == nil {
				t.Skip("no Gitea: run eval \"$(.ci/tools-gitea.sh)\" first")
			}
			sc.test(t, giteaForge(t, *g, fmt.Sprintf("site%d", i)))
		})
	}
}

// runJob does what the workflow's step does: check out the pull request's head branch
// and run nassella review regenerate on it. It returns the checkout.
func runJob(t *testing.T, s siteForge, pr int) (string, review.Regenerated, error) {
	t.Helper()
	ctx := context.Background()
	info, err := s.bot.PullRequest(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	dir := checkout(t, info.HeadCloneURL, info.Head, s.botToken)
	res, err := review.Regenerate(ctx, review.RegenerateOptions{Forge: s.bot, Repo: s.repo, Bot: s.botLogin, PR: pr, Dir: dir,
		Author: botAuthor, Token: s.botToken})
	if err != nil && strings.Contains(err.Error(), s.botToken) {
		t.Fatal("the error shows the token")
	}
	return dir, res, err
}

// checkout does what actions/checkout does with ref set to branch, fetch-depth 1 and
// persist-credentials off: a shallow fetch of the branch into a new repo whose origin
// holds no token.
func checkout(t *testing.T, url, branch, token string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", url)
	git(t, dir, "fetch", "-q", "--depth=1", strings.Replace(url, "://", "://x:"+token+"@", 1),
		"+refs/heads/"+branch+":refs/remotes/origin/"+branch)
	git(t, dir, "checkout", "-q", "-B", branch, "refs/remotes/origin/"+branch)
	return dir
}

func refusal(t *testing.T, err error, reason string) *review.Refusal {
	t.Helper()
	var r *review.Refusal
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("err = %v; want a refusal for %s", err, reason)
	}
	return r
}

// botComment is the bot's regenerate comment on pr ("" without one), checking there is
// at most one.
func botComment(t *testing.T, s siteForge, pr int) string {
	t.Helper()
	cs, err := s.bot.Comments(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, c := range cs {
		if c.Author == s.botLogin && strings.HasPrefix(c.Body, review.RegenerateMarker) {
			mine = append(mine, c.Body)
		}
	}
	if len(mine) > 1 {
		t.Fatalf("the bot posted %d regenerate comments, want one kept up to date", len(mine))
	}
	if len(mine) == 0 {
		return ""
	}
	return mine[0]
}

func botNotes(t *testing.T, s siteForge, pr int) []forge.LineNote {
	t.Helper()
	ns, err := s.bot.LineNotes(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	var mine []forge.LineNote
	for _, n := range ns {
		if n.Author == s.botLogin && strings.HasPrefix(n.Body, review.NoteMarker) {
			mine = append(mine, n)
		}
	}
	return mine
}

// The owner adds an app to site.yaml only, in the web editor, and opens a pull request:
// the job commits the regenerated files to the branch as the bot (one commit, only
// generated paths), the result validates, and (on Gitea, with OpenTofu) its plan is
// posted in plain words. The next run finds nothing to do.
func ownerEditIsCommittedByTheBot(t *testing.T, s siteForge) {
	ctx := context.Background()
	s.edit(t, "add-nextcloud", "site.yaml", withApp("nextcloud"))
	pr := s.open(t, "add-nextcloud")
	start := time.Now()
	_, res, err := runJob(t, s, pr)
	if err != nil || res.Outcome != review.OutcomeCommitted {
		t.Fatalf("regenerate: %+v, %v", res, err)
	}
	t.Logf("regenerated in %s", time.Since(start).Round(time.Millisecond))
	want := generatedSite(t, withApp("nextcloud"))
	commits, err := s.bot.PRCommits(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 2 || commits[1].SHA != res.Commit || commits[1].AuthorEmail != botAuthor.Email {
		t.Fatalf("commits %+v; want the owner's and then the bot's %s", commits, res.Commit)
	}
	if files := slices.Sorted(slices.Values(commits[1].Files)); len(files) == 0 || !slices.Equal(files, res.Paths) {
		t.Errorf("the bot's commit changed %v, regenerate said %v", commits[1].Files, res.Paths)
	}
	for _, f := range commits[1].Files {
		if _, gen := want[f]; !gen || f == "site.yaml" {
			t.Errorf("the bot's commit changed %s, which nassella does not generate", f)
		}
	}
	if !slices.Contains(commits[1].Files, "apps/nextcloud/compose.yaml") {
		t.Errorf("the bot's commit lacks the new app's files: %v", commits[1].Files)
	}
	info, err := s.bot.PullRequest(ctx, pr)
	if err != nil || info.HeadSHA != res.Commit {
		t.Fatalf("the pull request's head is %s (%v), want the bot's commit %s", info.HeadSHA, err, res.Commit)
	}

	// The check of the new head: the workflow's next run.
	dir, again, err := runJob(t, s, pr)
	if err != nil || again.Outcome != review.OutcomeUpToDate {
		t.Fatalf("the second run: %+v, %v; want nothing to do", again, err)
	}
	tofu := ""
	if s.gitea {
		tofu = testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	}
	if rep := validate.Repo(ctx, dir, siterepo.Options{}, validate.Options{Tofu: tofu}); !rep.OK() {
		t.Fatalf("validate of the bot's head: %v", rep.Err())
	}
	if botComment(t, s, pr) != "" {
		t.Error("a regenerate comment was posted where nothing went wrong")
	}
	if !s.gitea {
		return
	}
	start = time.Now()
	hcloudsim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")
	t.Setenv("TF_IN_AUTOMATION", "1")
	p, err := deploy.MakePlan(ctx, deploy.Env{AllowUnverified: true, Dir: dir, Tofu: tofu, Catalog: catalog.Embedded()}, filepath.Join(t.TempDir(), "tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	if err := review.PostPlan(ctx, s.bot, s.botLogin, pr, deploy.Summarize(p).Markdown(p)); err != nil {
		t.Fatal(err)
	}
	t.Logf("planned and posted in %s", time.Since(start).Round(time.Millisecond))
	cs, err := s.bot.Comments(ctx, pr)
	if err != nil || len(cs) != 1 || cs[0].Author != s.botLogin || !strings.HasPrefix(cs[0].Body, deploy.CommentMarker) ||
		!strings.Contains(cs[0].Body, "Your server will be created") {
		t.Fatalf("comments %+v (%v); want the bot's plan in plain words", cs, err)
	}
}

// A mistake in site.yaml gets a note on its line, by the bot, with what to change; the
// next push replaces it instead of adding another, and fixing it removes it.
func mistakeGetsALineNote(t *testing.T, s siteForge) {
	s.edit(t, "add-app", "site.yaml", withApp("nextclod"))
	pr := s.open(t, "add-app")
	for run := 0; run < 2; run++ {
		_, _, err := runJob(t, s, pr)
		r := refusal(t, err, review.RefusedMistakes)
		if !strings.Contains(r.Text, `line 16:** there is no app "nextclod"`) {
			t.Errorf("the refusal does not name the line: %s", r.Text)
		}
		notes := botNotes(t, s, pr)
		if len(notes) != 1 || notes[0].Path != "site.yaml" || notes[0].Line != 16 ||
			!strings.Contains(notes[0].Body, `"nextclod"`) || !strings.Contains(notes[0].Body, `What to change: did you mean "nextcloud"?`) {
			t.Fatalf("run %d: the bot's notes %+v; want one on site.yaml line 16 saying what to change", run, notes)
		}
		if c := botComment(t, s, pr); !strings.Contains(c, "Your site.yaml needs a change") {
			t.Errorf("the bot's comment: %q", c)
		}
	}
	// Another mistake, on another line: the old note goes.
	s.edit(t, "add-app", "site.yaml", strings.Replace(regenSiteYAML, "server_type: cx33", "server_type: cx999", 1))
	_, _, err := runJob(t, s, pr)
	refusal(t, err, review.RefusedMistakes)
	if notes := botNotes(t, s, pr); len(notes) != 1 || notes[0].Line != 10 {
		t.Fatalf("after the second mistake the bot's notes are %+v; want one, on line 10", notes)
	}
	// Fixed: no note is left, and the comment says all is well.
	s.edit(t, "add-app", "site.yaml", withApp("nextcloud"))
	if _, res, err := runJob(t, s, pr); err != nil || res.Outcome != review.OutcomeCommitted {
		t.Fatalf("after the fix: %+v, %v", res, err)
	}
	if notes := botNotes(t, s, pr); len(notes) != 0 {
		t.Errorf("notes left after the fix: %+v", notes)
	}
	if c := botComment(t, s, pr); !strings.Contains(c, "The generated files are up to date") {
		t.Errorf("the bot's comment after the fix: %q", c)
	}
}

// A mistake reported on a line the pull request does not change (removing dns: is
// reported on line 1): Gitea notes it there; GitHub takes notes only on lines of the
// diff, so the bot's comment names the line instead.
func mistakeOutsideTheDiff(t *testing.T, s siteForge) {
	s.edit(t, "no-dns", "site.yaml", strings.Replace(regenSiteYAML, "dns: { hetzner: {} }\n", "", 1))
	pr := s.open(t, "no-dns")
	_, _, err := runJob(t, s, pr)
	refusal(t, err, review.RefusedMistakes)
	notes, comment := botNotes(t, s, pr), botComment(t, s, pr)
	if s.gitea {
		if len(notes) != 1 || notes[0].Line != 1 || !strings.Contains(notes[0].Body, "dns") {
			t.Errorf("Gitea: the bot's notes %+v; want one on line 1", notes)
		}
		return
	}
	if len(notes) != 0 || !strings.Contains(comment, "**line 1 (a line this pull request does not change, so it has no note):** dns") {
		t.Errorf("GitHub: notes %+v, comment %q; want the mistake in the comment only", notes, comment)
	}
}

// A person who changed a generated file on the branch keeps the change: the bot refuses,
// naming the commit and the file, and pushes nothing.
func humanCommitIsNotOverwritten(t *testing.T, s siteForge) {
	ctx := context.Background()
	s.edit(t, "tweak", "terraform/variables.tf", "# my own change\n")
	s.edit(t, "tweak", "site.yaml", withApp("nextcloud"))
	pr := s.open(t, "tweak")
	before, err := s.bot.PullRequest(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	commits, err := s.bot.PRCommits(ctx, pr)
	if err != nil || len(commits) != 2 {
		t.Fatalf("commits %+v, %v", commits, err)
	}
	_, _, err = runJob(t, s, pr)
	r := refusal(t, err, review.RefusedHuman)
	for _, want := range []string{"commit " + commits[0].SHA[:12], "changed terraform/variables.tf", "regenerate locally with nassella generate, or drop that commit"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("the refusal lacks %q: %s", want, r.Text)
		}
	}
	if c := botComment(t, s, pr); !strings.Contains(c, r.Text) {
		t.Errorf("the bot's comment %q does not say %q", c, r.Text)
	}
	if after, _ := s.bot.PullRequest(ctx, pr); after.HeadSHA != before.HeadSHA {
		t.Errorf("the branch moved from %s to %s: the bot pushed", before.HeadSHA, after.HeadSHA)
	}
}

// A fork's pull request: the bot may not push there, so it says on the pull request what
// to do instead, and the job fails with the same words.
func forkGetsAComment(t *testing.T, s siteForge) {
	pr := s.forkPR(t, withApp("nextcloud"))
	for run := 0; run < 2; run++ {
		_, _, err := runJob(t, s, pr)
		r := refusal(t, err, review.RefusedFork)
		if !strings.Contains(r.Text, "comes from a fork (mallory/") || !strings.Contains(r.Text, "edit site.yaml there") {
			t.Errorf("the refusal: %s", r.Text)
		}
		if c := botComment(t, s, pr); !strings.Contains(c, r.Text) {
			t.Errorf("the bot's comment %q does not say %q", c, r.Text)
		}
	}
}

// A push that lost a race (the branch moved on after the checkout) is refused as moved,
// not forced.
func TestRegenerateBranchMoved(t *testing.T) {
	s := githubForge(t, "site")
	ctx := context.Background()
	s.edit(t, "change", "site.yaml", withApp("nextcloud"))
	pr := s.open(t, "change")
	info, err := s.bot.PullRequest(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	dir := checkout(t, info.HeadCloneURL, info.Head, s.botToken)
	s.edit(t, "change", "README.md", "my notes\n")
	_, err = review.Regenerate(ctx, review.RegenerateOptions{Forge: s.bot, Repo: s.repo, Bot: s.botLogin, PR: pr, Dir: dir, Author: botAuthor, Token: s.botToken})
	refusal(t, err, review.RefusedMoved)
}

// gitOut runs git in dir and returns its combined output.
func gitOut(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	return string(out), err
}
