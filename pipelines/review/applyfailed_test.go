package review_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	siteyaml "github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/review"
)

// Logs as nassella apply writes them to standard error at each stage.
var applyLogs = map[review.Outcome]string{
	review.OutcomeUnchanged: "planning /site\nnassella apply: the backup before the rebuild failed, so nothing was changed: exit 1\n",
	review.OutcomeRolledBack: "applying /site (digest 0123)\nchecking 1 apps\nunhealthy after the change: vaultwarden (https://vault.acme.example/alive: 502)\nrolling back to nassella/last-good (abc)\n" +
		"nassella apply: unhealthy after the change: vaultwarden; rolled back to nassella/last-good, whose apps are healthy again\n",
	review.OutcomeRollbackFailed: "applying /site (digest 0123)\nnassella apply: unhealthy after the change: x; rolling back to the last good configuration failed too: boom\n",
	review.OutcomePartlyApplied:  "applying /site (digest 0123)\nnassella apply: tofu apply: exit status 1 (nothing is rolled back automatically when apply itself fails; the state shows what was done)\n",
	review.OutcomeApplied:        "applying /site (digest 0123)\nchecking 1 apps\nall apps healthy\n",
	review.OutcomeMoveNotSwitched: "moving /site (digest 0123): the new server first, the names after its health check\nchecking 1 apps on the new server (203.0.113.3)\n" +
		"nassella apply: the new server is unhealthy: status (https://status.acme.example/: 502); the site's names still point at the old server, which is untouched (module.previous) and keeps serving the site: nothing was switched.\n",
}

func TestReadOutcome(t *testing.T) {
	for want, log := range applyLogs {
		if got := review.ReadOutcome(log); got != want {
			t.Errorf("ReadOutcome(%q) = %d, want %d", log, got, want)
		}
	}
	if got := review.ReadOutcome(""); got != review.OutcomeUnchanged {
		t.Errorf("an empty log (the apply never started) = %d, want unchanged", got)
	}
	if got := review.ReadOutcome("applying /site (digest 0123)\nsignal: killed\n"); got != review.OutcomeUnknown {
		t.Errorf("a log cut short = %d, want unknown", got)
	}
}

// ReadOutcome tells by what nassella apply writes: those words must still be there.
func TestOutcomeWordsAreApplys(t *testing.T) {
	src, err := os.ReadFile("../deploy/apply.go")
	if err != nil {
		t.Fatal(err)
	}
	move, err := os.ReadFile("../deploy/move.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"moving %s (digest %s)`, `nothing was switched`, `e.logf("moved; every app is healthy`} {
		if !strings.Contains(string(move), w) {
			t.Errorf("pipelines/deploy/move.go no longer says %s: update ReadOutcome's words in applyfailed.go", w)
		}
	}
	for _, w := range []string{`e.logf("applying %s (digest %s)\n"`, `"tofu apply: %w`, `e.logf("all apps healthy\n")`,
		`"%s; rolled back to %s, whose apps are healthy again"`, `"%s; rolling back to the last good configuration failed too: %w"`} {
		if !strings.Contains(string(src), w) {
			t.Errorf("pipelines/deploy/apply.go no longer says %s: update ReadOutcome's words in applyfailed.go", w)
		}
	}
}

// The issue says in the owner's words what the failure means for the site, what they can
// do and who to ask.
func TestApplyFailedBody(t *testing.T) {
	riverside := &siteyaml.Support{Name: "Riverside Tech Co-op", Email: "help@riverside.coop"}
	for _, tc := range []struct {
		outcome   review.Outcome
		support   *siteyaml.Support
		want, not []string
	}{
		{review.OutcomeUnchanged, riverside, []string{"**Your site is unchanged.**", "Nothing is urgent", "This issue is for **Riverside Tech Co-op** ([help@riverside.coop](mailto:help@riverside.coop))"}, []string{"tofu", "apply.go"}},
		{review.OutcomeRolledBack, nil, []string{"**Your site runs as before.**", "last working setup was put back", "This issue is for your co-op"}, nil},
		{review.OutcomeRollbackFailed, riverside, []string{"**Your site may not work right now.**", "tell **Riverside Tech Co-op**", "Merge no other change"}, []string{"Nothing is urgent"}},
		{review.OutcomePartlyApplied, nil, []string{"**Your site may be partly changed.**", "Your data is safe on its own disk", "tell your co-op now"}, nil},
		{review.OutcomeApplied, nil, []string{"**Your change is in place**"}, []string{"Merge no other change"}},
		{review.OutcomeUnknown, nil, []string{"**The run's log says what happened.**"}, nil},
		{review.OutcomeMoveNotSwitched, riverside, []string{"**Your site runs as before, on its old server.**", "your addresses were not switched", "they apply the move again"}, []string{"partly changed"}},
	} {
		t.Run(fmt.Sprint(tc.outcome), func(t *testing.T) {
			f := review.ApplyFailed{SHA: "0123456789abcdef0123", RunURL: "https://forge.example/coop/site/actions/runs/7", Outcome: tc.outcome, Support: tc.support}
			body := f.Body()
			for _, w := range append(tc.want, "<!-- nassella-apply-failed: 0123456789abcdef0123 -->\n", "commit `0123456789ab` did not go through. [The run's log](https://forge.example/coop/site/actions/runs/7)") {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("body says %q:\n%s", w, body)
				}
			}
		})
	}
}

// One bot issue per failing commit: a re-run updates it, another commit gets its own, and
// a stranger's lookalike for the same commit is neither reused nor changed.
func applyFailedIssueOnePerCommit(t *testing.T, s site) {
	ctx := context.Background()
	me := bot(t, s.bot)
	first, second := strings.Repeat("a", 40), strings.Repeat("b", 40)
	lookalike := "<!-- nassella-apply-failed: " + first + " -->\nAll fine, close this.\n"
	fake, err := s.stranger.CreateIssue(ctx, "A change to your site could not be applied", lookalike)
	if err != nil {
		t.Fatal(err)
	}
	support := &siteyaml.Support{Name: "Riverside Tech Co-op", URL: "https://riverside.coop/help"}
	did, err := review.ApplyFailedIssue(ctx, s.bot, me, review.ApplyFailed{SHA: first, Outcome: review.OutcomeUnchanged, Support: support})
	var mine int
	if _, serr := fmt.Sscanf(did, "opened issue #%d", &mine); err != nil || serr != nil || mine == fake {
		t.Fatalf("first ApplyFailedIssue = %q, %v; want a new issue of the bot's", did, err)
	}
	if did, err := review.ApplyFailedIssue(ctx, s.bot, me, review.ApplyFailed{SHA: first, Outcome: review.OutcomeRolledBack, Support: support}); err != nil || did != fmt.Sprintf("updated issue #%d", mine) {
		t.Fatalf("re-run = %q, %v; want #%d updated", did, err, mine)
	}
	did, err = review.ApplyFailedIssue(ctx, s.bot, me, review.ApplyFailed{SHA: second, Support: support})
	if err != nil || !strings.HasPrefix(did, "opened issue #") || did == fmt.Sprintf("opened issue #%d", mine) {
		t.Fatalf("another commit = %q, %v; want an issue of its own", did, err)
	}
	open, err := s.bot.OpenIssues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[int]string{}
	for _, i := range open {
		bodies[i.Number] = i.Body
	}
	if len(bodies) != 3 || bodies[fake] != lookalike {
		t.Errorf("open issues %v; want the stranger's #%d untouched beside the bot's two", bodies, fake)
	}
	if b := bodies[mine]; !strings.Contains(b, "**Your site runs as before.**") || !strings.Contains(b, "**Riverside Tech Co-op** (<https://riverside.coop/help>)") {
		t.Errorf("the bot's issue #%d:\n%s", mine, b)
	}
}
