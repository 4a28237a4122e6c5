// Package forge is the little nassella asks of a git forge — for the update bot: list,
// open, edit, close and comment on pull requests, label them, turn on auto-merge; for
// bootstrap: read or create the site repo and store its Actions secrets; for the site
// workflows: a commit's pull requests, comments and issues with their authors — behind one
// interface, with clients for GitHub (go-github) and Gitea/Forgejo (the same library
// pointed at Gitea's GitHub-shaped API, plus Gitea's own calls where it differs).
//
// Every client counts the HTTP requests it sends (retries included), waits out rate
// limits boundedly, and never puts its token in an error or a log line.
package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"
)

// PR is a pull request as the bot sees it.
type PR struct {
	Number int
	Title  string
	Body   string
	URL    string // the web page
	Head   string // the branch it merges
	// HeadRepo is the full name (owner/name) of the repo Head is in: the base repo's own
	// for a branch pushed there, a fork's otherwise; "" when the fork is gone.
	HeadRepo string
	Base     string
	NodeID   string // GitHub's GraphQL id
	Labels   []string
	Author   string // the login of the user who opened it
	HeadSHA  string
	// AutoMerge is true when the forge says auto-merge is on (GitHub reports it; Gitea
	// does not, so it stays false there).
	AutoMerge bool
}

// NewPR is a pull request to open.
type NewPR struct {
	Title, Body, Head, Base string
}

// AutoMergeResult says what enabling auto-merge did.
type AutoMergeResult string

const (
	AutoMergeScheduled AutoMergeResult = "scheduled"  // will merge when the checks pass
	AutoMergeMerged    AutoMergeResult = "merged"     // the checks had passed: merged now
	AutoMergeAlready   AutoMergeResult = "already-on" // was scheduled before
)

// Client is one repo on one forge.
type Client interface {
	// OpenPRs lists the repo's open pull requests.
	OpenPRs(ctx context.Context) ([]PR, error)
	CreatePR(ctx context.Context, p NewPR) (PR, error)
	// EditPR sets a pull request's title and body.
	EditPR(ctx context.Context, number int, title, body string) error
	ClosePR(ctx context.Context, number int) error
	Comment(ctx context.Context, number int, body string) error
	// AddLabels adds labels to a pull request, creating them in the repo when the forge
	// needs that.
	AddLabels(ctx context.Context, number int, labels []string) error
	// EnableAutoMerge asks the forge to merge the pull request once its checks pass.
	EnableAutoMerge(ctx context.Context, pr PR) (AutoMergeResult, error)

	// Repo describes the repo. When it does not exist (or the token cannot see it) the
	// error's Status is 404.
	Repo(ctx context.Context) (Repo, error)
	// CreateRepo creates the repo, empty, for the token's user or in the organisation
	// that owns it.
	CreateRepo(ctx context.Context, n NewRepo) (Repo, error)
	// User is the login of the token's user.
	User(ctx context.Context) (string, error)
	// SecretNames lists the names of the repo's Actions secrets (values are never read).
	SecretNames(ctx context.Context) ([]string, error)
	// SetSecret stores an Actions secret; created is false when it replaced one.
	SetSecret(ctx context.Context, name, value string) (created bool, err error)
	// Actions says whether the repo's Actions are on and which runners can take its jobs
	// (onboarding.go).
	Actions(ctx context.Context) (Actions, error)
	// BranchProtection reads a branch's protection; found is false when it has none.
	BranchProtection(ctx context.Context, branch string) (p Protection, found bool, err error)
	// ProtectBranch lets changes reach branch only through pull requests whose checks pass.
	ProtectBranch(ctx context.Context, branch string, checks []string) error

	// PRsOfCommit lists the numbers of the pull requests commit sha belongs to.
	PRsOfCommit(ctx context.Context, sha string) ([]int, error)
	// MergedBy reads a pull request with the login that merged it (merged.go).
	MergedBy(ctx context.Context, number int) (MergedPR, error)
	// Comments lists an issue's or pull request's comments, oldest first, with authors.
	Comments(ctx context.Context, number int) ([]Comment, error)
	EditComment(ctx context.Context, id int64, body string) error
	// OpenIssues lists the open issues (not pull requests) with authors.
	OpenIssues(ctx context.Context) ([]Issue, error)
	CreateIssue(ctx context.Context, title, body string) (int, error)
	// EditIssue sets an issue's body (unless empty) and closes it when close is true.
	EditIssue(ctx context.Context, number int, body string, close bool) error

	// For the bot that regenerates a pull request's files (prfiles.go): the pull request,
	// its commits with the files they change, and notes on lines of its files.
	PullRequest(ctx context.Context, number int) (PRInfo, error)
	// PRCommits lists the pull request's commits, oldest first.
	PRCommits(ctx context.Context, number int) ([]Commit, error)
	LineNotes(ctx context.Context, number int) ([]LineNote, error)
	// AddLineNote comments on line n.Line of n.Path as commit sha of the pull request has it.
	AddLineNote(ctx context.Context, number int, sha string, n LineNote) error
	DeleteLineNote(ctx context.Context, number int, n LineNote) error

	// Calls is the number of HTTP requests sent so far.
	Calls() int64

	// Console is what nassella console asks as the person signed in (console.go).
	Console
}

// Repo is a repository as the forge describes it.
type Repo struct {
	CloneURL      string // where git clones and pushes over HTTPS
	DefaultBranch string
	Private       bool
}

// NewRepo is a repository to create; its owner and name are the client's.
type NewRepo struct {
	Description string
	Private     bool
}

// Status is the HTTP status of the forge's answer that err reports, or 0 when err is
// not a forge's answer.
func Status(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// Options tune a client.
type Options struct {
	// Transport sends the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// MaxWait is the longest the client waits out one rate limit before giving up
	// (default 2 minutes); a longer wait fails the site with when to run again.
	MaxWait time.Duration
	// Retries is how many times a rate-limited request is sent again (default 3).
	Retries int
	// Sleep waits; tests replace it. It must return early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
	// UserAgent names the bot to the forge.
	UserAgent string
}

func (o *Options) defaults() {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.MaxWait == 0 {
		o.MaxWait = 2 * time.Minute
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.UserAgent == "" {
		o.UserAgent = "nassella-update-bot"
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Kinds of forge.
const (
	KindGitHub  = "github"
	KindGitea   = "gitea"
	KindForgejo = "forgejo"
)

// New returns a client for repo owner/name on the forge whose REST API is at apiURL
// (with a trailing slash: https://api.github.com/, https://codeberg.org/api/v1/).
func New(kind, apiURL, owner, name, token string, opts Options) (Client, error) {
	opts.defaults()
	if token == "" {
		return nil, errors.New("no token given")
	}
	counter := &countingTransport{next: opts.Transport}
	gh := github.NewClient(&http.Client{Transport: counter, Timeout: 60 * time.Second}).WithAuthToken(token)
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	u, err := gh.BaseURL.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("the forge API address %q: %w", apiURL, err)
	}
	gh.BaseURL = u
	gh.UserAgent = opts.UserAgent
	b := base{gh: gh, owner: owner, name: name, opts: opts, counter: counter, cache: &cache{}}
	switch kind {
	case KindGitHub:
		return &githubClient{b}, nil
	case KindGitea, KindForgejo:
		return &giteaClient{b}, nil
	}
	return nil, fmt.Errorf("forge %q is unknown; use github, gitea or forgejo", kind)
}

// countingTransport counts requests.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(r)
}

type base struct {
	gh          *github.Client
	owner, name string
	opts        Options
	counter     *countingTransport
	cache       *cache
}

// cache holds what a client reads once: the token's user and GitHub's secrets key.
type cache struct {
	mu    sync.Mutex
	login string
	key   *github.PublicKey
}

func (b *base) Calls() int64 { return b.counter.calls.Load() }

func (b *base) repo() string { return b.owner + "/" + b.name }

// retry runs call until it succeeds, fails for a reason other than a rate limit, or the
// retries or the longest wait are used up. Only rate-limit answers are retried: the
// forge refused those requests without acting on them, so even a create is safe to send
// again.
func (b *base) retry(ctx context.Context, what string, call func() (*github.Response, error)) error {
	for attempt := 0; ; attempt++ {
		resp, err := call()
		if err == nil {
			return nil
		}
		wait, limited := rateLimitWait(resp, err)
		if !limited {
			return fmt.Errorf("%s %s: %w", what, b.repo(), err)
		}
		if attempt >= b.opts.Retries {
			return fmt.Errorf("%s %s: still rate limited after %d retries; run again later (the run picks up where it stopped): %w", what, b.repo(), attempt, err)
		}
		if wait > b.opts.MaxWait {
			return fmt.Errorf("%s %s: rate limited for %s, longer than the %s the bot waits; run again after %s (the run picks up where it stopped)",
				what, b.repo(), wait.Round(time.Second), b.opts.MaxWait, time.Now().Add(wait).Format(time.RFC3339))
		}
		if err := b.opts.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s %s: %w", what, b.repo(), err)
		}
	}
}

// rateLimitWait says whether err is a rate limit, and how long to wait before sending
// the request again.
func rateLimitWait(resp *github.Response, err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		// The primary limit: wait for the reset the forge announced.
		return time.Until(rl.Rate.Reset.Time) + time.Second, true
	case errors.As(err, &abuse):
		// A secondary limit: Retry-After, or a minute as GitHub's docs advise.
		if abuse.RetryAfter != nil {
			return *abuse.RetryAfter, true
		}
		return time.Minute, true
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests:
		return retryAfter(er.Response.Header), true
	}
	return 0, false
}

func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		var s int
		if _, err := fmt.Sscanf(v, "%d", &s); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return time.Until(t)
		}
	}
	return time.Minute
}

func prFrom(p *github.PullRequest) PR {
	out := PR{
		Number:    p.GetNumber(),
		Title:     p.GetTitle(),
		Body:      p.GetBody(),
		URL:       p.GetHTMLURL(),
		Head:      p.GetHead().GetRef(),
		HeadRepo:  p.GetHead().GetRepo().GetFullName(),
		HeadSHA:   p.GetHead().GetSHA(),
		Base:      p.GetBase().GetRef(),
		NodeID:    p.GetNodeID(),
		Author:    p.GetUser().GetLogin(),
		AutoMerge: p.AutoMerge != nil,
	}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func (b *base) OpenPRs(ctx context.Context) ([]PR, error) {
	var out []PR
	opt := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 50}}
	for {
		var page []*github.PullRequest
		var resp *github.Response
		err := b.retry(ctx, "listing the pull requests of", func() (*github.Response, error) {
			var err error
			page, resp, err = b.gh.PullRequests.List(ctx, b.owner, b.name, opt)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			out = append(out, prFrom(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (b *base) CreatePR(ctx context.Context, p NewPR) (PR, error) {
	var pr *github.PullRequest
	err := b.retry(ctx, "opening a pull request in", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		pr, resp, err = b.gh.PullRequests.Create(ctx, b.owner, b.name, &github.NewPullRequest{
			Title: &p.Title, Body: &p.Body, Head: &p.Head, Base: &p.Base})
		return resp, err
	})
	if err != nil {
		return PR{}, err
	}
	return prFrom(pr), nil
}

func (b *base) EditPR(ctx context.Context, number int, title, body string) error {
	return b.retry(ctx, fmt.Sprintf("updating pull request #%d of", number), func() (*github.Response, error) {
		_, resp, err := b.gh.PullRequests.Edit(ctx, b.owner, b.name, number, &github.PullRequest{Title: &title, Body: &body})
		return resp, err
	})
}

func (b *base) ClosePR(ctx context.Context, number int) error {
	closed := "closed"
	return b.retry(ctx, fmt.Sprintf("closing pull request #%d of", number), func() (*github.Response, error) {
		_, resp, err := b.gh.PullRequests.Edit(ctx, b.owner, b.name, number, &github.PullRequest{State: &closed})
		return resp, err
	})
}

func (b *base) Comment(ctx context.Context, number int, body string) error {
	return b.retry(ctx, fmt.Sprintf("commenting on pull request #%d of", number), func() (*github.Response, error) {
		_, resp, err := b.gh.Issues.CreateComment(ctx, b.owner, b.name, number, &github.IssueComment{Body: &body})
		return resp, err
	})
}

// raw sends a request go-github has no method for (or sends differently from what
// Gitea expects), with the same auth, counting and rate-limit handling.
func (b *base) raw(ctx context.Context, what, method, path string, in, out any) (*github.Response, error) {
	var resp *github.Response
	err := b.retry(ctx, what, func() (*github.Response, error) {
		req, err := b.gh.NewRequest(method, path, in)
		if err != nil {
			return nil, err
		}
		resp, err = b.gh.Do(ctx, req, out)
		return resp, err
	})
	return resp, err
}
