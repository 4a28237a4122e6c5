package siterepo_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/siterepo"
)

// generated is a site repo generated from the one-app example, in base/repo.
func generated(t *testing.T) (base, dir string) {
	t.Helper()
	base = t.TempDir()
	dir = filepath.Join(base, "repo")
	site, _ := examples.Get("one-app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, siterepo.SiteFile), site, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Regenerate(); err != nil {
		t.Fatal(err)
	}
	return base, dir
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ownAlso adds p to the files the repo's lock says nassella wrote, as a tampered lock would.
func ownAlso(t *testing.T, dir, p string) {
	t.Helper()
	lock := filepath.Join(dir, generator.LockPath)
	data := append(mustRead(t, lock), []byte("  "+p+": sha256:00\n")...)
	if err := os.WriteFile(lock, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A lock naming a file outside the generated folders must not make generate touch it.
func TestLockEntryOutsideTheRepoIsRefused(t *testing.T) {
	for _, entry := range []string{"../elsewhere/important.txt", "terraform/../../elsewhere/important.txt", "ABS", "site.yaml", ".git/config"} {
		t.Run(entry, func(t *testing.T) {
			base, dir := generated(t)
			important := filepath.Join(base, "elsewhere", "important.txt")
			os.MkdirAll(filepath.Dir(important), 0o755)
			os.WriteFile(important, []byte("keep me"), 0o644)
			if entry == "ABS" {
				entry = important
			}
			ownAlso(t, dir, entry)
			r, err := siterepo.Open(dir, siterepo.Options{})
			if err == nil {
				_, err = r.Regenerate()
			}
			if err == nil {
				t.Fatal("a lock entry outside the generated folders was accepted")
			}
			for _, want := range []string{"nassella.lock", entry, "git checkout -- nassella.lock"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			if string(mustRead(t, important)) != "keep me" {
				t.Error("the file outside the repo was changed")
			}
			mustRead(t, filepath.Join(dir, siterepo.SiteFile))
		})
	}
}

// A committed symlink from a generated folder out of the repo: nothing is written through it.
func TestSymlinkedFolderIsRefused(t *testing.T) {
	base, dir := generated(t)
	outside := filepath.Join(base, "outside")
	os.MkdirAll(outside, 0o755)
	if err := os.RemoveAll(filepath.Join(dir, "terraform")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(dir, "terraform")); err != nil {
		t.Fatal(err)
	}
	readme := mustRead(t, filepath.Join(dir, "README.md"))
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed"), 0o644)

	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Regenerate()
	if err == nil || !strings.Contains(err.Error(), "terraform is a symbolic link") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the repo: %v", entries)
	}
	if got := mustRead(t, filepath.Join(dir, "README.md")); bytes.Equal(got, readme) {
		t.Error("README.md was rewritten although the write was refused")
	}
}

// A removal that cannot succeed stops generate before anything is renamed into place, and
// the message says nothing was changed, truthfully.
func TestFailingRemovalChangesNothing(t *testing.T) {
	_, dir := generated(t)
	// An app nassella generated once, whose file is now a folder holding the owner's data.
	ownAlso(t, dir, "apps/gone/compose.yaml")
	os.MkdirAll(filepath.Join(dir, "apps/gone/compose.yaml"), 0o755)
	os.WriteFile(filepath.Join(dir, "apps/gone/compose.yaml/data"), []byte("mine"), 0o644)
	// And a change to site.yaml, so site.auto.tfvars and the lock would be rewritten.
	sitePath := filepath.Join(dir, siterepo.SiteFile)
	os.WriteFile(sitePath, bytes.Replace(mustRead(t, sitePath), []byte("server_type: cx23"), []byte("server_type: cx33"), 1), 0o644)
	tfvars, lock := filepath.Join(dir, "terraform/site.auto.tfvars"), filepath.Join(dir, generator.LockPath)
	oldTfvars, oldLock := mustRead(t, tfvars), mustRead(t, lock)

	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0, _ := r.Generate()
	if f, _ := t0.Get("terraform/site.auto.tfvars"); bytes.Equal(f.Data, oldTfvars) {
		t.Fatal("the test's site.yaml change does not change site.auto.tfvars")
	}
	_, err = r.Regenerate()
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "apps/gone/compose.yaml") {
		t.Fatalf("err = %v", err)
	}
	if !bytes.Equal(mustRead(t, tfvars), oldTfvars) || !bytes.Equal(mustRead(t, lock), oldLock) {
		t.Error("files were renamed into place although the error says nothing was changed")
	}
	if string(mustRead(t, filepath.Join(dir, "apps/gone/compose.yaml/data"))) != "mine" {
		t.Error("the owner's folder was touched")
	}
}

// A huge site.yaml is refused before it is read, naming the file, its size and the limit.
func TestHugeSiteIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, siterepo.SiteFile)
	os.WriteFile(p, []byte("name: x\n"), 0o644)
	if err := os.Truncate(p, 50<<20); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := siterepo.Open(dir, siterepo.Options{})
	if err == nil || !strings.Contains(err.Error(), "site.yaml is 50.0 MiB") || !strings.Contains(err.Error(), "1.0 MiB") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing took %v", d)
	}
}
