package tree

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// When a file cannot be moved into place, the files already replaced, written or moved
// aside are put back: the repo is as before and the result says nothing changed.
func TestWriteUndoesAFailedRename(t *testing.T) {
	dir := t.TempDir()
	first := New()
	first.Add("a/one.txt", []byte("1\n"), 0o644)
	first.Add("b/gone.txt", []byte("gone\n"), 0o644)
	first.Add("lock", []byte("v1\n"), 0o644)
	if _, err := first.Write(dir, nil); err != nil {
		t.Fatal(err)
	}
	second := New()
	second.Add("a/one.txt", []byte("2\n"), 0o644)
	second.Add("c/new.txt", []byte("new\n"), 0o644)
	second.Add("lock", []byte("v2\n"), 0o644)
	second.SetLast("lock")

	calls := 0
	intoPlace = func(root *os.Root, from, to string) error {
		if calls++; to == "lock" {
			return errors.New("disk full")
		}
		return renameMaking(root, from, to)
	}
	defer func() { intoPlace = renameMaking }()
	res, err := second.Write(dir, first.Paths())
	if err == nil || !strings.Contains(err.Error(), "moving lock into place: disk full") || len(res.Written)+len(res.Removed) != 0 {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if calls != 3 {
		t.Fatalf("%d files moved into place before the failure, want 2 and the lock last", calls-1)
	}
	for p, want := range map[string]string{"a/one.txt": "1\n", "b/gone.txt": "gone\n", "lock": "v1\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q as before", p, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "c/new.txt")); !os.IsNotExist(err) {
		t.Error("c/new.txt was left behind")
	}
}

// When the undo fails too, the error and the result name exactly what differs from before.
func TestWriteSaysWhatAFailedUndoLeft(t *testing.T) {
	dir := t.TempDir()
	first := New()
	first.Add("a/one.txt", []byte("1\n"), 0o644)
	first.Add("b/gone.txt", []byte("gone\n"), 0o644)
	if _, err := first.Write(dir, nil); err != nil {
		t.Fatal(err)
	}
	second := New()
	second.Add("a/one.txt", []byte("2\n"), 0o644)
	intoPlace = func(root *os.Root, from, to string) error {
		// Something takes b/gone.txt's place meanwhile: it cannot be put back.
		os.MkdirAll(filepath.Join(dir, "b/gone.txt/x"), 0o755)
		return errors.New("disk full")
	}
	defer func() { intoPlace = renameMaking }()
	res, err := second.Write(dir, first.Paths())
	if err == nil || !strings.Contains(err.Error(), "only these files differ from before: written [], removed or replaced by nothing [b/gone.txt]") {
		t.Fatalf("err = %v", err)
	}
	if len(res.Written) != 0 || len(res.Removed) != 1 {
		t.Fatalf("res %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a/one.txt")); string(got) != "1\n" {
		t.Errorf("a/one.txt = %q, want it put back", got)
	}
}
