package forge

import (
	"context"
	"strings"

	"github.com/google/go-github/v62/github"
)

func repoFrom(r *github.Repository) Repo {
	return Repo{CloneURL: r.GetCloneURL(), DefaultBranch: r.GetDefaultBranch(), Private: r.GetPrivate()}
}

func (b *base) Repo(ctx context.Context) (Repo, error) {
	var r *github.Repository
	err := b.retry(ctx, "reading the repo", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		r, resp, err = b.gh.Repositories.Get(ctx, b.owner, b.name)
		return resp, err
	})
	if err != nil {
		return Repo{}, err
	}
	return repoFrom(r), nil
}

func (b *base) User(ctx context.Context) (string, error) {
	b.cache.mu.Lock()
	defer b.cache.mu.Unlock()
	if b.cache.login != "" {
		return b.cache.login, nil
	}
	var u *github.User
	err := b.retry(ctx, "reading the token's user for", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		u, resp, err = b.gh.Users.Get(ctx, "")
		return resp, err
	})
	if err != nil {
		return "", err
	}
	b.cache.login = u.GetLogin()
	return b.cache.login, nil
}

// org is the organisation a new repo is created in, or "" for the token's own user.
func (b *base) org(ctx context.Context) (string, error) {
	login, err := b.User(ctx)
	if err != nil || strings.EqualFold(login, b.owner) {
		return "", err
	}
	return b.owner, nil
}
