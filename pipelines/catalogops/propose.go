package catalogops

import (
	"context"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Proposal is one app's update, as a change to review: a branch with the edit, and the
// text a pull request would carry.
type Proposal struct {
	App         string
	Branch      string // catalog/bump-<app>
	Title, Body string
	// Edits are the values to set, by file (relative to the catalog folder) and YAML path;
	// a proposer applies them to the files of its base with SetScalars.
	Edits map[string]map[string]string
}

// ProposalFor is the proposal of an update.
func ProposalFor(u Update) Proposal {
	return Proposal{App: u.App, Branch: u.Branch(), Title: u.Title(), Body: u.Body(),
		Edits: map[string]map[string]string{u.File: u.Edits()}}
}

// Proposed says what became of a proposal.
type Proposed struct {
	Branch string
	Commit string // the branch's commit
	State  string // "new", "refreshed" (the branch moved to a new commit) or "unchanged"
}

// Proposer puts a proposal up for review. GitProposer makes the branch in a local clone;
// the update bot's forge client will push it and open or refresh the pull request, behind
// this same interface.
type Proposer interface {
	Propose(ctx context.Context, p Proposal) (Proposed, error)
}

// GitProposer proposes on branches of a local clone: one branch per app, starting from
// Base, holding one commit with the edit. Run again, it leaves a branch that already
// holds the same edit on the same base alone and moves one that does not to a fresh
// commit, so a branch never piles up stale commits. The worktree and index are untouched.
type GitProposer struct {
	Repo   *Repo
	Base   string // the branch proposals start from; HEAD when empty
	Author Identity
	Now    func() time.Time
}

// Propose makes or refreshes the proposal's branch.
func (g *GitProposer) Propose(_ context.Context, p Proposal) (Proposed, error) {
	base, err := g.base()
	if err != nil {
		return Proposed{}, err
	}
	files := map[string][]byte{}
	for name, edits := range p.Edits {
		rp := g.Repo.Path(name)
		old, err := fileAt(base, rp)
		if err != nil {
			return Proposed{}, fmt.Errorf("%s: %w", p.Branch, err)
		}
		data, err := SetScalars(rp, old, edits)
		if err != nil {
			return Proposed{}, err
		}
		files[rp] = data
	}
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	refName := plumbing.NewBranchReferenceName(p.Branch)
	state := "new"
	if ref, err := g.Repo.Git.Reference(refName, true); err == nil {
		state = "refreshed"
		if cur, err := g.Repo.Git.CommitObject(ref.Hash()); err == nil && len(cur.ParentHashes) == 1 && cur.ParentHashes[0] == base.Hash {
			if want, err := treeWith(g.Repo, base, files); err == nil && want == cur.TreeHash {
				return Proposed{Branch: p.Branch, Commit: cur.Hash.String(), State: "unchanged"}, nil
			}
		}
	}
	c, err := g.Repo.commitFiles(base, files, p.Title+"\n\n"+p.Body, g.Author, now())
	if err != nil {
		return Proposed{}, fmt.Errorf("%s: %w", p.Branch, err)
	}
	if c.Hash == base.Hash {
		return Proposed{}, fmt.Errorf("%s: the base %s already has these values; nothing to propose", p.Branch, base.Hash.String()[:12])
	}
	if err := g.Repo.Git.Storer.SetReference(plumbing.NewHashReference(refName, c.Hash)); err != nil {
		return Proposed{}, fmt.Errorf("%s: %w", p.Branch, err)
	}
	return Proposed{Branch: p.Branch, Commit: c.Hash.String(), State: state}, nil
}

func (g *GitProposer) base() (*object.Commit, error) {
	if g.Base == "" {
		return g.Repo.head()
	}
	c, err := g.Repo.commitAt(g.Base)
	if err != nil {
		return nil, fmt.Errorf("the base branch %q: %w", g.Base, err)
	}
	return c, nil
}

// treeWith is the tree of c with files replaced.
func treeWith(r *Repo, c *object.Commit, files map[string][]byte) (plumbing.Hash, error) {
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return replaceInTree(r.Git.Storer, t, files)
}
