package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/nassella/nassella/pipelines/deploy"
)

// A checkout whose terraform folder is a symlink out of it: the rollback refuses to swap
// files through it, and the folder it points at is left as it was.
func TestRollbackRefusesASymlinkedFolder(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
	os.MkdirAll(dir, 0o755)
	commitSite(t, dir, "vaultwarden")
	repo, _ := git.PlainOpen(dir)
	head, _ := repo.Head()
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "main.tf"), []byte("theirs"), 0o644)
	os.RemoveAll(filepath.Join(dir, "terraform"))
	if err := os.Symlink("../outside", filepath.Join(dir, "terraform")); err != nil {
		t.Fatal(err)
	}

	_, err = deploy.SwapInForTest(dir, c)
	if err == nil || !strings.Contains(err.Error(), "terraform is a symbolic link") {
		t.Fatalf("err = %v", err)
	}
	entries, _ := os.ReadDir(outside)
	if data, _ := os.ReadFile(filepath.Join(outside, "main.tf")); len(entries) != 1 || string(data) != "theirs" {
		t.Errorf("the folder outside the checkout was changed: %d entries, main.tf %q", len(entries), data)
	}
}
