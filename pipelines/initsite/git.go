package initsite

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/nassella/nassella/internal/gitx"
)

// commit makes dir a git repo and commits everything in it.
func commit(dir, msg, name, email string) error {
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddGlob("."); err != nil {
		return fmt.Errorf("git add: %w", err)
	}
	if _, err := gitx.Commit(wt, msg, gitx.Identity{Name: name, Email: email}, time.Now()); err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	return nil
}
