package generator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
)

// Every file the generator writes is one a lock may name, or the next generate would
// refuse the lock it just wrote.
func TestGeneratedPathsPassTheLockCheck(t *testing.T) {
	for _, name := range examples.Names() {
		tr, err := generator.Generate(load(t, name), catalog.Embedded())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tr.Paths() {
			if p != generator.LockPath && !generator.Generated(p) {
				t.Errorf("%s: %s is generated but a lock naming it would be refused", name, p)
			}
		}
		f, _ := tr.Get(generator.LockPath)
		if _, err := generator.ParseLock(f.Data); err != nil {
			t.Errorf("%s: the generated lock does not parse: %v", name, err)
		}
	}
}

func TestParseLockRefusesPathsOutsideTheGeneratedFolders(t *testing.T) {
	for _, p := range []string{"../x", "terraform/../../x", "/etc/passwd", "", ".", "terraform/", "terraform//x",
		"./terraform/x", "site.yaml", ".git/config", ".github/CODEOWNERS", "terraform\\..\\..\\x", "terraformx/a"} {
		_, err := generator.ParseLock([]byte("files:\n  \"" + strings.ReplaceAll(p, "\\", "\\\\") + "\": sha256:00\n"))
		if err == nil || !strings.Contains(err.Error(), "nassella.lock: files: ") || !strings.Contains(err.Error(), "git checkout -- nassella.lock") {
			t.Errorf("%q: err = %v", p, err)
		}
	}
}

// The lock is read only inside the repo, and only up to the input cap.
func TestReadLockStaysInsideTheRepo(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "repo")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(base, "secret"), []byte("files: {}\n"), 0o600)
	os.Symlink("../secret", filepath.Join(dir, generator.LockPath))
	if _, err := generator.ReadLock(dir); err == nil {
		t.Fatal("a lock linked from outside the repo was read")
	}
	os.Remove(filepath.Join(dir, generator.LockPath))
	os.WriteFile(filepath.Join(dir, generator.LockPath), []byte(strings.Repeat("#\n", 1<<20)), 0o644)
	if _, err := generator.ReadLock(dir); err == nil || !strings.Contains(err.Error(), "nassella.lock is 2.0 MiB") {
		t.Fatalf("a 2 MiB lock: %v", err)
	}
}
