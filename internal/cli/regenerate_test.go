package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/githubsim"
)

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Site Owner", "GIT_AUTHOR_EMAIL=owner@acme.example",
		"GIT_COMMITTER_NAME=Site Owner", "GIT_COMMITTER_EMAIL=owner@acme.example")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// The workflow's step: on the checkout of a pull request whose owner changed only
// site.yaml, nassella review regenerate commits the generated files as the bot and says
// so; run again it finds nothing to do; without --pr it is a usage error.
func TestReviewRegenerateCLI(t *testing.T) {
	sim := githubsim.StartWithRepo(t, "bot-token", "owner", "site")
	sim.AddUser("owner", "owner-token")
	// The owner's site repo: an example site, generated and committed.
	repo := t.TempDir()
	siteYAML, _ := examples.Get("one-app")
	os.WriteFile(filepath.Join(repo, "site.yaml"), siteYAML, 0o644)
	if out, errs, code := run(t, "generate", "--out", repo); code != 0 {
		t.Fatalf("generate: %s%s", out, errs)
	}
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "add", "-A")
	gitIn(t, repo, "commit", "-q", "-m", "My site")
	remote := strings.Replace(sim.URL, "://", "://x:owner-token@", 1) + "/owner/site.git"
	gitIn(t, repo, "push", "-q", remote, "HEAD:refs/heads/main")
	data, _ := os.ReadFile(filepath.Join(repo, "site.yaml"))
	os.WriteFile(filepath.Join(repo, "site.yaml"), []byte(strings.Replace(string(data), "  vaultwarden: {}\n", "  vaultwarden: {}\n  nextcloud: {}\n", 1)), 0o644)
	gitIn(t, repo, "checkout", "-q", "-b", "add-nextcloud")
	gitIn(t, repo, "commit", "-q", "-am", "Add Nextcloud")
	gitIn(t, repo, "push", "-q", remote, "add-nextcloud")
	// The owner's pull request, opened as the forge's web page would.
	owner, err := forge.New(forge.KindGitHub, sim.URL+"/api/v3/", "owner", "site", "owner-token", forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := owner.CreatePR(context.Background(), forge.NewPR{Title: "Add Nextcloud", Head: "add-nextcloud", Base: "main"})
	if err != nil {
		t.Fatal(err)
	}
	pr := strconv.Itoa(opened.Number)
	gh := []string{"--forge", "github", "--api", sim.URL + "/api/v3/", "--repo", "owner/site"}

	t.Setenv("NASSELLA_FORGE_TOKEN", "bot-token")
	if _, errs, code := run(t, append(append([]string{"review", "regenerate"}, gh...), repo)...); code != 2 || !strings.Contains(errs, "--pr is needed") {
		t.Fatalf("without --pr: code %d, %s", code, errs)
	}
	for _, want := range []string{"committed", "up-to-date"} {
		dir := filepath.Join(t.TempDir(), "checkout")
		gitIn(t, t.TempDir(), "clone", "-q", "--depth=1", "--branch", "add-nextcloud", strings.Replace(remote, "owner-token", "bot-token", 1), dir)
		out, errs, code := run(t, append(append([]string{"review", "regenerate"}, gh...), "--pr", pr, dir)...)
		if code != 0 || strings.TrimSpace(out) != want || strings.Contains(out+errs, "bot-token") {
			t.Fatalf("review regenerate: code %d, out %q, err %q; want %s", code, out, errs, want)
		}
	}
}
