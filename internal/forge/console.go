package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// What nassella console reads and does as the person signed in, with their own token: so
// the forge's permissions are the console's.

// Console is the part of Client the console needs besides pull requests and comments.
type Console interface {
	// Me describes the token's user.
	Me(ctx context.Context) (Person, error)
	// Access reads the repo with what the token's user may do in it.
	Access(ctx context.Context) (Access, error)
	// File reads the file at path on ref (the default branch when ref is ""); a file that
	// does not exist is an error whose Status is 404.
	File(ctx context.Context, path, ref string) ([]byte, error)
	// Checks lists the checks reported on commit ref, the newest of each name.
	Checks(ctx context.Context, ref string) ([]Check, error)
	// Merge merges pull request number with a merge commit, only while its head is
	// still sha (the commit the person looked at).
	Merge(ctx context.Context, number int, sha string) error
}

// Person is a forge user.
type Person struct {
	Login, Name, Email string
}

// Access is a repo and the token's user's permissions in it.
type Access struct {
	Repo
	FullName    string // OWNER/NAME
	HTMLURL     string
	Description string
	// Admin, Push and Pull are the forge's own permission flags: GitHub's and Gitea's
	// repository objects carry them for the token's user
	// (docs.github.com/rest/repos/repos#get-a-repository; Gitea modules/structs/repo.go
	// Permission).
	Admin, Push, Pull bool
}

// Check is one check or commit status on a commit.
type Check struct {
	Name        string
	State       string // success, pending, failure or error
	Description string
	URL         string
}

// repoJSON is the part of a repository both forges answer alike.
type repoJSON struct {
	FullName      string `json:"full_name"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
	Private       bool   `json:"private"`
	Description   string `json:"description"`
	Permissions   struct {
		Admin bool `json:"admin"`
		Push  bool `json:"push"`
		Pull  bool `json:"pull"`
	} `json:"permissions"`
}

func (r repoJSON) access() Access {
	return Access{Repo: Repo{CloneURL: r.CloneURL, DefaultBranch: r.DefaultBranch, Private: r.Private},
		FullName: r.FullName, HTMLURL: r.HTMLURL, Description: r.Description,
		Admin: r.Permissions.Admin, Push: r.Permissions.Push || r.Permissions.Admin, Pull: r.Permissions.Pull}
}

// Me reads GET /user: GitHub names the display name "name", Gitea "full_name"
// (modules/structs/user.go).
func (b *base) Me(ctx context.Context) (Person, error) {
	var u struct {
		Login    string `json:"login"`
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		Email    string `json:"email"`
	}
	if _, err := b.raw(ctx, "reading the signed-in user for", http.MethodGet, "user", nil, &u); err != nil {
		return Person{}, err
	}
	p := Person{Login: u.Login, Name: u.FullName, Email: u.Email}
	if p.Name == "" {
		p.Name = u.Name
	}
	return p, nil
}

func (b *base) Access(ctx context.Context) (Access, error) {
	var r repoJSON
	if _, err := b.raw(ctx, "reading", http.MethodGet, "repos/"+b.path(), nil, &r); err != nil {
		return Access{}, err
	}
	return r.access(), nil
}

func (b *base) path() string { return url.PathEscape(b.owner) + "/" + url.PathEscape(b.name) }

// escapePath escapes each segment of a file path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// getRaw sends a GET for a file's bytes with accept as the Accept header.
func (b *base) getRaw(ctx context.Context, what, path, accept string) ([]byte, error) {
	var buf bytes.Buffer
	err := b.retry(ctx, what, func() (*github.Response, error) {
		buf.Reset()
		req, err := b.gh.NewRequest(http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		return b.gh.Do(ctx, req, &buf)
	})
	return buf.Bytes(), err
}

// File is Gitea's GET /repos/{owner}/{repo}/raw/{filepath}?ref=, which answers the bytes
// with the blob's id as ETag (routers/api/v1/repo/file.go GetRawFile).
func (c *giteaClient) File(ctx context.Context, path, ref string) ([]byte, error) {
	p := fmt.Sprintf("repos/%s/raw/%s", c.path(), escapePath(path))
	if ref != "" {
		p += "?ref=" + url.QueryEscape(ref)
	}
	return c.getRaw(ctx, "reading "+path+" of", p, "")
}

// File is GitHub's GET /repos/{owner}/{repo}/contents/{path} with the raw media type
// (docs.github.com/rest/repos/contents#get-repository-content, "application/vnd.github.raw+json").
func (c *githubClient) File(ctx context.Context, path, ref string) ([]byte, error) {
	p := fmt.Sprintf("repos/%s/contents/%s", c.path(), escapePath(path))
	if ref != "" {
		p += "?ref=" + url.QueryEscape(ref)
	}
	return c.getRaw(ctx, "reading "+path+" of", p, "application/vnd.github.raw+json")
}

// statuses reads the combined commit status, GET /repos/{owner}/{repo}/commits/{ref}/status,
// the newest status of each context (GitHub: docs.github.com/rest/commits/statuses;
// Gitea: routers/api/v1/repo/status.go GetCombinedCommitStatusByRef).
func (b *base) statuses(ctx context.Context, ref string) ([]Check, error) {
	var combined struct {
		Statuses []struct {
			Context     string `json:"context"`
			State       string `json:"state"`
			Status      string `json:"status"` // Gitea before 1.22 named it so
			Description string `json:"description"`
			TargetURL   string `json:"target_url"`
		} `json:"statuses"`
	}
	if _, err := b.raw(ctx, "reading the checks of "+ref+" in", http.MethodGet,
		fmt.Sprintf("repos/%s/commits/%s/status", b.path(), url.PathEscape(ref)), nil, &combined); err != nil {
		return nil, err
	}
	var out []Check
	for _, s := range combined.Statuses {
		state := s.State
		if state == "" {
			state = s.Status
		}
		if state == "warning" {
			state = "failure"
		}
		out = append(out, Check{Name: s.Context, State: state, Description: s.Description, URL: s.TargetURL})
	}
	return out, nil
}

func (c *giteaClient) Checks(ctx context.Context, ref string) ([]Check, error) {
	return c.statuses(ctx, ref)
}

// Checks adds GitHub's check runs (GET /repos/{owner}/{repo}/commits/{ref}/check-runs,
// docs.github.com/rest/checks/runs), where GitHub Actions reports, to the statuses.
func (c *githubClient) Checks(ctx context.Context, ref string) ([]Check, error) {
	out, err := c.statuses(ctx, ref)
	if err != nil {
		return nil, err
	}
	var runs struct {
		CheckRuns []struct {
			Name       string `json:"name"`
			Status     string `json:"status"`     // queued, in_progress, completed
			Conclusion string `json:"conclusion"` // success, failure, neutral, cancelled, skipped, timed_out, action_required
			HTMLURL    string `json:"html_url"`
			Output     struct {
				Title string `json:"title"`
			} `json:"output"`
		} `json:"check_runs"`
	}
	if _, err := c.raw(ctx, "reading the check runs of "+ref+" in", http.MethodGet,
		fmt.Sprintf("repos/%s/commits/%s/check-runs?per_page=100", c.path(), url.PathEscape(ref)), nil, &runs); err != nil {
		return nil, err
	}
	for _, r := range runs.CheckRuns {
		state := "pending"
		switch {
		case r.Status != "completed":
		case r.Conclusion == "success" || r.Conclusion == "neutral" || r.Conclusion == "skipped":
			state = "success"
		default:
			state = "failure"
		}
		out = append(out, Check{Name: r.Name, State: state, Description: r.Output.Title, URL: r.HTMLURL})
	}
	return out, nil
}

// ErrHeadMoved says a pull request got new commits after the person looked at it.
var ErrHeadMoved = errors.New("the pull request changed since you opened it; look at it again before merging")

// Merge is Gitea's POST /repos/{owner}/{repo}/pulls/{index}/merge with Do merge and
// head_commit_id (services/forms/repo_form.go MergePullRequestForm), which refuses a
// head that moved on with 409 "head out of date" (routers/api/v1/repo/pull.go). Gitea answers 405 "Please try again later" while it still checks
// a new pull request's mergeability: that is waited out, boundedly.
func (c *giteaClient) Merge(ctx context.Context, number int, sha string) error {
	in := map[string]any{"Do": "merge", "head_commit_id": sha}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.raw(ctx, fmt.Sprintf("merging pull request #%d of", number), http.MethodPost,
			fmt.Sprintf("repos/%s/pulls/%d/merge", c.path(), number), in, nil)
		var er *github.ErrorResponse
		if !errors.As(err, &er) || er.Response == nil {
			return err
		}
		switch {
		case er.Response.StatusCode == http.StatusConflict && strings.Contains(er.Message, "head"):
			return ErrHeadMoved
		case er.Response.StatusCode == http.StatusMethodNotAllowed && strings.Contains(er.Message, "try again later") && time.Now().Before(deadline):
			if err := c.opts.Sleep(ctx, 250*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// Merge is GitHub's PUT /repos/{owner}/{repo}/pulls/{number}/merge with sha, which answers
// 409 when the head is no longer sha (docs.github.com/rest/pulls/pulls#merge-a-pull-request).
func (c *githubClient) Merge(ctx context.Context, number int, sha string) error {
	_, err := c.raw(ctx, fmt.Sprintf("merging pull request #%d of", number), http.MethodPut,
		fmt.Sprintf("repos/%s/pulls/%d/merge", c.path(), number), map[string]any{"sha": sha, "merge_method": "merge"}, nil)
	if Status(err) == http.StatusConflict {
		return ErrHeadMoved
	}
	return err
}

// VisibleRepos lists the repos the token's user can see, with their permissions in each:
// GET /user/repos, which on Gitea lists the user's own repos and those they reach as a
// collaborator, through a team or an organisation (routers/api/v1/user/repo.go
// ListMyRepos; models/repo/repo_list.go SearchRepositoryCondition), and on GitHub those
// of every affiliation asked for (docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user).
// At most max repos are read.
func VisibleRepos(ctx context.Context, kind, apiURL, token string, opts Options, max int) ([]Access, error) {
	c, err := New(kind, apiURL, "", "", token, opts)
	if err != nil {
		return nil, err
	}
	b := baseOf(c)
	query := "user/repos?affiliation=owner,collaborator,organization_member&sort=full_name&per_page=100&page=%d"
	if kind != KindGitHub {
		query = "user/repos?limit=" + fmt.Sprint(giteaPage) + "&page=%d"
	}
	var out []Access
	for page := 1; page != 0 && len(out) < max; {
		var list []repoJSON
		resp, err := b.raw(ctx, "listing the repos of the signed-in user", http.MethodGet, fmt.Sprintf(query, page), nil, &list)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			out = append(out, r.access())
		}
		page = resp.NextPage
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func baseOf(c Client) *base {
	switch c := c.(type) {
	case *githubClient:
		return &c.base
	case *giteaClient:
		return &c.base
	}
	panic(fmt.Sprintf("forge: unknown client %T", c))
}
