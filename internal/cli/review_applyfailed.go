package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/review"
)

// runReviewApplyFailed opens (or updates) the issue that tells the owner a merged change
// could not be applied, naming the support contact of the site repo in DIR.
func runReviewApplyFailed(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "review apply-failed", "--sha SHA [--run-url URL] [--log FILE] [--forge K --api URL --repo O/R --bot LOGIN] [DIR]")
	var f reviewFlags
	f.add(fs)
	var af review.ApplyFailed
	fs.StringVar(&af.SHA, "sha", os.Getenv("GITHUB_SHA"), "the commit whose apply failed")
	fs.StringVar(&af.RunURL, "run-url", "", "the workflow run, linked for its log")
	log := fs.String("log", "", "what nassella apply wrote to standard error, to tell whether the site is unchanged, rolled back or partly changed (empty: the apply never started)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if af.SHA == "" {
		return usageError{"--sha is needed: the commit whose apply failed"}
	}
	// Only the support contact is read: the site.yaml that failed may not load as a whole.
	if data, err := inputfile.ReadIn(dirArg(pos), siterepo.SiteFile); err == nil {
		af.Support = site.SupportOf(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if *log != "" {
		data, err := inputfile.Read(*log)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err == nil {
			af.Outcome = review.ReadOutcome(string(data))
		}
	}
	c, bot, err := f.client(ctx)
	if err != nil {
		return err
	}
	did, err := review.ApplyFailedIssue(ctx, c, bot, af)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, did)
	return nil
}
