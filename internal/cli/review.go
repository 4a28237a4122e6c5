package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/doctor"
	"github.com/nassella/nassella/pipelines/review"
)

// reviewFlags name the repo and the bot for the review subcommands; the token comes from
// $NASSELLA_FORGE_TOKEN, else $GITHUB_TOKEN, never from a flag (flags show in logs).
type reviewFlags struct{ kind, api, repo, bot string }

func (f *reviewFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "forge", forge.KindGitHub, "github, gitea or forgejo")
	fs.StringVar(&f.api, "api", "", "the forge's REST API (default https://api.github.com/ for github)")
	fs.StringVar(&f.repo, "repo", os.Getenv("GITHUB_REPOSITORY"), "the site repo, OWNER/NAME")
	fs.StringVar(&f.bot, "bot", "", "the login whose comments and issues count (default: the token's user; "+review.GitHubActionsBot+" for GITHUB_TOKEN)")
}

func (f *reviewFlags) client(ctx context.Context) (forge.Client, string, error) {
	owner, name, ok := strings.Cut(f.repo, "/")
	if !ok || owner == "" || name == "" {
		return nil, "", usageError{fmt.Sprintf("--repo %q: give OWNER/NAME", f.repo)}
	}
	api := f.api
	if api == "" && f.kind == forge.KindGitHub {
		api = "https://api.github.com/"
	}
	if api == "" {
		return nil, "", usageError{"--api is needed for " + f.kind + " (https://HOST/api/v1)"}
	}
	token := os.Getenv("NASSELLA_FORGE_TOKEN")
	if token == "" {
		token = os.Getenv("GITHUB_TOKEN")
	}
	c, err := forge.New(f.kind, api, owner, name, token, forge.Options{UserAgent: "nassella-review"})
	if err != nil {
		return nil, "", fmt.Errorf("%w: set NASSELLA_FORGE_TOKEN or GITHUB_TOKEN", err)
	}
	bot, err := review.Bot(ctx, c, f.bot)
	return c, bot, err
}

func runReview(ctx context.Context, s Streams, args []string) error {
	sub := map[string]func(context.Context, Streams, []string) error{
		"digest": runReviewDigest, "plan-comment": runReviewPlanComment, "doctor-issue": runReviewDoctorIssue,
		"apply-failed": runReviewApplyFailed, "regenerate": runReviewRegenerate}
	if len(args) == 0 || sub[args[0]] == nil {
		return usageError{"nassella review digest | plan-comment | doctor-issue | apply-failed | regenerate (see --help of each)"}
	}
	return sub[args[0]](ctx, s, args[1:])
}

func runReviewDigest(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "review digest", "--commit SHA [--forge K --api URL --repo O/R --bot LOGIN]")
	var f reviewFlags
	f.add(fs)
	sha := fs.String("commit", os.Getenv("GITHUB_SHA"), "the pushed commit")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	c, bot, err := f.client(ctx)
	if err != nil {
		return err
	}
	r, err := review.Digest(ctx, c, bot, *sha)
	if err != nil {
		return err
	}
	if r.PR == 0 {
		fmt.Fprintf(s.Err, "commit %s came without a pull request (a direct push): nothing was reviewed\n", *sha)
		return nil
	}
	fmt.Fprintf(s.Err, "pull request #%d was reviewed with plan digest %s\n", r.PR, r.Digest)
	fmt.Fprintln(s.Out, r.Digest)
	return nil
}

func runReviewPlanComment(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "review plan-comment", "--pr N --body-file FILE [--forge K --api URL --repo O/R --bot LOGIN]")
	var f reviewFlags
	f.add(fs)
	pr := fs.Int("pr", 0, "the pull request")
	body := fs.String("body-file", "", "the comment, as nassella plan --markdown wrote it")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *pr <= 0 || *body == "" {
		return usageError{"--pr and --body-file are needed"}
	}
	data, err := os.ReadFile(*body)
	if err != nil {
		return err
	}
	c, bot, err := f.client(ctx)
	if err != nil {
		return err
	}
	return review.PostPlan(ctx, c, bot, *pr, string(data))
}

func runReviewDoctorIssue(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "review doctor-issue", "--body-file FILE --problems=true|false [--forge K --api URL --repo O/R --bot LOGIN]")
	var f reviewFlags
	f.add(fs)
	body := fs.String("body-file", "", "the issue body, as nassella doctor --markdown wrote it (missing: the doctor could not run)")
	problems := fs.Bool("problems", true, "whether the doctor found problems")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	text := doctor.Marker + "\nnassella doctor could not run; see the workflow log.\n"
	if data, err := os.ReadFile(*body); err == nil {
		text = string(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	c, bot, err := f.client(ctx)
	if err != nil {
		return err
	}
	did, err := review.DoctorIssue(ctx, c, bot, *problems, text)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, did)
	return nil
}

// runReviewRegenerate commits the generated files of a pull request's head branch (checked
// out in DIR) as the bot, or says on the pull request why it may not.
func runReviewRegenerate(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "review regenerate", "--pr N [--forge K --api URL --repo O/R --bot LOGIN --author \"Name <email>\" --annotations github] DIR")
	var f reviewFlags
	f.add(fs)
	pr := fs.Int("pr", 0, "the pull request")
	author := fs.String("author", os.Getenv("NASSELLA_BOT_AUTHOR"), "who the bot's commit is by, `\"Name <email>\"`; commits with that e-mail are the bot's (default: $NASSELLA_BOT_AUTHOR, else "+fleet.DefaultBot.Name+" <"+fleet.DefaultBot.Email+">)")
	catalogDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	annotations := fs.String("annotations", "", "also print "+siterepo.SiteFile+" errors as CI annotations: github (GitHub and Forgejo Actions)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *pr <= 0 {
		return usageError{"--pr is needed"}
	}
	who := gitx.Identity{Name: fleet.DefaultBot.Name, Email: fleet.DefaultBot.Email}
	if *author != "" {
		if who, err = gitx.ParseIdentity(*author); err != nil {
			return usageError{"--author: " + err.Error()}
		}
	}
	token := os.Getenv("NASSELLA_FORGE_TOKEN")
	if token == "" && f.bot == "" && f.kind == forge.KindGitHub {
		// Only the workflow's own token (a fork's pull request gets no secrets): it may
		// not read GET /user.
		f.bot = review.GitHubActionsBot
	}
	c, bot, err := f.client(ctx)
	if err != nil {
		return err
	}
	res, err := review.Regenerate(ctx, review.RegenerateOptions{Forge: c, Repo: f.repo, Bot: bot, PR: *pr, Dir: dirArg(pos),
		Author: who, Token: token, Site: siterepo.Options{CatalogDir: *catalogDir}})
	if err != nil {
		if *annotations == "github" {
			annotate(s, err)
		}
		return err
	}
	switch res.Outcome {
	case review.OutcomeCommitted:
		fmt.Fprintf(s.Err, "pull request #%d: committed %s, updating %d generated files (%s); the checks run again for it\n", *pr, res.Commit, len(res.Paths), strings.Join(res.Paths, ", "))
	case review.OutcomeUpToDate:
		fmt.Fprintf(s.Err, "pull request #%d: the generated files match site.yaml; nothing to commit\n", *pr)
	case review.OutcomeClosed:
		fmt.Fprintf(s.Err, "pull request #%d is closed; nothing to do\n", *pr)
	}
	fmt.Fprintln(s.Out, res.Outcome)
	return nil
}
