package bootstrap

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/nacl/box"
)

// forgeClient speaks the few REST calls bootstrap needs to Gitea/Forgejo or GitHub.
type forgeClient struct {
	f     *Forge
	http  *http.Client
	login string // the token's user, once read
}

// user returns the token's user.
func (c *forgeClient) user(ctx context.Context) (string, error) {
	if c.login != "" {
		return c.login, nil
	}
	var me struct {
		Login string `json:"login"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/user", nil, &me); err != nil {
		return "", err
	}
	c.login = me.Login
	return c.login, nil
}

// apiError is a forge's answer with a status of 300 or more.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func (c *forgeClient) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.f.API+path, body)
	if err != nil {
		return 0, err
	}
	if c.f.Kind == "github" {
		req.Header.Set("Authorization", "Bearer "+c.f.Token)
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	} else {
		req.Header.Set("Authorization", "token "+c.f.Token)
		req.Header.Set("Accept", "application/json")
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return resp.StatusCode, &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: msg}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *forgeClient) repoPath() string {
	return "/repos/" + url.PathEscape(c.f.Owner) + "/" + url.PathEscape(c.f.Repo)
}

type repoJSON struct {
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
	Empty         bool   `json:"empty"`
}

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
	c := &forgeClient{f: f, http: r.cfg.HTTPClient}
	repo, ok := r.ensureRepo(ctx, c, name)
	if !ok {
		return
	}
	if f.CreateRepo {
		r.pushSite(ctx, c, repo)
	}
	r.storeSecrets(ctx, c)
}

// ensureRepo finds the repo, creating it with CreateRepo.
func (r *runner) ensureRepo(ctx context.Context, c *forgeClient, name string) (repoJSON, bool) {
	f := c.f
	var repo repoJSON
	_, err := c.do(ctx, http.MethodGet, c.repoPath(), nil, &repo)
	switch {
	case err == nil:
		r.report(Step{Name: name, Status: AlreadyThere, Detail: "exists"})
		return repo, true
	case statusOf(err) == http.StatusUnauthorized:
		r.report(Step{Name: name, Status: Failed, Detail: "the forge refused the token (401)", Fix: "create a new access token (see docs/maintainers/onboarding.md for its scopes) and give it again"})
		return repo, false
	case statusOf(err) != http.StatusNotFound:
		r.report(Step{Name: name, Status: Failed, Detail: err.Error(), Fix: "check --forge-url and the network, then run again"})
		return repo, false
	case !f.CreateRepo:
		r.report(Step{Name: name, Status: Failed, Detail: "not found (or the token may not see it)",
			Fix: "run again with --create-repo to create it from the local site repo, or check --repo OWNER/NAME and the token's access"})
		return repo, false
	}
	login, err := c.user(ctx)
	if err != nil {
		r.report(Step{Name: name, Status: Failed, Detail: "reading the token's user: " + err.Error(), Fix: "check the token (it needs to read the user)"})
		return repo, false
	}
	body := map[string]any{
		"name":        f.Repo,
		"private":     f.Private,
		"auto_init":   false,
		"description": "nassella site " + r.cfg.Site.Name,
	}
	path := "/user/repos"
	if !strings.EqualFold(login, f.Owner) {
		path = "/orgs/" + url.PathEscape(f.Owner) + "/repos"
	}
	if f.Kind != "github" {
		body["default_branch"] = "main"
	}
	if _, err := c.do(ctx, http.MethodPost, path, body, &repo); err != nil {
		fix := "check that the token may create repositories"
		if path != "/user/repos" {
			fix += " in the organisation " + f.Owner + " (its user must be an owner or allowed to create repos there)"
		}
		r.report(Step{Name: name, Status: Failed, Detail: "creating it: " + err.Error(), Fix: fix})
		return repo, false
	}
	r.report(Step{Name: name, Status: Done, Detail: "created (private: " + fmt.Sprint(f.Private) + ")"})
	return repo, true
}

// pushSite pushes the local site repo's current branch to the forge's main branch.
func (r *runner) pushSite(ctx context.Context, c *forgeClient, repo repoJSON) {
	f := c.f
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
	user := "x-access-token"
	if f.Kind != "github" {
		// Gitea and Forgejo take a token as the password of its own user.
		if user, err = c.user(ctx); err != nil {
			r.report(Step{Name: name, Status: Failed, Detail: "reading the token's user: " + err.Error(), Fix: "check the token (it needs to read the user)"})
			return
		}
	}
	// An anonymous remote: the local repo's config is left as it is.
	rem := git.NewRemote(local.Storer, &config.RemoteConfig{Name: "nassella-bootstrap", URLs: []string{remote}})
	err = rem.PushContext(ctx, &git.PushOptions{
		RemoteName: "nassella-bootstrap",
		RefSpecs:   []config.RefSpec{config.RefSpec(head.Name().String() + ":refs/heads/main")},
		Auth:       &githttp.BasicAuth{Username: user, Password: f.Token},
	})
	switch {
	case errors.Is(err, git.NoErrAlreadyUpToDate):
		r.report(Step{Name: name, Status: AlreadyThere, Detail: "main is at " + head.Hash().String()[:12]})
	case err != nil:
		msg := strings.ReplaceAll(err.Error(), f.Token, "[token]")
		fix := "check that the token may push to the repo"
		if strings.Contains(msg, "non-fast-forward") {
			fix = "main on the forge has commits the local repo does not: pull them into the local site repo (git pull), then run again"
		}
		r.report(Step{Name: name, Status: Failed, Detail: msg, Fix: fix})
	default:
		r.report(Step{Name: name, Status: Done, Detail: "pushed " + head.Name().Short() + " (" + head.Hash().String()[:12] + ") to main"})
	}
}

// storeSecrets puts the workflows' secrets in the forge's secret store, by name only in
// the report. Secrets the forge already has stay unless ReplaceSecrets.
func (r *runner) storeSecrets(ctx context.Context, c *forgeClient) {
	existing, err := c.secretNames(ctx)
	if err != nil {
		r.report(Step{Name: "secrets on the forge", Status: Failed, Detail: "listing them: " + err.Error(), Fix: secretsFix(c.f)})
		return
	}
	var pk *githubKey
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
		if existing[s.Name] && !c.f.ReplaceSecrets {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "kept (--replace-secrets overwrites it)"})
			continue
		}
		var status int
		if c.f.Kind == "github" {
			if pk == nil {
				if pk, err = c.githubPublicKey(ctx); err != nil {
					r.report(Step{Name: name, Status: Failed, Detail: "reading the repo's public key: " + err.Error(), Fix: secretsFix(c.f)})
					return
				}
			}
			sealed, err := seal(pk, value)
			if err != nil {
				r.report(Step{Name: name, Status: Failed, Detail: "encrypting it: " + err.Error(), Fix: "run again"})
				return
			}
			status, err = c.do(ctx, http.MethodPut, c.repoPath()+"/actions/secrets/"+s.Name, map[string]string{"encrypted_value": sealed, "key_id": pk.KeyID}, nil)
		} else {
			status, err = c.do(ctx, http.MethodPut, c.repoPath()+"/actions/secrets/"+s.Name, map[string]string{"data": value}, nil)
		}
		switch {
		case err != nil:
			r.report(Step{Name: name, Status: Failed, Detail: "storing it: " + err.Error(), Fix: secretsFix(c.f)})
		case status == http.StatusCreated:
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

// secretNames lists the names of the repo's action secrets.
func (c *forgeClient) secretNames(ctx context.Context) (map[string]bool, error) {
	type named struct {
		Name string `json:"name"`
	}
	names := map[string]bool{}
	for page := 1; page < 100; page++ {
		var got []named
		more := false
		if c.f.Kind == "github" {
			var resp struct {
				TotalCount int     `json:"total_count"`
				Secrets    []named `json:"secrets"`
			}
			if _, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/actions/secrets?per_page=100&page=%d", c.repoPath(), page), nil, &resp); err != nil {
				return nil, err
			}
			got = resp.Secrets
			more = len(got) > 0 && len(names)+len(got) < resp.TotalCount
		} else {
			if _, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/actions/secrets?limit=50&page=%d", c.repoPath(), page), nil, &got); err != nil {
				return nil, err
			}
			more = len(got) == 50
		}
		for _, s := range got {
			names[strings.ToUpper(s.Name)] = true
		}
		if !more {
			break
		}
	}
	return names, nil
}

type githubKey struct {
	KeyID string `json:"key_id"`
	Key   string `json:"key"`
}

func (c *forgeClient) githubPublicKey(ctx context.Context) (*githubKey, error) {
	var k githubKey
	if _, err := c.do(ctx, http.MethodGet, c.repoPath()+"/actions/secrets/public-key", nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// seal encrypts value for GitHub: a libsodium sealed box to the repo's public key,
// base64-encoded.
func seal(k *githubKey, value string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("the repo's public key is not a base64 Curve25519 key")
	}
	var pub [32]byte
	copy(pub[:], raw)
	out, err := box.SealAnonymous(nil, []byte(value), &pub, rand.Reader)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out), nil
}
