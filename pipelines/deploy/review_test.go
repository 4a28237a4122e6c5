package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/pipelines/deploy"
)

// A merge whose pull request has no plan comment by the bot reaches apply with an empty
// digest (--expect-digest ""): that must stop the apply with the reason, not skip the
// check. A direct push says so with --no-pr; giving both is a mistake.
func TestApplyRefusesAnUnreviewedMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  deploy.ApplyOptions
		want string
	}{
		{"empty digest", deploy.ApplyOptions{RequireReview: true}, "no plan comment by the bot"},
		{"both", deploy.ApplyOptions{RequireReview: true, NoPR: true, ExpectDigest: "abc"}, "give one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Plan = t.TempDir() + "/no-plan"
			_, err := deploy.Apply(context.Background(), deploy.Env{Dir: t.TempDir()}, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply(%+v) = %v, want an error saying %q", tc.opt, err, tc.want)
			}
		})
	}
	// --no-pr alone passes the review check and fails later, on the missing plan.
	_, err := deploy.Apply(context.Background(), deploy.Env{Dir: t.TempDir()},
		deploy.ApplyOptions{RequireReview: true, NoPR: true, Plan: t.TempDir() + "/no-plan"})
	if err == nil || strings.Contains(err.Error(), "reviewed plan digest") {
		t.Fatalf("a direct push with --no-pr: %v, want only the missing plan to fail", err)
	}
}
