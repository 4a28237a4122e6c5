package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/initsite"
)

func runInit(_ context.Context, s Streams, args []string) error {
	f := flags(s, "init", "DIR [--name NAME] [--domain DOMAIN] [--email EMAIL] [--ssh-key-file FILE]")
	var opt initsite.Options
	f.StringVar(&opt.Name, "name", "", "the site's short name (default: the folder's name)")
	f.StringVar(&opt.Domain, "domain", "", "the domain the apps live under")
	f.StringVar(&opt.Email, "email", "", "the admin's email address")
	f.StringVar(&opt.KeyFile, "ssh-key-file", "", "a public SSH key file (.pub) for the admin")
	f.BoolVar(&opt.LocalState, "local-state", false, "leave state: out of site.yaml, so OpenTofu keeps its state in the folder: only for trying a site out on this machine (validate refuses it in CI)")
	author := f.String("author", "nassella <nassella@localhost>", "git author of the first commit, as `Name <email>`")
	pos, err := parse(f, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"name the folder for the new site repo: nassella init DIR"}
	}
	opt.Dir = pos[0]
	who, err := gitx.ParseIdentity(*author)
	if err != nil {
		return usageError{fmt.Sprintf("--author %q must look like 'Name <email>'", *author)}
	}
	opt.AuthorName, opt.AuthorEmail = who.Name, who.Email
	res, err := initsite.Init(opt)
	if err != nil {
		return err
	}
	if res.Repo != nil {
		printGenerated(s.Out, res.Repo, res.Generated)
	}
	fmt.Fprintf(s.Out, "made a new site repo in %s (first commit: %q)\n", opt.Dir, res.Commit)
	if res.Missing != nil {
		fmt.Fprintf(s.Out, "next: edit %s, then run nassella generate in it. It still needs:\n%v\n", filepath.Join(opt.Dir, siterepo.SiteFile), res.Missing)
		return nil
	}
	fmt.Fprintf(s.Out, "next: nassella bootstrap %s (it stores the secrets, adds the backup key and opens the first pull request; see docs/maintainers/onboarding.md)\n", opt.Dir)
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func closest(s string, candidates []string) string { return diag.Closest(s, candidates) }
