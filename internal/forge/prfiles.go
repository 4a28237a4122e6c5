package forge

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-github/v62/github"
)

// PRInfo is one pull request read by its number: what PR holds, whether it is still
// open or merged, and where its head branch is pushed to.
type PRInfo struct {
	PR
	State  string // open or closed
	Merged bool
	// HeadCloneURL is the HTTPS address of the repo the head branch is in; "" when that
	// fork is gone.
	HeadCloneURL string
}

// Commit is one commit of a pull request: its git author and the files it changed.
type Commit struct {
	SHA         string
	AuthorName  string
	AuthorEmail string
	// Files are the paths it added, changed or removed (a rename: both names, where the
	// forge reports the old one).
	Files []string
}

// LineNote is a review comment on one line of a file of a pull request.
type LineNote struct {
	ID int64
	// ReviewID is the review that holds the note on Gitea/Forgejo, where deleting the
	// review is how a note is deleted; 0 on GitHub.
	ReviewID int64
	Author   string // the login of who wrote it
	Path     string
	Line     int // in the file as the pull request's head has it; 0 when the forge no longer places it
	Body     string
}

// PullRequest reads pull request number (GET /repos/{owner}/{repo}/pulls/{number}, the
// same on GitHub and on Gitea/Forgejo).
func (b *base) PullRequest(ctx context.Context, number int) (PRInfo, error) {
	var p *github.PullRequest
	err := b.retry(ctx, fmt.Sprintf("reading pull request #%d of", number), func() (*github.Response, error) {
		var resp *github.Response
		var err error
		p, resp, err = b.gh.PullRequests.Get(ctx, b.owner, b.name, number)
		return resp, err
	})
	if err != nil {
		return PRInfo{}, err
	}
	return PRInfo{PR: prFrom(p), State: p.GetState(), Merged: p.GetMerged(), HeadCloneURL: p.GetHead().GetRepo().GetCloneURL()}, nil
}

// PRCommits lists the pull request's commits, oldest first: GET
// /repos/{owner}/{repo}/pulls/{number}/commits (at most 250), then each commit's files
// from GET /repos/{owner}/{repo}/commits/{sha}, whose file list is paged beyond 300
// (docs.github.com/rest/pulls/pulls#list-commits-on-a-pull-request,
// docs.github.com/rest/commits/commits#get-a-commit).
func (c *githubClient) PRCommits(ctx context.Context, number int) ([]Commit, error) {
	var out []Commit
	opt := &github.ListOptions{PerPage: 100}
	for {
		var page []*github.RepositoryCommit
		var resp *github.Response
		err := c.retry(ctx, fmt.Sprintf("listing the commits of pull request #%d of", number), func() (*github.Response, error) {
			var err error
			page, resp, err = c.gh.PullRequests.ListCommits(ctx, c.owner, c.name, number, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, rc := range page {
			cm := Commit{SHA: rc.GetSHA(), AuthorName: rc.GetCommit().GetAuthor().GetName(), AuthorEmail: rc.GetCommit().GetAuthor().GetEmail()}
			if cm.Files, err = c.commitFiles(ctx, cm.SHA); err != nil {
				return nil, err
			}
			out = append(out, cm)
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (c *githubClient) commitFiles(ctx context.Context, sha string) ([]string, error) {
	var out []string
	opt := &github.ListOptions{PerPage: 100}
	for {
		var rc *github.RepositoryCommit
		var resp *github.Response
		err := c.retry(ctx, "reading commit "+sha+" of", func() (*github.Response, error) {
			var err error
			rc, resp, err = c.gh.Repositories.GetCommit(ctx, c.owner, c.name, sha, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, f := range rc.Files {
			out = append(out, f.GetFilename())
			if p := f.GetPreviousFilename(); p != "" {
				out = append(out, p)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// LineNotes lists the pull request's review comments
// (GET /repos/{owner}/{repo}/pulls/{number}/comments).
func (c *githubClient) LineNotes(ctx context.Context, number int) ([]LineNote, error) {
	var out []LineNote
	opt := &github.PullRequestListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var page []*github.PullRequestComment
		var resp *github.Response
		err := c.retry(ctx, fmt.Sprintf("listing the review comments of pull request #%d of", number), func() (*github.Response, error) {
			var err error
			page, resp, err = c.gh.PullRequests.ListComments(ctx, c.owner, c.name, number, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, n := range page {
			out = append(out, LineNote{ID: n.GetID(), Author: n.GetUser().GetLogin(), Path: n.GetPath(), Line: n.GetLine(), Body: n.GetBody()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// AddLineNote is POST /repos/{owner}/{repo}/pulls/{number}/comments with commit_id, path,
// line and side RIGHT (the file as the head has it). GitHub answers 422 for a line
// outside the pull request's diff.
func (c *githubClient) AddLineNote(ctx context.Context, number int, sha string, n LineNote) error {
	right := "RIGHT"
	return c.retry(ctx, fmt.Sprintf("commenting on %s line %d in pull request #%d of", n.Path, n.Line, number), func() (*github.Response, error) {
		_, resp, err := c.gh.PullRequests.CreateComment(ctx, c.owner, c.name, number,
			&github.PullRequestComment{Body: &n.Body, CommitID: &sha, Path: &n.Path, Line: &n.Line, Side: &right})
		return resp, err
	})
}

// DeleteLineNote is DELETE /repos/{owner}/{repo}/pulls/comments/{id}; a note already
// gone is no error.
func (c *githubClient) DeleteLineNote(ctx context.Context, number int, n LineNote) error {
	err := c.retry(ctx, fmt.Sprintf("deleting review comment %d of", n.ID), func() (*github.Response, error) {
		return c.gh.PullRequests.DeleteComment(ctx, c.owner, c.name, n.ID)
	})
	if Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// giteaCommit is the part of Gitea's Commit (modules/structs/repo_commit.go) read here.
type giteaCommit struct {
	SHA    string `json:"sha"`
	Commit struct {
		Author struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
	} `json:"commit"`
	Files []struct {
		Filename string `json:"filename"`
	} `json:"files"`
}

// PRCommits is Gitea's GET /repos/{owner}/{repo}/pulls/{index}/commits, which lists each
// commit's files unless files=false, newest first (routers/api/v1/repo/pull.go
// GetPullRequestCommits, from git's compare): turned round, oldest first as on GitHub.
func (c *giteaClient) PRCommits(ctx context.Context, number int) ([]Commit, error) {
	var out []Commit
	for page := 1; page != 0; {
		var list []giteaCommit
		resp, err := c.raw(ctx, fmt.Sprintf("listing the commits of pull request #%d of", number), http.MethodGet,
			fmt.Sprintf("repos/%s/%s/pulls/%d/commits?verification=false&limit=%d&page=%d", c.owner, c.name, number, giteaPage, page), nil, &list)
		if err != nil {
			return nil, err
		}
		for _, gc := range list {
			cm := Commit{SHA: gc.SHA, AuthorName: gc.Commit.Author.Name, AuthorEmail: gc.Commit.Author.Email}
			for _, f := range gc.Files {
				cm.Files = append(cm.Files, f.Filename)
			}
			out = append(out, cm)
		}
		page = resp.NextPage
	}
	slices.Reverse(out)
	return out, nil
}

// giteaReview is the part of Gitea's PullReview (modules/structs/pull_review.go) read here.
type giteaReview struct {
	ID   int64 `json:"id"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
	Comments int `json:"comments_count"`
}

// giteaReviewComment is the part of Gitea's PullReviewComment read here; position is the
// line in the head's file.
type giteaReviewComment struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	Path   string `json:"path"`
	Line   int    `json:"position"`
	Review int64  `json:"pull_request_review_id"`
	User   struct {
		Login string `json:"login"`
	} `json:"user"`
}

// LineNotes reads Gitea's reviews (GET /repos/{owner}/{repo}/pulls/{index}/reviews) and
// the line comments of those that have any (GET .../reviews/{id}/comments): Gitea has
// no list of a pull request's review comments.
func (c *giteaClient) LineNotes(ctx context.Context, number int) ([]LineNote, error) {
	var out []LineNote
	for page := 1; page != 0; {
		var reviews []giteaReview
		resp, err := c.raw(ctx, fmt.Sprintf("listing the reviews of pull request #%d of", number), http.MethodGet,
			fmt.Sprintf("repos/%s/%s/pulls/%d/reviews?limit=%d&page=%d", c.owner, c.name, number, giteaPage, page), nil, &reviews)
		if err != nil {
			return nil, err
		}
		for _, r := range reviews {
			if r.Comments == 0 {
				continue
			}
			var cs []giteaReviewComment
			if _, err := c.raw(ctx, fmt.Sprintf("reading review %d of pull request #%d of", r.ID, number), http.MethodGet,
				fmt.Sprintf("repos/%s/%s/pulls/%d/reviews/%d/comments", c.owner, c.name, number, r.ID), nil, &cs); err != nil {
				return nil, err
			}
			for _, n := range cs {
				out = append(out, LineNote{ID: n.ID, ReviewID: r.ID, Author: n.User.Login, Path: n.Path, Line: n.Line, Body: n.Body})
			}
		}
		page = resp.NextPage
	}
	return out, nil
}

// AddLineNote posts a review of one comment (POST /repos/{owner}/{repo}/pulls/{index}/reviews,
// event COMMENT; new_position is the line in the head's file), so that the note can be
// deleted on its own with its review. Gitea places a note on any line of the file, in
// the diff or not (services/pull/review.go createCodeComment).
func (c *giteaClient) AddLineNote(ctx context.Context, number int, sha string, n LineNote) error {
	in := map[string]any{"event": "COMMENT", "body": "", "commit_id": sha,
		"comments": []map[string]any{{"path": n.Path, "body": n.Body, "new_position": n.Line}}}
	_, err := c.raw(ctx, fmt.Sprintf("commenting on %s line %d in pull request #%d of", n.Path, n.Line, number), http.MethodPost,
		fmt.Sprintf("repos/%s/%s/pulls/%d/reviews", c.owner, c.name, number), in, nil)
	return err
}

// DeleteLineNote deletes the review holding the note
// (DELETE /repos/{owner}/{repo}/pulls/{index}/reviews/{id}, allowed to its reviewer); a
// review already gone is no error.
func (c *giteaClient) DeleteLineNote(ctx context.Context, number int, n LineNote) error {
	_, err := c.raw(ctx, fmt.Sprintf("deleting review %d of pull request #%d of", n.ReviewID, number), http.MethodDelete,
		fmt.Sprintf("repos/%s/%s/pulls/%d/reviews/%d", c.owner, c.name, number, n.ReviewID), nil, nil)
	if Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}
