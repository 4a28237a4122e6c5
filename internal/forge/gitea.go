package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// giteaClient talks to Gitea and Forgejo. Their API under /api/v1/ takes go-github's
// pull request and comment calls as they are; labels and merging differ and are sent
// as Gitea documents them.
type giteaClient struct{ base }

type giteaLabel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// AddLabels adds labels by name (Gitea ≥ 1.20 takes names). Gitea ignores a name the
// repo has no label for, so a missing label is created and the labels added again.
func (c *giteaClient) AddLabels(ctx context.Context, number int, labels []string) error {
	add := func() ([]giteaLabel, error) {
		var got []giteaLabel
		_, err := c.raw(ctx, fmt.Sprintf("labelling pull request #%d of", number), "POST",
			fmt.Sprintf("repos/%s/%s/issues/%d/labels", c.owner, c.name, number), map[string]any{"labels": labels}, &got)
		return got, err
	}
	got, err := add()
	if err != nil {
		return err
	}
	missing := missingLabels(labels, got)
	if len(missing) == 0 {
		return nil
	}
	for _, l := range missing {
		in := map[string]string{"name": l, "color": "#1d76db", "description": "Catalog updates opened by the nassella update bot"}
		if _, err := c.raw(ctx, "creating label "+l+" in", "POST", fmt.Sprintf("repos/%s/%s/labels", c.owner, c.name), in, nil); err != nil {
			return err
		}
	}
	got, err = add()
	if err != nil {
		return err
	}
	if missing := missingLabels(labels, got); len(missing) > 0 {
		return fmt.Errorf("labelling pull request #%d of %s: the forge did not apply %v", number, c.repo(), missing)
	}
	return nil
}

func missingLabels(want []string, got []giteaLabel) []string {
	have := map[string]bool{}
	for _, l := range got {
		have[l.Name] = true
	}
	var out []string
	for _, l := range want {
		if !have[l] {
			out = append(out, l)
		}
	}
	return out
}

// EnableAutoMerge asks Gitea to merge once the checks succeed
// (POST /repos/{owner}/{repo}/pulls/{index}/merge with merge_when_checks_succeed). When
// the checks have passed already Gitea merges at once (200); otherwise it schedules the
// merge (201); a merge scheduled before answers 409.
func (c *giteaClient) EnableAutoMerge(ctx context.Context, pr PR) (AutoMergeResult, error) {
	in := map[string]any{"Do": "merge", "merge_when_checks_succeed": true}
	var resp *github.Response
	var err error
	var er *github.ErrorResponse
	// Gitea checks a new pull request's mergeability in the background and answers 405
	// "Please try again later" until it has: wait a little, a bounded number of times.
	for try := 0; ; try++ {
		resp, err = c.raw(ctx, fmt.Sprintf("enabling auto-merge of pull request #%d of", pr.Number), "POST",
			fmt.Sprintf("repos/%s/%s/pulls/%d/merge", c.owner, c.name, pr.Number), in, nil)
		if try >= 20 || !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusMethodNotAllowed ||
			!strings.Contains(er.Message, "try again later") {
			break
		}
		if err := c.opts.Sleep(ctx, 250*time.Millisecond); err != nil {
			return "", err
		}
	}
	switch {
	case err == nil && resp.StatusCode == http.StatusCreated:
		return AutoMergeScheduled, nil
	case err == nil:
		return AutoMergeMerged, nil
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusConflict:
		return AutoMergeAlready, nil
	}
	return "", err
}

// CreateRepo creates the repo with main as its default branch (go-github's create
// request has no field for it).
func (c *giteaClient) CreateRepo(ctx context.Context, n NewRepo) (Repo, error) {
	org, err := c.org(ctx)
	if err != nil {
		return Repo{}, err
	}
	path := "user/repos"
	if org != "" {
		path = "orgs/" + url.PathEscape(org) + "/repos"
	}
	in := map[string]any{"name": c.name, "description": n.Description, "private": n.Private, "auto_init": false, "default_branch": "main"}
	var r github.Repository
	if _, err := c.raw(ctx, "creating the repo", "POST", path, in, &r); err != nil {
		return Repo{}, err
	}
	return repoFrom(&r), nil
}

// giteaPage is the most items Gitea answers with by default (its MAX_RESPONSE_ITEMS).
const giteaPage = 50

// SecretNames pages through GET /repos/{owner}/{repo}/actions/secrets.
func (c *giteaClient) SecretNames(ctx context.Context) ([]string, error) {
	var names []string
	for page := 1; ; page++ {
		var got []struct {
			Name string `json:"name"`
		}
		if _, err := c.raw(ctx, "listing the Actions secrets of", "GET",
			fmt.Sprintf("repos/%s/%s/actions/secrets?limit=%d&page=%d", c.owner, c.name, giteaPage, page), nil, &got); err != nil {
			return nil, err
		}
		for _, s := range got {
			names = append(names, s.Name)
		}
		if len(got) < giteaPage {
			return names, nil
		}
	}
}

// SetSecret is PUT /repos/{owner}/{repo}/actions/secrets/{name}: Gitea takes the value
// as it is (over TLS) and answers 201 for a new secret, 204 for a replaced one.
func (c *giteaClient) SetSecret(ctx context.Context, name, value string) (bool, error) {
	resp, err := c.raw(ctx, "storing secret "+name+" in", "PUT",
		fmt.Sprintf("repos/%s/%s/actions/secrets/%s", c.owner, c.name, url.PathEscape(name)), map[string]string{"data": value}, nil)
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusCreated, nil
}
