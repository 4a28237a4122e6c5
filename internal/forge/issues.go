package forge

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// Comment is an issue or pull request comment with its author, so callers can trust only
// the bot's own.
type Comment struct {
	ID     int64
	Author string // the login of the user who wrote it
	Body   string
}

// Issue is an open issue (never a pull request) with its author.
type Issue struct {
	Number int
	Author string
	Body   string
}

// PRsOfCommit lists the numbers of the pull requests a commit belongs to: on GitHub
// the ones it was merged by (or, before it reaches the default branch, open ones that
// hold it); on Gitea/Forgejo the one that merged it. None is an empty list.
func (c *githubClient) PRsOfCommit(ctx context.Context, sha string) ([]int, error) {
	var out []int
	opt := &github.ListOptions{PerPage: 50}
	for {
		var page []*github.PullRequest
		var resp *github.Response
		err := c.retry(ctx, "listing the pull requests of commit "+sha+" in", func() (*github.Response, error) {
			var err error
			page, resp, err = c.gh.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.name, sha, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			out = append(out, p.GetNumber())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// PRsOfCommit asks Gitea's GET /repos/{owner}/{repo}/commits/{sha}/pull, which answers
// 404 when no pull request merged the commit.
func (c *giteaClient) PRsOfCommit(ctx context.Context, sha string) ([]int, error) {
	var p github.PullRequest
	_, err := c.raw(ctx, "reading the pull request of commit "+sha+" in", http.MethodGet,
		fmt.Sprintf("repos/%s/%s/commits/%s/pull", c.owner, c.name, sha), nil, &p)
	if Status(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []int{p.GetNumber()}, nil
}

// Comments lists the comments of issue or pull request number, oldest first.
func (b *base) Comments(ctx context.Context, number int) ([]Comment, error) {
	var out []Comment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 50}}
	for {
		var page []*github.IssueComment
		var resp *github.Response
		err := b.retry(ctx, fmt.Sprintf("listing the comments of #%d of", number), func() (*github.Response, error) {
			var err error
			page, resp, err = b.gh.Issues.ListComments(ctx, b.owner, b.name, number, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			out = append(out, Comment{ID: c.GetID(), Author: c.GetUser().GetLogin(), Body: c.GetBody()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (b *base) EditComment(ctx context.Context, id int64, body string) error {
	return b.retry(ctx, fmt.Sprintf("editing comment %d of", id), func() (*github.Response, error) {
		_, resp, err := b.gh.Issues.EditComment(ctx, b.owner, b.name, id, &github.IssueComment{Body: &body})
		return resp, err
	})
}

// issue is the part of an issue both forges answer alike (go-github's Issue does not
// decode Gitea's, whose repository owner is a string).
type issue struct {
	Number      int                    `json:"number"`
	Body        string                 `json:"body"`
	User        struct{ Login string } `json:"user"`
	PullRequest *struct{}              `json:"pull_request"`
}

// OpenIssues lists the open issues, leaving out pull requests (which both forges list
// among issues).
func (b *base) OpenIssues(ctx context.Context) ([]Issue, error) {
	var out []Issue
	for page := 1; page != 0; {
		var list []issue
		resp, err := b.raw(ctx, "listing the open issues of", http.MethodGet,
			fmt.Sprintf("repos/%s/%s/issues?state=open&per_page=50&limit=50&page=%d", b.owner, b.name, page), nil, &list)
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			if i.PullRequest == nil {
				out = append(out, Issue{Number: i.Number, Author: i.User.Login, Body: i.Body})
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

func (b *base) CreateIssue(ctx context.Context, title, body string) (int, error) {
	var i issue
	_, err := b.raw(ctx, "opening an issue in", http.MethodPost, fmt.Sprintf("repos/%s/%s/issues", b.owner, b.name),
		map[string]string{"title": title, "body": body}, &i)
	return i.Number, err
}

// EditIssue sets an issue's body (when body is not empty) and closes it when close is true.
func (b *base) EditIssue(ctx context.Context, number int, body string, close bool) error {
	req := map[string]string{}
	if body != "" {
		req["body"] = body
	}
	if close {
		req["state"] = "closed"
	}
	_, err := b.raw(ctx, fmt.Sprintf("updating issue #%d of", number), http.MethodPatch,
		fmt.Sprintf("repos/%s/%s/issues/%d", b.owner, b.name, number), req, &issue{})
	return err
}
