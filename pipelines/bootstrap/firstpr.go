package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
)

// FirstBranch is the branch the site's first change is proposed on.
const FirstBranch = "nassella/first-site"

const (
	stepFirstPR     = "first change as a pull request"
	stepCommitted   = "generated files committed"
	bootstrapAuthor = "nassella bootstrap"
	bootstrapEmail  = "bootstrap@nassella.invalid"
)

// proposeSite puts the local site repo on the forge as a pull request into main, so
// the site's first server comes up like every later change: checked and planned on the
// pull request, applied when the owner merges. A pull request needs a base to merge
// into: in an empty repo main is started with a commit that holds no files — the first
// commit nassella init makes, or one made here — and only that is pushed to main.
func (r *runner) proposeSite(ctx context.Context, c forge.Client, f *Forge, repo forge.Repo) {
	local, err := git.PlainOpen(r.cfg.Dir)
	if err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: fmt.Sprintf("%s is not a git repo: %v", r.cfg.Dir, err), Fix: "run in the site repo (nassella init makes one)"})
		return
	}
	head, err := local.Head()
	if err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: "the site repo has no commit yet", Fix: "commit the site first (nassella init commits a complete site)"})
		return
	}
	remote := repo.CloneURL
	if remote == "" {
		remote = f.URL + "/" + f.Owner + "/" + f.Repo + ".git"
	}
	at, err := remoteMain(ctx, local, remote, f.Token)
	if err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "check that the token may read the repo"})
		return
	}
	tip := head.Hash()
	var refspecs []config.RefSpec
	var temp []plumbing.ReferenceName
	defer func() {
		for _, ref := range temp {
			_ = local.Storer.RemoveReference(ref)
		}
	}()
	started := ""
	if at.IsZero() {
		base, newTip, made, err := startMain(local, head)
		if err != nil {
			r.report(Step{Name: stepFirstPR, Status: Failed, Detail: "starting main: " + err.Error(), Fix: "run again"})
			return
		}
		tip = newTip
		started = "; main was empty and got the repo's first commit, which holds no files, as the base"
		if made {
			started = "; main was empty and got a new commit without files as the base, which the local branch merged"
		}
		// Pushed through a temporary ref: go-git pushes refs, not bare commits.
		baseRef := plumbing.ReferenceName("refs/nassella-bootstrap/base")
		temp = append(temp, baseRef)
		if err := local.Storer.SetReference(plumbing.NewHashReference(baseRef, base)); err != nil {
			r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "run again"})
			return
		}
		refspecs = append(refspecs, config.RefSpec(baseRef+":refs/heads/main"))
	} else {
		merged, err := r.contains(ctx, local, remote, f.Token, at, tip)
		switch {
		case err != nil:
			r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "check that the token may read the repo, then run again"})
			return
		case merged:
			r.report(Step{Name: stepFirstPR, Status: AlreadyThere, Detail: "main holds the site's commit " + tip.String()[:12]})
			return
		}
		if ok, err := isAncestor(local, at, tip); err != nil || !ok {
			r.report(Step{Name: stepFirstPR, Status: Failed, Detail: "main on the forge has commits the local site repo does not",
				Fix: "pull them into the local site repo (git pull origin main), commit, and run again"})
			return
		}
	}
	branchRef := plumbing.NewBranchReferenceName(FirstBranch)
	tipRef := plumbing.ReferenceName("refs/nassella-bootstrap/first-site")
	temp = append(temp, tipRef)
	if err := local.Storer.SetReference(plumbing.NewHashReference(tipRef, tip)); err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "run again"})
		return
	}
	refspecs = append(refspecs, config.RefSpec(tipRef+":"+branchRef))
	if hook := r.cfg.Hooks.BeforePush; hook != nil {
		hook()
	}
	// Pushed to the URL itself: the local repo's config is left as it is.
	if err := gitx.Push(ctx, local, remote, refspecs, f.Token, false); err != nil {
		fix := "check that the token may push to the repo"
		if strings.Contains(err.Error(), "non-fast-forward") {
			fix = "the branch " + FirstBranch + " on the forge has commits the local repo does not: delete that branch on the forge (or pull them), then run again"
		}
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: fix})
		return
	}
	r.openFirstPR(ctx, c, tip, started)
}

// openFirstPR opens the pull request from FirstBranch, or finds the one open already.
func (r *runner) openFirstPR(ctx context.Context, c forge.Client, tip plumbing.Hash, started string) {
	// Gitea takes a moment after the first push into an empty repo before it serves its
	// pull requests (it marks the repo as no longer empty in a queue): 404 until then.
	prs, err := c.OpenPRs(ctx)
	for wait := 100 * time.Millisecond; forge.Status(err) == http.StatusNotFound && wait < 10*time.Second; wait *= 2 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		prs, err = c.OpenPRs(ctx)
	}
	if err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "check that the token may read pull requests, then run again"})
		return
	}
	for _, p := range prs {
		if p.Head == FirstBranch && p.Base == "main" {
			st := AlreadyThere
			if p.HeadSHA != tip.String() {
				st = Done
			}
			r.report(Step{Name: stepFirstPR, Status: st, Detail: fmt.Sprintf("#%d %s, at %s", p.Number, p.URL, tip.String()[:12]),
				Fix: "the owner reviews the plan comment and merges it: the merge brings the server up"})
			return
		}
	}
	body := fmt.Sprintf("This brings the site **%s** up: its check shows what will be created, and merging it creates it.\n\n"+
		"Opened by `nassella bootstrap`; see docs/maintainers/onboarding.md.", r.cfg.Site.Name)
	p, err := c.CreatePR(ctx, forge.NewPR{Title: "Bring " + r.cfg.Site.Name + " up", Body: body, Head: FirstBranch, Base: "main"})
	if err != nil {
		r.report(Step{Name: stepFirstPR, Status: Failed, Detail: err.Error(), Fix: "open the pull request from " + FirstBranch + " into main by hand, or run again"})
		return
	}
	r.report(Step{Name: stepFirstPR, Status: Done, Detail: fmt.Sprintf("opened #%d %s from %s%s", p.Number, p.URL, FirstBranch, started), Fix: "the owner reviews the plan comment and merges it: the merge brings the server up"})
}

// startMain returns the commit an empty repo's main starts at and the commit to propose:
// head's root when it holds no files (nassella init makes it so), else a new commit
// without files and a merge of it with head, which the local branch moves to (a fast
// forward: nothing of the local history is lost).
func startMain(local *git.Repository, head *plumbing.Reference) (base, tip plumbing.Hash, made bool, err error) {
	c, err := local.CommitObject(head.Hash())
	if err != nil {
		return base, tip, false, err
	}
	for c.NumParents() > 0 {
		if c, err = c.Parent(0); err != nil {
			return base, tip, false, err
		}
	}
	if t, err := c.Tree(); err == nil && len(t.Entries) == 0 && c.Hash != head.Hash() {
		return c.Hash, head.Hash(), false, nil
	}
	now := time.Now()
	sig := object.Signature{Name: bootstrapAuthor, Email: bootstrapEmail, When: now}
	empty, err := store(local, &object.Tree{})
	if err != nil {
		return base, tip, true, err
	}
	base, err = store(local, &object.Commit{Author: sig, Committer: sig, Message: "Start the site repo\n", TreeHash: empty})
	if err != nil {
		return base, tip, true, err
	}
	top, err := local.CommitObject(head.Hash())
	if err != nil {
		return base, tip, true, err
	}
	tip, err = store(local, &object.Commit{Author: sig, Committer: sig, TreeHash: top.TreeHash,
		ParentHashes: []plumbing.Hash{base, head.Hash()}, Message: "Propose the site on a branch of its own (nassella bootstrap)\n"})
	if err != nil {
		return base, tip, true, err
	}
	if head.Name().IsBranch() {
		err = local.Storer.SetReference(plumbing.NewHashReference(head.Name(), tip))
	}
	return base, tip, true, err
}

// store writes a git object into the repo.
func store(local *git.Repository, o interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.Hash, error) {
	obj := local.Storer.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return local.Storer.SetEncodedObject(obj)
}

// contains reports whether main at the commit at holds tip, fetching main when the
// local repo lacks that commit (the owner merged on the forge).
func (r *runner) contains(ctx context.Context, local *git.Repository, remote, token string, at, tip plumbing.Hash) (bool, error) {
	if at == tip {
		return true, nil
	}
	if _, err := local.CommitObject(at); errors.Is(err, plumbing.ErrObjectNotFound) {
		rem := git.NewRemote(local.Storer, &config.RemoteConfig{Name: "nassella-bootstrap", URLs: []string{remote}})
		err := rem.FetchContext(ctx, &git.FetchOptions{Auth: gitx.Auth(token), Tags: git.NoTags,
			RefSpecs: []config.RefSpec{"+refs/heads/main:refs/nassella-bootstrap/main"}})
		_ = local.Storer.RemoveReference("refs/nassella-bootstrap/main")
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return false, gitx.Error("fetching main from "+remote, err, token)
		}
	}
	return isAncestor(local, tip, at)
}

// isAncestor reports whether commit a is b or one of its ancestors.
func isAncestor(local *git.Repository, a, b plumbing.Hash) (bool, error) {
	ca, err := local.CommitObject(a)
	if err != nil {
		return false, err
	}
	cb, err := local.CommitObject(b)
	if err != nil {
		return false, err
	}
	if a == b {
		return true, nil
	}
	return ca.IsAncestor(cb)
}

// commitAll commits every change in dir's work tree (the files bootstrap wrote).
func commitAll(dir, msg string) error {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	_, err = gitx.Commit(wt, msg, gitx.Identity{Name: bootstrapAuthor, Email: bootstrapEmail}, time.Now())
	return err
}

// checkCommitted checks that the site repo's last commit holds the files the generator
// makes from its site.yaml: what is pushed is what the workflows check, so a forgotten
// `nassella generate` or commit would fail the first check.
func (r *runner) checkCommitted() bool {
	if r.cfg.Catalog == nil {
		r.report(Step{Name: stepCommitted, Status: Skipped, Detail: "no catalog release given"})
		return true
	}
	t, err := generator.Generate(r.cfg.Site, r.cfg.Catalog)
	if err != nil {
		r.report(Step{Name: stepCommitted, Status: Failed, Detail: "generating: " + err.Error(), Fix: "run nassella generate in the site repo and fix what it says"})
		return false
	}
	local, err := git.PlainOpen(r.cfg.Dir)
	var c *object.Commit
	if err == nil {
		var head *plumbing.Reference
		if head, err = local.Head(); err == nil {
			c, err = local.CommitObject(head.Hash())
		}
	}
	if err != nil {
		r.report(Step{Name: stepCommitted, Status: Failed, Detail: fmt.Sprintf("%s has no commit to check: %v", r.cfg.Dir, err), Fix: "run in the site repo (nassella init makes one) and commit the site"})
		return false
	}
	var stale []string
	for _, p := range t.Paths() {
		want, _ := t.Get(p)
		f, err := c.File(p)
		if err != nil {
			stale = append(stale, p+" (not committed)")
			continue
		}
		got, err := f.Contents()
		if err != nil || got != string(want.Data) {
			stale = append(stale, p)
		}
	}
	if len(stale) > 0 {
		if len(stale) > 5 {
			stale = append(stale[:5], fmt.Sprintf("and %d more", len(stale)-5))
		}
		r.report(Step{Name: stepCommitted, Status: Failed, Detail: "the last commit differs from what site.yaml generates: " + strings.Join(stale, ", "),
			Fix: "run nassella generate in the site repo, commit everything it wrote (git add -A && git commit), and run again"})
		return false
	}
	r.report(Step{Name: stepCommitted, Status: AlreadyThere, Detail: fmt.Sprintf("the last commit holds the %d generated files", len(t.Paths()))})
	return true
}
