package forge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
	"golang.org/x/crypto/nacl/box"
)

// githubClient talks to GitHub, GitHub Enterprise Server or the simulator.
type githubClient struct{ base }

func (c *githubClient) AddLabels(ctx context.Context, number int, labels []string) error {
	// GitHub creates a label that does not exist yet.
	return c.retry(ctx, fmt.Sprintf("labelling pull request #%d of", number), func() (*github.Response, error) {
		_, resp, err := c.gh.Issues.AddLabelsToIssue(ctx, c.owner, c.name, number, labels)
		return resp, err
	})
}

const enableAutoMerge = `mutation($id: ID!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: MERGE}) {
    pullRequest { autoMergeRequest { enabledAt } }
  }
}`

// graphqlURL is where GitHub's GraphQL API is, next to the REST API: api.github.com/graphql,
// or <host>/api/graphql on GitHub Enterprise Server (REST at <host>/api/v3/).
func (c *githubClient) graphqlURL() string {
	u := c.gh.BaseURL.String()
	if strings.HasSuffix(u, "/api/v3/") {
		return strings.TrimSuffix(u, "v3/") + "graphql"
	}
	return u + "graphql"
}

// EnableAutoMerge turns on auto-merge through GraphQL's enablePullRequestAutoMerge (the
// REST API has no call for it). The repo must allow auto-merge and the base branch must
// require checks, or GitHub refuses; the error says so.
func (c *githubClient) EnableAutoMerge(ctx context.Context, pr PR) (AutoMergeResult, error) {
	if pr.AutoMerge {
		return AutoMergeAlready, nil
	}
	if pr.NodeID == "" {
		return "", fmt.Errorf("pull request #%d of %s has no node id; cannot enable auto-merge", pr.Number, c.repo())
	}
	in := map[string]any{"query": enableAutoMerge, "variables": map[string]any{"id": pr.NodeID}}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := c.raw(ctx, fmt.Sprintf("enabling auto-merge of pull request #%d of", pr.Number), "POST", c.graphqlURL(), in, &out); err != nil {
		return "", err
	}
	if len(out.Errors) > 0 {
		var msgs []string
		for _, e := range out.Errors {
			msgs = append(msgs, e.Message)
		}
		return "", fmt.Errorf("enabling auto-merge of pull request #%d of %s: %s (allow auto-merge in the repo's settings and protect the base branch with required checks)",
			pr.Number, c.repo(), strings.Join(msgs, "; "))
	}
	return AutoMergeScheduled, nil
}

func (c *githubClient) CreateRepo(ctx context.Context, n NewRepo) (Repo, error) {
	org, err := c.org(ctx)
	if err != nil {
		return Repo{}, err
	}
	var r *github.Repository
	err = c.retry(ctx, "creating the repo", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		r, resp, err = c.gh.Repositories.Create(ctx, org, &github.Repository{
			Name: &c.name, Description: &n.Description, Private: &n.Private, AutoInit: github.Bool(false)})
		return resp, err
	})
	if err != nil {
		return Repo{}, err
	}
	return repoFrom(r), nil
}

func (c *githubClient) SecretNames(ctx context.Context) ([]string, error) {
	var names []string
	opt := &github.ListOptions{PerPage: 100}
	for {
		var page *github.Secrets
		var resp *github.Response
		err := c.retry(ctx, "listing the Actions secrets of", func() (*github.Response, error) {
			var err error
			page, resp, err = c.gh.Actions.ListRepoSecrets(ctx, c.owner, c.name, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, s := range page.Secrets {
			names = append(names, s.Name)
		}
		if resp.NextPage == 0 {
			return names, nil
		}
		opt.Page = resp.NextPage
	}
}

// SetSecret sends the value as GitHub requires: a libsodium sealed box to the repo's
// public key, base64-encoded.
func (c *githubClient) SetSecret(ctx context.Context, name, value string) (bool, error) {
	key, err := c.publicKey(ctx)
	if err != nil {
		return false, err
	}
	sealed, err := seal(key.GetKey(), value)
	if err != nil {
		return false, fmt.Errorf("encrypting secret %s for %s: %w", name, c.repo(), err)
	}
	var resp *github.Response
	err = c.retry(ctx, "storing secret "+name+" in", func() (*github.Response, error) {
		var err error
		resp, err = c.gh.Actions.CreateOrUpdateRepoSecret(ctx, c.owner, c.name,
			&github.EncryptedSecret{Name: name, KeyID: key.GetKeyID(), EncryptedValue: sealed})
		return resp, err
	})
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusCreated, nil
}

// publicKey is the repo's key secrets are sealed to, read once.
func (c *githubClient) publicKey(ctx context.Context) (*github.PublicKey, error) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	if c.cache.key != nil {
		return c.cache.key, nil
	}
	err := c.retry(ctx, "reading the Actions secrets' public key of", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		c.cache.key, resp, err = c.gh.Actions.GetRepoPublicKey(ctx, c.owner, c.name)
		return resp, err
	})
	return c.cache.key, err
}

func seal(key, value string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != 32 {
		return "", errors.New("the repo's public key is not a base64 Curve25519 key")
	}
	out, err := box.SealAnonymous(nil, []byte(value), (*[32]byte)(raw), rand.Reader)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out), nil
}
