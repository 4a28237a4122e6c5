package cli_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// apply --commit asks the forge who merged the commit before it applies: a direct push
// (no pull request) goes on to the apply, and an unreadable forge stops it with the reason.
func TestApplyAsksWhoMerged(t *testing.T) {
	testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	sim := siteOnGitHub(t)
	forge := []string{"--commit", strings.Repeat("ab", 20), "--forge", "github", "--api", sim.URL + "/api/v3/", "--repo", "coop/site"}
	_, errs, code := run(t, append([]string{"apply", "--plan", t.TempDir() + "/tfplan", "--no-pr"}, append(forge, t.TempDir())...)...)
	if code == 0 || !strings.Contains(errs, "make the plan with nassella plan") {
		t.Errorf("a direct push: code %d, err %q; want the lookup to pass and the missing plan to stop the apply", code, errs)
	}
	t.Setenv("GITHUB_TOKEN", "not-the-token")
	_, errs, code = run(t, append([]string{"apply", "--plan", t.TempDir() + "/tfplan", "--no-pr"}, append(forge, t.TempDir())...)...)
	if code == 0 || !strings.Contains(errs, "finding who merged") || strings.Contains(errs, "not-the-token") {
		t.Errorf("a token the forge refuses: code %d, err %q", code, errs)
	}
}
