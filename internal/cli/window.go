package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/pipelines/deploy"
)

// mergeFlags name the commit being applied and the forge that tells who merged it; the
// token comes from $NASSELLA_FORGE_TOKEN, else $GITHUB_TOKEN. Without --commit nobody is
// asked: a person runs the apply, which applies at once.
type mergeFlags struct{ kind, api, repo, commit string }

func (f *mergeFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.commit, "commit", "", "the pushed commit: when the update bot merged it and it restarts the server, it waits for the maintenance window")
	fs.StringVar(&f.kind, "forge", forge.KindGitHub, "with --commit: github, gitea or forgejo")
	fs.StringVar(&f.api, "api", "", "with --commit: the forge's REST API (default https://api.github.com/ for github)")
	fs.StringVar(&f.repo, "repo", os.Getenv("GITHUB_REPOSITORY"), "with --commit: the site repo, OWNER/NAME")
}

func (f mergeFlags) merge(ctx context.Context) (deploy.Merge, error) {
	if f.commit == "" {
		return deploy.Merge{}, nil
	}
	owner, name, ok := strings.Cut(f.repo, "/")
	if !ok || owner == "" || name == "" {
		return deploy.Merge{}, usageError{fmt.Sprintf("--repo %q: give OWNER/NAME", f.repo)}
	}
	api := f.api
	if api == "" && f.kind == forge.KindGitHub {
		api = "https://api.github.com/"
	}
	if api == "" {
		return deploy.Merge{}, usageError{"--api is needed for " + f.kind + " (https://HOST/api/v1)"}
	}
	token := os.Getenv("NASSELLA_FORGE_TOKEN")
	if token == "" {
		token = os.Getenv("GITHUB_TOKEN")
	}
	c, err := forge.New(f.kind, api, owner, name, token, forge.Options{UserAgent: "nassella-apply"})
	if err != nil {
		return deploy.Merge{}, fmt.Errorf("finding who merged %s: %w: set NASSELLA_FORGE_TOKEN or GITHUB_TOKEN", f.commit, err)
	}
	m, err := deploy.WhoMerged(ctx, c, f.repo, f.commit)
	if err != nil {
		return m, fmt.Errorf("finding who merged %s: %w", f.commit, err)
	}
	return m, nil
}
