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

// ensureForge makes sure the site repo is on the forge and holds the workflows'
// secrets, then (with CreateRepo) proposes the local site repo as its first pull
// request, and reads the forge's settings the workflows need. The secrets are stored
// before anything is pushed: a push starts the workflows, which must find them.
func (r *runner) ensureForge(ctx context.Context) {
	f := r.cfg.Forge
	if f == nil {
		r.report(Step{Name: "site repo on the forge", Status: Skipped, Detail: "no forge given (--forge, --forge-url, --repo)"})
		r.writeBackupKey()
		r.checkCommitted()
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
	secretsOK := r.storeSecrets(ctx, c, f)
	r.writeBackupKey()
	committed := r.checkCommitted()
	switch {
	case !f.CreateRepo:
		r.report(Step{Name: stepFirstPR, Status: Skipped, Detail: "not asked for: --create-repo proposes the local site repo as the first pull request"})
	case !secretsOK:
		r.report(Step{Name: stepFirstPR, Status: Skipped, Detail: "the secrets must be on the forge first: a push starts the workflows, which need them"})
	case !committed:
		r.report(Step{Name: stepFirstPR, Status: Skipped, Detail: "the generated files are not committed (see above)"})
	default:
		r.proposeSite(ctx, c, f, repo)
	}
	r.checkActions(ctx, c, f)
	r.checkProtection(ctx, c, f)
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
// the report. Secrets the forge already has stay unless ReplaceSecrets. It reports
// whether the forge holds every secret the site needs.
func (r *runner) storeSecrets(ctx context.Context, c forge.Client, f *Forge) bool {
	names, err := c.SecretNames(ctx)
	if err != nil {
		r.report(Step{Name: "secrets on the forge", Status: Failed, Detail: err.Error(), Fix: secretsFix(f)})
		return false
	}
	existing := map[string]bool{}
	for _, n := range names {
		existing[strings.ToUpper(n)] = true
	}
	r.stored = existing
	all := true
	for _, s := range Secrets {
		value := r.cfg.Secrets[s.Name]
		name := "secret " + s.Name
		switch {
		case !s.Needed(&r.cfg):
			continue
		case value == "" && s.Name == BackupKeySecret && existing[s.Name]:
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept (the private half of admin.backup_key)"})
			continue
		case value == "" && s.Name == BackupKeySecret:
			all = false
			r.report(Step{Name: name, Status: Failed, Detail: "site.yaml has admin.backup_key, but the forge has no " + BackupKeySecret + " and none was given",
				Fix: "give the key's private half as " + BackupKeySecret + ", or delete the backup_key line from site.yaml, commit, and run again: bootstrap then makes a new pair"})
			continue
		case value == "":
			all = all && existing[s.Name] // one stored earlier still serves the workflows
			r.report(Step{Name: name, Status: Skipped, Detail: "not given (see above)"})
			continue
		}
		if existing[s.Name] && !f.ReplaceSecrets && !r.replace[s.Name] {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept (--replace-secrets overwrites it)"})
			continue
		}
		if existing[s.Name] && r.generated[s.Name] {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept: the key made by this run is dropped (give the key to replace it with; a new host key needs a new server)"})
			continue
		}
		created, err := c.SetSecret(ctx, s.Name, value)
		if err == nil {
			r.stored[s.Name] = true
		}
		switch {
		case err != nil:
			all = false
			r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: secretsFix(f)})
		case created:
			r.report(Step{Name: name, Status: Done, Detail: "stored"})
		default:
			r.report(Step{Name: name, Status: Done, Detail: "replaced"})
		}
	}
	return all
}

func secretsFix(f *Forge) string {
	if f.Kind == "github" {
		return "the token needs the repository permission Secrets: read and write (fine-grained) or the repo scope (classic)"
	}
	return "the token needs the write:repository scope and admin rights on the repo"
}
