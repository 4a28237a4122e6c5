package review_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/actrunner"
	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// The generated plan workflow, run for real: act runs the site repo's own
// .forgejo/workflows/nassella-plan.yml against a real Gitea and
// .github/workflows/nassella-plan.yml against the GitHub simulator, in the CI image built
// from this checkout. A pull request that breaks site.yaml fails the check, with the
// annotation on the line a runner turns into a note, and the bot's note on that line;
// the secrets never show in the runner's log.
func TestPlanWorkflowUnderAct(t *testing.T) {
	runner := actrunner.Start(t)
	g := startGiteaUsers(t)

	t.Run("gitea", func(t *testing.T) {
		s := giteaForge(t, g, "acted")
		brokenPRFailsTheCheck(t, runner, s, actrunner.Job{
			Workflow:  ".forgejo/workflows/nassella-plan.yml",
			ServerURL: g.URL,
			Secrets:   map[string]string{"NASSELLA_FORGE_TOKEN": g.bot, "GITHUB_TOKEN": g.owner},
		})
	})
	t.Run("github", func(t *testing.T) {
		sim, s := githubSiteForge(t, "acted")
		brokenPRFailsTheCheck(t, runner, s, actrunner.Job{
			Workflow:  ".github/workflows/nassella-plan.yml",
			ServerURL: sim.URL,
			APIURL:    sim.URL + "/api/v3",
			Secrets:   map[string]string{"NASSELLA_FORGE_TOKEN": "bot-token", "GITHUB_TOKEN": "actions-token"},
		})
	})
}

func brokenPRFailsTheCheck(t *testing.T, runner *actrunner.Runner, s siteForge, j actrunner.Job) {
	s.edit(t, "add-app", "site.yaml", withApp("nextclod"))
	pr := s.open(t, "add-app")
	j.Dir, j.Event, j.Payload = prClone(t, s, j.ServerURL, pr)
	res := runner.Run(t, j)
	if !res.Failed {
		t.Errorf("the check passed on a site.yaml with a mistake:\n%s", res.Log)
	}
	// The runner got the annotation on site.yaml line 16 (act prints the workflow command
	// it parsed; GitHub and Forgejo make it a note on the line).
	if !regexp.MustCompile(`::error file=site\.yaml,line=16[^:]*::[^\n]*nextclod`).MatchString(res.Log) {
		t.Errorf("no annotation on site.yaml line 16 in the runner's log:\n%s", res.Log)
	}
	if !strings.Contains(res.Log, "stand-in checkout: "+s.repo) {
		t.Errorf("the checkout stand-in did not run:\n%s", res.Log)
	}
	notes := botNotes(t, s, pr)
	if len(notes) != 1 || notes[0].Path != "site.yaml" || notes[0].Line != 16 || !strings.Contains(notes[0].Body, "nextclod") {
		t.Errorf("the bot's notes after the run: %+v; want one on site.yaml line 16", notes)
	}
	if c := botComment(t, s, pr); !strings.Contains(c, "Your site.yaml needs a change") {
		t.Errorf("the bot's comment: %q", c)
	}
	noSecrets(t, res.Log, j.Secrets)

	// Fixed on the branch: the next run's first step commits the regenerated files to it
	// as the bot, pushing from inside the job's container, and the note goes. (The steps
	// after it need a site on a real domain with state and a cloud to plan against, which
	// this test does not set up; they are not asserted here.)
	s.edit(t, "add-app", "site.yaml", withApp("nextcloud"))
	j.Dir, j.Event, j.Payload = prClone(t, s, j.ServerURL, pr)
	res = runner.Run(t, j)
	if !strings.Contains(res.Log, "✅  Success - Main Update the generated files") {
		t.Fatalf("after the fix the regenerate step failed:\n%s", res.Log)
	}
	commits, err := s.bot.PRCommits(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	last := commits[len(commits)-1]
	if last.AuthorEmail != botAuthor.Email || !slices.Contains(last.Files, "apps/nextcloud/compose.yaml") {
		t.Errorf("the pull request's last commit is %+v; want the bot's, with apps/nextcloud/compose.yaml", last)
	}
	if notes := botNotes(t, s, pr); len(notes) != 0 {
		t.Errorf("notes left after the fix: %+v", notes)
	}
	noSecrets(t, res.Log, j.Secrets)
}

func noSecrets(t *testing.T, log string, secrets map[string]string) {
	t.Helper()
	for name, v := range secrets {
		if strings.Contains(log, v) {
			t.Errorf("the runner's log shows the secret %s", name)
		}
	}
}

// prClone clones the site repo at the pull request's head, with origin on the forge (act
// names the repository from it), and returns the pull_request event the forge sends.
func prClone(t *testing.T, s siteForge, server string, pr int) (dir, event string, payload any) {
	t.Helper()
	info, err := s.bot.PullRequest(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", server+"/"+s.repo+".git")
	// The token only on this fetch's command line, never in the clone's config.
	git(t, dir, "fetch", "-q", strings.Replace(server, "://", "://x:"+s.botToken+"@", 1)+"/"+s.repo+".git", info.Head)
	git(t, dir, "checkout", "-q", "FETCH_HEAD")
	sha := strings.TrimSpace(mustGitOut(t, dir, "rev-parse", "HEAD"))
	owner, name, _ := strings.Cut(s.repo, "/")
	repo := map[string]any{"full_name": s.repo, "name": name, "owner": map[string]any{"login": owner},
		"clone_url": server + "/" + s.repo + ".git"}
	// The fields of the pull_request webhook payload the workflows and act read
	// (docs.github.com/webhooks/webhook-events-and-payloads#pull_request; Gitea sends the
	// same shape: modules/structs/hook.go PullRequestPayload).
	payload = map[string]any{
		"action": "opened",
		"number": pr,
		"pull_request": map[string]any{
			"number": pr,
			"head":   map[string]any{"ref": info.Head, "sha": sha, "repo": repo},
			"base":   map[string]any{"ref": "main", "repo": repo},
		},
		"repository": repo,
	}
	return dir, "pull_request", payload
}

func mustGitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// githubSiteForge is githubForge with the simulator itself, and the workflow's own token
// (github.token) as a user of its own.
func githubSiteForge(t *testing.T, name string) (*githubsim.Server, siteForge) {
	t.Helper()
	s, sim := githubForgeSim(t, name)
	sim.AddUser("github-actions[bot]", "actions-token")
	return sim, s
}
