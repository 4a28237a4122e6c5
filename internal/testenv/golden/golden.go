// Package golden compares test output with files kept under testdata, goreleaser style:
// `go test ./... -update` rewrites them all, and the diff is reviewed like any change.
// It is the only place in the module that defines the -update flag.
package golden

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata with what the tests produce")

// Updating reports whether this run rewrites golden files.
func Updating() bool { return *update }

// File compares got with the golden file at path, first rewriting it with -update.
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it, then review the diff)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test produced (run go test -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// Tree compares a set of files (slash paths relative to dir) with the folder dir. With
// -update, write rebuilds dir first; files listed in keep are in dir but not in got and
// are neither compared nor reported (e.g. a site repo's own site.yaml).
func Tree(t testing.TB, dir string, got map[string][]byte, write func(dir string) error, keep ...string) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := write(dir); err != nil {
			t.Fatal(err)
		}
	}
	want, err := ReadTree(dir)
	if err != nil {
		t.Fatalf("%v (run go test -update to create the golden tree, then review the diff)", err)
	}
	for _, k := range keep {
		delete(want, k)
	}
	for p, data := range got {
		w, ok := want[p]
		switch {
		case !ok:
			t.Errorf("%s: not in the golden tree %s (run go test -update and review the diff)", p, dir)
		case !bytes.Equal(data, w):
			t.Errorf("%s differs from the golden file in %s (run go test -update and review the diff)", p, dir)
		}
		delete(want, p)
	}
	for p := range want {
		t.Errorf("%s: in the golden tree %s but no longer produced", p, dir)
	}
}

// ReadTree reads every file below dir, keyed by its slash path relative to dir.
func ReadTree(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	return out, err
}
