package cli_test

import (
	"strings"
	"testing"
)

// The workflows' path: the digest lookup of a direct push prints nothing (apply then
// gets --no-pr), and an empty --expect-digest, as a missing plan comment used to give,
// stops the apply with the reason instead of skipping the check.
func TestReviewDigestAndApplyCLI(t *testing.T) {
	sim := siteOnGitHub(t)
	out, errs, code := run(t, "review", "digest", "--forge", "github", "--api", sim.URL+"/api/v3/", "--repo", "coop/site",
		"--bot", "github-actions[bot]", "--commit", strings.Repeat("ab", 20))
	if code != 0 || out != "" || !strings.Contains(errs, "without a pull request") {
		t.Fatalf("review digest of a direct push: code %d, out %q, err %q", code, out, errs)
	}
	_, errs, code = run(t, "apply", "--plan", t.TempDir()+"/tfplan", "--expect-digest", "", t.TempDir())
	if code == 0 || !strings.Contains(errs, "no reviewed plan digest") || !strings.Contains(errs, "--no-pr") {
		t.Fatalf("apply --expect-digest \"\": code %d, err %q; want it refused with the reason", code, errs)
	}
}
