package initsite

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/nassella/nassella/internal/gitx"
)

// StartCommit is the message of a new repo's first commit, which holds no files.
const StartCommit = "Start the site repo"

// commit makes dir a git repo with main as its branch, and commits everything in it on
// top of a first commit that holds no files: nassella bootstrap pushes that one alone to
// the forge's main, so the site itself arrives as a pull request the owner merges.
func commit(dir, msg, name, email string) error {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	who, now := gitx.Identity{Name: name, Email: email}, time.Now()
	if _, err := wt.Commit(StartCommit, &git.CommitOptions{AllowEmptyCommits: true, Author: who.Signature(now), Committer: who.Signature(now), SignKey: who.SignKey}); err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	if err := wt.AddGlob("."); err != nil {
		return fmt.Errorf("git add: %w", err)
	}
	if _, err := gitx.Commit(wt, msg, who, now); err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	return nil
}
