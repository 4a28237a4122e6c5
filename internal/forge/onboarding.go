package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-github/v62/github"
)

// What bootstrap reads (and with --protect sets) on the forge for a new site: whether the
// repo's Actions are on, which runners can take its jobs, and the protection of main.

// Actions is what the forge says about running the repo's workflows.
type Actions struct {
	// Enabled is false when the repo's Actions are switched off.
	Enabled bool
	// Hosted is true when the forge runs jobs on its own runners (GitHub-hosted): no
	// runner needs registering.
	Hosted bool
	// Runners are the self-hosted runners the token could see, by where they are
	// registered.
	Runners []Runner
	// Looked lists where runners were looked for ("repo", "organisation", "instance");
	// Unreadable where the token may not look (the runners may be there).
	Looked, Unreadable []string
}

// Runner is one registered runner.
type Runner struct {
	Name   string
	Scope  string // repo, organisation or instance
	Online bool
}

// Protection is a branch's protection as far as nassella cares.
type Protection struct {
	// Checks are the status checks that must pass before a merge.
	Checks []string
	// PullRequestsOnly is true when nobody may push to the branch directly.
	PullRequestsOnly bool
}

// Requires reports whether every check is required.
func (p Protection) Requires(checks []string) bool {
	for _, c := range checks {
		if !slices.Contains(p.Checks, c) {
			return false
		}
	}
	return true
}

// giteaRunners is Gitea's answer to a runners list (modules/structs/repo_actions.go
// ActionRunnersResponse, Gitea 1.26).
type giteaRunners struct {
	Runners []struct {
		Name     string `json:"name"`
		Status   string `json:"status"` // online or offline
		Disabled bool   `json:"disabled"`
	} `json:"runners"`
}

// Actions reads the repo's has_actions and the runners registered for the repo, its
// organisation and the instance, as far as the token may see them
// (GET /repos/{o}/{r}/actions/runners, /orgs/{org}/actions/runners for its owners,
// /admin/actions/runners for site admins: routers/api/v1/api.go, Gitea 1.26). Gitea
// lists a scope's own runners only, so each scope is asked.
func (c *giteaClient) Actions(ctx context.Context) (Actions, error) {
	var repo struct {
		HasActions bool `json:"has_actions"`
	}
	if _, err := c.raw(ctx, "reading the repo", "GET", fmt.Sprintf("repos/%s/%s", c.owner, c.name), nil, &repo); err != nil {
		return Actions{}, err
	}
	out := Actions{Enabled: repo.HasActions}
	org, err := c.org(ctx)
	if err != nil {
		return out, err
	}
	scopes := []struct{ scope, path string }{{"repo", fmt.Sprintf("repos/%s/%s/actions/runners", c.owner, c.name)}}
	if org != "" {
		scopes = append(scopes, struct{ scope, path string }{"organisation", "orgs/" + org + "/actions/runners"})
	}
	scopes = append(scopes, struct{ scope, path string }{"instance", "admin/actions/runners"})
	for _, s := range scopes {
		var got giteaRunners
		_, err := c.raw(ctx, "listing the "+s.scope+" runners of", "GET", s.path, nil, &got)
		switch st := Status(err); {
		case err == nil:
			out.Looked = append(out.Looked, s.scope)
		case st == http.StatusForbidden || st == http.StatusNotFound || st == http.StatusUnauthorized:
			out.Unreadable = append(out.Unreadable, s.scope)
			continue
		default:
			return out, err
		}
		for _, r := range got.Runners {
			if !r.Disabled {
				out.Runners = append(out.Runners, Runner{Name: r.Name, Scope: s.scope, Online: r.Status == "online"})
			}
		}
	}
	return out, nil
}

// giteaProtection is a Gitea branch protection rule (modules/structs/repo_branch.go
// BranchProtection and CreateBranchProtectionOption, Gitea 1.26).
type giteaProtection struct {
	RuleName            string   `json:"rule_name"`
	EnablePush          bool     `json:"enable_push"` // false: changes only through pull requests
	EnableStatusCheck   bool     `json:"enable_status_check"`
	StatusCheckContexts []string `json:"status_check_contexts"`
}

// BranchProtection reads the rule named after the branch
// (GET /repos/{o}/{r}/branch_protections/{name}; 404 when there is none).
func (c *giteaClient) BranchProtection(ctx context.Context, branch string) (Protection, bool, error) {
	var p giteaProtection
	_, err := c.raw(ctx, "reading the protection of "+branch+" in", "GET", fmt.Sprintf("repos/%s/%s/branch_protections/%s", c.owner, c.name, branch), nil, &p)
	if Status(err) == http.StatusNotFound {
		return Protection{}, false, nil
	}
	if err != nil {
		return Protection{}, false, err
	}
	out := Protection{PullRequestsOnly: !p.EnablePush}
	if p.EnableStatusCheck {
		out.Checks = p.StatusCheckContexts
	}
	return out, true, nil
}

// ProtectBranch creates the rule (POST .../branch_protections) or edits it (PATCH
// .../branch_protections/{name}): no direct pushes, the checks must pass.
func (c *giteaClient) ProtectBranch(ctx context.Context, branch string, checks []string) error {
	_, found, err := c.BranchProtection(ctx, branch)
	if err != nil {
		return err
	}
	method, path := "POST", fmt.Sprintf("repos/%s/%s/branch_protections", c.owner, c.name)
	if found {
		method, path = "PATCH", path+"/"+branch
	}
	_, err = c.raw(ctx, "protecting "+branch+" in", method, path,
		giteaProtection{RuleName: branch, EnablePush: false, EnableStatusCheck: true, StatusCheckContexts: checks}, nil)
	return err
}

// Actions reads GET /repos/{o}/{r}/actions/permissions ("enabled"; GitHub REST
// "Get GitHub Actions permissions for a repository"). The site workflows run on
// GitHub-hosted runners, so none needs registering.
func (c *githubClient) Actions(ctx context.Context) (Actions, error) {
	var perm struct {
		Enabled bool `json:"enabled"`
	}
	if _, err := c.raw(ctx, "reading the Actions permissions of", "GET", fmt.Sprintf("repos/%s/%s/actions/permissions", c.owner, c.name), nil, &perm); err != nil {
		return Actions{}, err
	}
	return Actions{Enabled: perm.Enabled, Hosted: true}, nil
}

// BranchProtection reads GET /repos/{o}/{r}/branches/{b}/protection (go-github
// answers ErrBranchNotProtected for GitHub's 404 "Branch not protected").
func (c *githubClient) BranchProtection(ctx context.Context, branch string) (Protection, bool, error) {
	var p *github.Protection
	err := c.retry(ctx, "reading the protection of "+branch+" in", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		p, resp, err = c.gh.Repositories.GetBranchProtection(ctx, c.owner, c.name, branch)
		return resp, err
	})
	if errors.Is(err, github.ErrBranchNotProtected) {
		return Protection{}, false, nil
	}
	if err != nil {
		return Protection{}, false, err
	}
	out := Protection{PullRequestsOnly: p.GetRequiredPullRequestReviews() != nil}
	if rs := p.GetRequiredStatusChecks(); rs != nil {
		if rs.Contexts != nil {
			out.Checks = *rs.Contexts
		}
		for _, ch := range rs.GetChecks() {
			if !slices.Contains(out.Checks, ch.Context) {
				out.Checks = append(out.Checks, ch.Context)
			}
		}
	}
	return out, true, nil
}

// ProtectBranch sets PUT /repos/{o}/{r}/branches/{b}/protection: the checks must pass
// on an up-to-date branch and changes come through pull requests (no approval needed:
// a site often has one owner).
func (c *githubClient) ProtectBranch(ctx context.Context, branch string, checks []string) error {
	return c.retry(ctx, "protecting "+branch+" in", func() (*github.Response, error) {
		_, resp, err := c.gh.Repositories.UpdateBranchProtection(ctx, c.owner, c.name, branch, &github.ProtectionRequest{
			RequiredStatusChecks:       &github.RequiredStatusChecks{Strict: true, Contexts: &checks},
			RequiredPullRequestReviews: &github.PullRequestReviewsEnforcementRequest{RequiredApprovingReviewCount: 0},
		})
		return resp, err
	})
}
