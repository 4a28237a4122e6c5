package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// The apply workflow's last step: a failed apply opens one issue for its commit, naming
// the support contact of a site.yaml that may itself be what failed, and saying from the
// apply's log that the site was rolled back.
func TestReviewApplyFailedCLI(t *testing.T) {
	sim := siteOnGitHub(t)
	dir := t.TempDir()
	siteYAML := "version: 1\nname: acme\napps: { nextclod: {} }\nsupport: { name: Riverside Tech Co-op, email: help@riverside.coop }\n"
	logFile := filepath.Join(t.TempDir(), "apply.log")
	for _, f := range []struct{ path, text string }{
		{filepath.Join(dir, "site.yaml"), siteYAML},
		{logFile, "applying . (digest 0123)\nnassella apply: unhealthy after the change: nextcloud; rolled back to nassella/last-good, whose apps are healthy again\n"},
	} {
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"review", "apply-failed", "--forge", "github", "--api", sim.URL + "/api/v3/", "--repo", "coop/site",
		"--sha", strings.Repeat("ab", 20), "--run-url", "https://github.example/coop/site/actions/runs/1", "--log", logFile, dir}
	for i, want := range []string{"opened issue #1\n", "updated issue #1\n"} {
		out, errs, code := run(t, args...)
		if code != 0 || out != want {
			t.Fatalf("run %d: code %d, out %q, err %q; want %q", i+1, code, out, errs, want)
		}
	}
	issues := sim.Issues("coop", "site")
	if len(issues) != 1 {
		t.Fatalf("issues: %+v", issues)
	}
	for _, w := range []string{"(commit abababababab)", "**Your site runs as before.**", "**Riverside Tech Co-op** ([help@riverside.coop](mailto:help@riverside.coop))", "[The run's log](https://github.example/coop/site/actions/runs/1)"} {
		if !strings.Contains(issues[0].Title+"\n"+issues[0].Body, w) {
			t.Errorf("issue lacks %q:\n%s\n%s", w, issues[0].Title, issues[0].Body)
		}
	}
	if _, errs, code := run(t, "review", "apply-failed", "--sha", "", dir); code == 0 || !strings.Contains(errs, "--sha is needed") {
		t.Errorf("without --sha: code %d, err %q", code, errs)
	}
}

// siteOnGitHub is the site repo coop/site on a GitHub simulator, with the bot's token in
// GITHUB_TOKEN as the workflows have it.
func siteOnGitHub(t *testing.T) *githubsim.Server {
	t.Helper()
	sim := githubsim.StartWithRepo(t, "bot-token", "coop", "site")
	t.Setenv("GITHUB_TOKEN", "bot-token")
	t.Setenv("NASSELLA_FORGE_TOKEN", "")
	return sim
}
