package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
)

// Outcome is what a failed apply left on the server, as its log tells.
type Outcome int

// The outcomes of a failed apply, from what nassella apply logs (pipelines/deploy/apply.go).
const (
	// OutcomeUnknown: no log to tell by.
	OutcomeUnknown Outcome = iota
	// OutcomeUnchanged: the run stopped before applying (a check, the reviewed plan, the
	// backup before a rebuild), so nothing on the server changed.
	OutcomeUnchanged
	// OutcomeRolledBack: an app did not answer after the change; the last good setup was
	// applied again and its apps answer.
	OutcomeRolledBack
	// OutcomeRollbackFailed: an app did not answer, and putting the last good setup back
	// failed too.
	OutcomeRollbackFailed
	// OutcomePartlyApplied: OpenTofu stopped part-way; nothing is rolled back by itself.
	OutcomePartlyApplied
	// OutcomeApplied: applied and healthy; a later step (the last-good tag) failed.
	OutcomeApplied
	// OutcomeMoveNotSwitched: a move made the new server, which did not answer, so the
	// names still point at the old server, which the move never touches.
	OutcomeMoveNotSwitched
)

// What nassella apply writes at each stage (pipelines/deploy/apply.go and move.go: the
// e.logf lines and errors); applyfailed_test.go checks they are still there.
const (
	logMoving         = "moving "
	logNotSwitched    = "nothing was switched"
	logMoved          = "moved; every app is healthy"
	logApplying       = "applying "
	logApplyError     = "tofu apply:"
	logHealthy        = "all apps healthy"
	logRolledBack     = "rolled back to "
	logRollbackFailed = "rolling back to the last good configuration failed too"
)

// ReadOutcome tells from a failed apply's log (its standard error) what it left on the
// server. An empty log means the apply never started.
func ReadOutcome(log string) Outcome {
	applying, moving := false, false
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, logApplying) {
			applying = true
		}
		if strings.HasPrefix(line, logMoving) {
			moving = true
		}
	}
	switch {
	case moving && strings.Contains(log, logNotSwitched):
		return OutcomeMoveNotSwitched
	case moving && strings.Contains(log, logMoved):
		return OutcomeApplied
	case moving:
		// A step of the move stopped part-way (its error says which).
		return OutcomePartlyApplied
	case !applying:
		return OutcomeUnchanged
	case strings.Contains(log, logRollbackFailed):
		return OutcomeRollbackFailed
	case strings.Contains(log, logRolledBack):
		return OutcomeRolledBack
	case strings.Contains(log, logApplyError):
		return OutcomePartlyApplied
	case strings.Contains(log, logHealthy):
		return OutcomeApplied
	}
	return OutcomeUnknown
}

// ApplyFailed is a failed apply to tell the owner about.
type ApplyFailed struct {
	SHA     string        // the commit that failed to apply
	RunURL  string        // the workflow run, for its log; may be empty
	Outcome Outcome       // what it left on the server
	Support *site.Support // who the owner asks; nil: their co-op
}

// applyFailedMarker opens the issue's body, naming the commit: one issue per commit.
func applyFailedMarker(sha string) string { return "<!-- nassella-apply-failed: " + sha + " -->" }

// Title is the issue's title.
func (f ApplyFailed) Title() string {
	return fmt.Sprintf("A change to your site could not be applied (commit %s)", short(f.SHA))
}

// Body is the issue, in the owner's words: what failed, what it means for the site, what
// they can do and who to ask.
func (f ApplyFailed) Body() string {
	ask := f.Support.Markdown()
	var b strings.Builder
	b.WriteString(applyFailedMarker(f.SHA) + "\n")
	fmt.Fprintf(&b, "## A change to your site could not be applied\n\nThe change merged in commit `%s` did not go through.", short(f.SHA))
	if f.RunURL != "" {
		fmt.Fprintf(&b, " [The run's log](%s) has the technical details.", f.RunURL)
	}
	b.WriteString("\n\n### What this means for your site\n\n")
	switch f.Outcome {
	case OutcomeUnchanged:
		b.WriteString("**Your site is unchanged.** The change stopped before anything on your server was touched: a check before it failed (for example, the change was not the one reviewed on its pull request, or the backup before a rebuild did not work).\n")
	case OutcomeRolledBack:
		b.WriteString("**Your site runs as before.** The change was applied, but an app did not answer afterwards, so the last working setup was put back by itself, and its apps answer again.\n")
	case OutcomeRollbackFailed:
		b.WriteString("**Your site may not work right now.** The change was applied, an app did not answer afterwards, and putting back the last working setup did not work either. Your data is safe on its own disk.\n")
	case OutcomePartlyApplied:
		b.WriteString("**Your site may be partly changed.** Applying the change stopped part-way, and in that case nothing is put back by itself. Your data is safe on its own disk.\n")
	case OutcomeApplied:
		b.WriteString("**Your change is in place** and every app answers; only a step after it failed (remembering this setup as the last working one).\n")
	case OutcomeMoveNotSwitched:
		b.WriteString("**Your site runs as before, on its old server.** The move made the new server, but its apps did not answer there (most often: the backup could not be restored on it), so your addresses were not switched. They still point at the old server, which the move does not touch.\n")
	default:
		b.WriteString("**The run's log says what happened.** Most often a failed change leaves your site as it was: it stops before anything changes, or the last working setup is put back by itself. Rarely it stops part-way; then your site may be partly changed until it is fixed. Your data is safe on its own disk either way.\n")
	}
	b.WriteString("\n### What you can do\n\n")
	switch f.Outcome {
	case OutcomeRollbackFailed, OutcomePartlyApplied:
		fmt.Fprintf(&b, "- If your apps do not open, tell %s now, with the link to this issue.\n- Merge no other change until they have looked at it.\n", ask)
	case OutcomeApplied:
		b.WriteString("- Nothing: your site works. The next change you merge is checked as usual.\n")
	case OutcomeMoveNotSwitched:
		fmt.Fprintf(&b, "- Nothing is urgent: your site works on its old server. Send %s the link to this issue: once they know why the new server did not answer, they apply the move again, and your addresses follow only when every app answers there.\n- Merge no other change until then.\n", ask)
	default:
		b.WriteString("- Nothing is urgent. Your repository still holds the change that failed: once you know why it failed, fix it, or undo it, in a new pull request.\n- Merge no other change until then: it would be applied together with this one.\n")
	}
	fmt.Fprintf(&b, "\n### Who to ask\n\nThis issue is for %s: send them its link. They find the details in the run's log.\n", ask)
	return b.String()
}

// ApplyFailedIssue opens the bot's issue for a failed apply of f.SHA, or updates it when
// the bot already opened one for that commit (a re-run), and returns what it did. Issues
// by anyone else are left alone, whatever they look like.
func ApplyFailedIssue(ctx context.Context, c forge.Client, bot string, f ApplyFailed) (string, error) {
	if f.SHA == "" {
		return "", fmt.Errorf("no commit given: pass --sha (in a workflow, $GITHUB_SHA)")
	}
	open, err := c.OpenIssues(ctx)
	if err != nil {
		return "", err
	}
	marker := applyFailedMarker(f.SHA)
	for _, i := range open {
		if i.Author == bot && strings.HasPrefix(i.Body, marker+"\n") {
			return fmt.Sprintf("updated issue #%d", i.Number), c.EditIssue(ctx, i.Number, f.Body(), false)
		}
	}
	n, err := c.CreateIssue(ctx, f.Title(), f.Body())
	return fmt.Sprintf("opened issue #%d", n), err
}
