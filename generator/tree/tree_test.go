package tree_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/generator/tree"
)

func read(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteCreatesChangesAndRemoves(t *testing.T) {
	dir := t.TempDir()
	first := tree.New()
	first.Add("a/one.txt", []byte("1\n"), 0o644)
	first.Add("b/two.sh", []byte("#!/bin/sh\n"), 0o755)
	res, err := first.Write(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 {
		t.Fatalf("written %v", res.Written)
	}
	if st, _ := os.Stat(filepath.Join(dir, "b/two.sh")); st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", st.Mode())
	}

	// The owner's own file stays; an owned file no longer generated goes, with its folder.
	os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("mine"), 0o644)
	second := tree.New()
	second.Add("a/one.txt", []byte("1\n"), 0o644)
	second.Add("c/three.txt", []byte("3\n"), 0o644)
	res, err = second.Write(dir, first.Paths())
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != 1 || strings.Join(res.Written, ",") != "c/three.txt" || strings.Join(res.Removed, ",") != "b/two.sh" {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Error("empty folder b was left behind")
	}
	if read(t, filepath.Join(dir, "NOTES.md")) != "mine" {
		t.Error("the owner's file was touched")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".nassella-staging") {
			t.Errorf("staging folder %s left behind", e.Name())
		}
	}
}

// A file the generator did not write is never overwritten, and then nothing is written.
func TestWriteRefusesUnownedFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proxy"), 0o755)
	os.WriteFile(filepath.Join(dir, "proxy/Caddyfile"), []byte("my own"), 0o644)
	tr := tree.New()
	tr.Add("README.md", []byte("readme"), 0o644)
	tr.Add("proxy/Caddyfile", []byte("generated"), 0o644)
	_, err := tr.Write(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "proxy/Caddyfile exists and was not written by nassella") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); !os.IsNotExist(err) {
		t.Error("README.md was written although the write was refused")
	}
	if read(t, filepath.Join(dir, "proxy/Caddyfile")) != "my own" {
		t.Error("the unowned file was changed")
	}
}

// Owned paths come from a lock file in the repo: one leading out of it is refused, and
// nothing is touched.
func TestWriteRefusesOwnedPathOutsideTheRepo(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "repo")
	victim := filepath.Join(base, "important.txt")
	os.WriteFile(victim, []byte("keep"), 0o644)
	tr := tree.New()
	tr.Add("README.md", []byte("readme"), 0o644)
	for _, p := range []string{"../important.txt", victim, "a/../../important.txt"} {
		_, err := tr.Write(dir, []string{p})
		if err == nil || !strings.Contains(err.Error(), "no path inside the repo") {
			t.Errorf("%s: err = %v", p, err)
		}
	}
	if read(t, victim) != "keep" {
		t.Error("a file outside the repo was changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); !os.IsNotExist(err) {
		t.Error("README.md was written although the write was refused")
	}
}

// A symlinked folder, out of the repo or inside it, is never written or removed through.
func TestWriteRefusesSymlinks(t *testing.T) {
	for _, target := range []string{"../outside", "other"} {
		t.Run(target, func(t *testing.T) {
			base := t.TempDir()
			dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
			os.MkdirAll(filepath.Join(dir, "other"), 0o755)
			os.MkdirAll(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "old.tf"), []byte("theirs"), 0o644)
			os.WriteFile(filepath.Join(dir, "other", "old.tf"), []byte("theirs"), 0o644)
			os.Symlink(target, filepath.Join(dir, "terraform"))
			tr := tree.New()
			tr.Add("README.md", []byte("readme"), 0o644)
			tr.Add("terraform/main.tf", []byte("x"), 0o644)
			_, err := tr.Write(dir, []string{"terraform/old.tf"})
			if err == nil || !strings.Contains(err.Error(), "terraform is a symbolic link") {
				t.Fatalf("err = %v", err)
			}
			for _, p := range []string{filepath.Join(outside, "old.tf"), filepath.Join(dir, "other", "old.tf")} {
				if read(t, p) != "theirs" {
					t.Errorf("%s was changed", p)
				}
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("written through the link: %v", entries)
			}
			if _, err := os.Stat(filepath.Join(dir, "README.md")); !os.IsNotExist(err) {
				t.Error("README.md was written although the write was refused")
			}
		})
	}
}

// A file where a generated folder must be is refused before anything is changed.
func TestWriteRefusesAFileWhereAFolderBelongs(t *testing.T) {
	dir := t.TempDir()
	first := tree.New()
	first.Add("a/one.txt", []byte("1\n"), 0o644)
	first.Add("z/lock", []byte("v1\n"), 0o644)
	if _, err := first.Write(dir, nil); err != nil {
		t.Fatal(err)
	}
	second := tree.New()
	second.Add("a/one.txt", []byte("2\n"), 0o644)
	second.Add("z/lock/inner", []byte("v2\n"), 0o644)
	res, err := second.Write(dir, first.Paths())
	if err == nil || !strings.Contains(err.Error(), "z/lock is a file where nassella needs a folder") || len(res.Written) != 0 {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if read(t, filepath.Join(dir, "a/one.txt")) != "1\n" {
		t.Error("a/one.txt changed although the write was refused")
	}
}
