package forge

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
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
