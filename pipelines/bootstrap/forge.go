package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
)

// ensureForge makes sure the site repo is on the forge (with CreateRepo: creates it and
// pushes the local site repo) and holds the workflows' secrets.
func (r *runner) ensureForge(ctx context.Context) {
	f := r.cfg.Forge
	if f == nil {
		r.report(Step{Name: "site repo on the forge", Status: Skipped, Detail: "no forge given (--forge, --forge-url, --repo)"})
		return
	}
	name := fmt.Sprintf("site repo %s/%s on %s", f.Owner, f.Repo, f.URL)
	if f.Kind != "github" && f.Kind != "gitea" && f.Kind != "forgejo" {
		r.report(Step{Name: name, Status: Failed, Detail: fmt.Sprintf("unknown forge %q", f.Kind), Fix: "use --forge gitea, forgejo or github"})
		return
	}
	if f.Token == "" {
		r.report(Step{Name: name, Status: Failed, Detail: "no forge token given",
			Fix: "give an access token of the forge account in the environment variable named by --forge-token-env (default FORGE_TOKEN)"})
		return
	}
	c, err := forge.New(f.Kind, f.API, f.Owner, f.Repo, f.Token, forge.Options{Transport: r.cfg.HTTPClient.Transport, UserAgent: "nassella-bootstrap"})
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: "check --forge-url and --forge-api"})
		return
	}
	repo, ok := r.ensureRepo(ctx, c, f, name)
	if !ok {
		return
	}
	if f.CreateRepo {
		r.pushSite(ctx, f, repo)
	}
	r.storeSecrets(ctx, c, f)
}

// ensureRepo finds the repo, creating it with CreateRepo.
func (r *runner) ensureRepo(ctx context.Context, c forge.Client, f *Forge, name string) (forge.Repo, bool) {
	repo, err := c.Repo(ctx)
	switch {
	case err == nil:
		r.report(Step{Name: name, Status: AlreadyThere, Detail: "exists"})
		return repo, true
	case forge.Status(err) == http.StatusUnauthorized:
		r.report(Step{Name: name, Status: Failed, Detail: "the forge refused the token (401)", Fix: "create a new access token (see docs/maintainers/onboarding.md for its scopes) and give it again"})
		return repo, false
	case forge.Status(err) != http.StatusNotFound:
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: "check --forge-url and the network, then run again"})
		return repo, false
	case !f.CreateRepo:
		r.report(Step{Name: name, Status: Failed, Detail: "not found (or the token may not see it)",
			Fix: "run again with --create-repo to create it from the local site repo, or check --repo OWNER/NAME and the token's access"})
		return repo, false
	}
	login, err := c.User(ctx)
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: "check the token (it needs to read the user)"})
		return repo, false
	}
	if repo, err = c.CreateRepo(ctx, forge.NewRepo{Description: "nassella site " + r.cfg.Site.Name, Private: f.Private}); err != nil {
		fix := "check that the token may create repositories"
		if !strings.EqualFold(login, f.Owner) {
			fix += " in the organisation " + f.Owner + " (its user must be an owner or allowed to create repos there)"
		}
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: fix})
		return repo, false
	}
	r.report(Step{Name: name, Status: Done, Detail: "created (private: " + fmt.Sprint(f.Private) + ")"})
	return repo, true
}

// pushSite pushes the local site repo's current branch to the forge's main branch.
func (r *runner) pushSite(ctx context.Context, f *Forge, repo forge.Repo) {
	name := "push the site to main"
	dir := f.Dir
	if dir == "" {
		dir = "."
	}
	local, err := git.PlainOpen(dir)
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: fmt.Sprintf("%s is not a git repo: %v", dir, err), Fix: "run in the site repo (nassella init makes one)"})
		return
	}
	head, err := local.Head()
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: "the site repo has no commit yet", Fix: "commit the site first (nassella init commits a complete site)"})
		return
	}
	remote := repo.CloneURL
	if remote == "" {
		remote = f.URL + "/" + f.Owner + "/" + f.Repo + ".git"
	}
	at, err := remoteMain(ctx, local, remote, f.Token)
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: "check that the token may read the repo"})
		return
	}
	if at == head.Hash() {
		r.report(Step{Name: name, Status: AlreadyThere, Detail: "main is at " + head.Hash().String()[:12]})
		return
	}
	// Pushed to the URL itself: the local repo's config is left as it is.
	err = gitx.Push(ctx, local, remote, []config.RefSpec{config.RefSpec(head.Name().String() + ":refs/heads/main")}, f.Token, false)
	if err != nil {
		fix := "check that the token may push to the repo"
		if strings.Contains(err.Error(), "non-fast-forward") {
			fix = "main on the forge has commits the local repo does not: pull them into the local site repo (git pull), then run again"
		}
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: fix})
		return
	}
	r.report(Step{Name: name, Status: Done, Detail: "pushed " + head.Name().Short() + " (" + head.Hash().String()[:12] + ") to main"})
}

// remoteMain is the commit main points at in the repo at url, zero when the repo is
// empty or has no main.
func remoteMain(ctx context.Context, local *git.Repository, url, token string) (plumbing.Hash, error) {
	rem := git.NewRemote(local.Storer, &config.RemoteConfig{Name: "nassella-bootstrap", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: gitx.Auth(token)})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, gitx.Error("listing the branches of "+url, err, token)
	}
	for _, ref := range refs {
		if ref.Name() == plumbing.NewBranchReferenceName("main") {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// storeSecrets puts the workflows' secrets in the forge's secret store, by name only in
// the report. Secrets the forge already has stay unless ReplaceSecrets.
func (r *runner) storeSecrets(ctx context.Context, c forge.Client, f *Forge) {
	names, err := c.SecretNames(ctx)
	if err != nil {
		r.report(Step{Name: "secrets on the forge", Status: Failed, Detail: err.Error(), Fix: secretsFix(f)})
		return
	}
	existing := map[string]bool{}
	for _, n := range names {
		existing[strings.ToUpper(n)] = true
	}
	for _, s := range Secrets {
		value := r.cfg.Secrets[s.Name]
		name := "secret " + s.Name
		switch {
		case !s.Needed(&r.cfg):
			continue
		case value == "":
			r.report(Step{Name: name, Status: Skipped, Detail: "not given (see above)"})
			continue
		}
		if existing[s.Name] && !f.ReplaceSecrets {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept (--replace-secrets overwrites it)"})
			continue
		}
		if existing[s.Name] && r.generated[s.Name] {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept: the key made by this run is dropped (give the key to replace it with; a new host key needs a new server)"})
			continue
		}
		created, err := c.SetSecret(ctx, s.Name, value)
		switch {
		case err != nil:
			r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: secretsFix(f)})
		case created:
			r.report(Step{Name: name, Status: Done, Detail: "stored"})
		default:
			r.report(Step{Name: name, Status: Done, Detail: "replaced"})
		}
	}
}

func secretsFix(f *Forge) string {
	if f.Kind == "github" {
		return "the token needs the repository permission Secrets: read and write (fine-grained) or the repo scope (classic)"
	}
	return "the token needs the write:repository scope and admin rights on the repo"
}
