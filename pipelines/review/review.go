// Package review is what the site workflows read and write on the forge: the plan
// digest reviewed on the pull request a pushed commit came from, the sticky plan
// comment, and the doctor issue. Only what the bot itself wrote counts: anyone who can
// comment on a pull request or open an issue could otherwise post a digest, or a
// lookalike comment or issue first, and have the workflow trust or edit it.
package review

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/pipelines/deploy"
	"github.com/nassella/nassella/pipelines/doctor"
)

// GitHubActionsBot is the login GitHub Actions' GITHUB_TOKEN writes as. That token
// cannot read GET /user, so the GitHub workflows name it.
const GitHubActionsBot = forge.GitHubActionsBot

// Bot is the login whose comments and issues count: given, or else the token's user.
func Bot(ctx context.Context, c forge.Client, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	login, err := c.User(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the bot's login (whose comments count): %w; pass --bot LOGIN", err)
	}
	return login, nil
}

var digestLine = regexp.MustCompile(`<!-- nassella-plan-digest: ([0-9a-f]+) -->`)

// Reviewed is what a pushed commit was reviewed as.
type Reviewed struct {
	PR     int    // the pull request that merged it; 0 for a direct push
	Digest string // the plan digest the bot posted on PR
}

// Digest finds the plan digest reviewed for commit sha: from the newest pull request
// the commit belongs to, the last plan comment written by bot. A commit without a pull
// request is a direct push (PR 0, no digest); a pull request without the bot's plan
// comment is an error, since applying would skip the review.
func Digest(ctx context.Context, c forge.Client, bot, sha string) (Reviewed, error) {
	prs, err := c.PRsOfCommit(ctx, sha)
	if err != nil {
		return Reviewed{}, err
	}
	if len(prs) == 0 {
		return Reviewed{}, nil
	}
	pr := slices.Max(prs)
	comments, err := c.Comments(ctx, pr)
	if err != nil {
		return Reviewed{}, err
	}
	out := Reviewed{PR: pr}
	for _, cm := range comments {
		if cm.Author != bot || !strings.HasPrefix(cm.Body, deploy.CommentMarker) {
			continue
		}
		if m := digestLine.FindStringSubmatch(cm.Body); m != nil {
			out.Digest = m[1]
		}
	}
	if out.Digest == "" {
		return out, fmt.Errorf("commit %s came from pull request #%d, which has no plan comment by %s (the plan job failed, or the pull request was merged before it finished): nothing reviewed to apply; push the change again through a pull request and merge it once its plan is posted", short(sha), pr, bot)
	}
	return out, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// PostPlan writes body as the sticky plan comment of pull request pr: it edits the
// bot's own plan comment when there is one and adds one otherwise, never touching a
// lookalike someone else posted.
func PostPlan(ctx context.Context, c forge.Client, bot string, pr int, body string) error {
	comments, err := c.Comments(ctx, pr)
	if err != nil {
		return err
	}
	for _, cm := range comments {
		if cm.Author == bot && strings.HasPrefix(cm.Body, deploy.CommentMarker) {
			return c.EditComment(ctx, cm.ID, body)
		}
	}
	return c.Comment(ctx, pr, body)
}

// DoctorIssueTitle is the title of the issue the doctor keeps open while something
// needs attention.
const DoctorIssueTitle = "Your site needs attention (nassella doctor)"

// DoctorIssue keeps the bot's one doctor issue in step with a doctor run: with
// problems, it updates the bot's open doctor issue to body or opens one; without, it
// closes the bot's issue with a note. It returns what it did. Issues by anyone else are
// left alone, whatever they look like.
func DoctorIssue(ctx context.Context, c forge.Client, bot string, problems bool, body string) (string, error) {
	open, err := c.OpenIssues(ctx)
	if err != nil {
		return "", err
	}
	mine := 0
	for _, i := range open {
		if i.Author == bot && strings.HasPrefix(i.Body, doctor.Marker) {
			mine = i.Number
			break
		}
	}
	switch {
	case problems && mine != 0:
		return fmt.Sprintf("updated issue #%d", mine), c.EditIssue(ctx, mine, body, false)
	case problems:
		n, err := c.CreateIssue(ctx, DoctorIssueTitle, body)
		return fmt.Sprintf("opened issue #%d", n), err
	case mine != 0:
		if err := c.Comment(ctx, mine, "Everything looks fine again; closing."); err != nil {
			return "", err
		}
		return fmt.Sprintf("closed issue #%d", mine), c.EditIssue(ctx, mine, "", true)
	}
	return "nothing to report", nil
}
