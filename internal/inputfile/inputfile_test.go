package inputfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nassella/nassella/internal/inputfile"
)

func TestReadRefusesAHugeFileQuickly(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 50<<20); err != nil { // sparse: 50 MiB without writing it
		t.Fatal(err)
	}
	_, err := inputfile.Read(big)
	var tl *inputfile.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("got %v, want a TooLargeError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, big) || !strings.Contains(msg, "50.0 MiB") || !strings.Contains(msg, "1.0 MiB") {
		t.Errorf("the message must name the file, its size and the limit: %s", msg)
	}
}

func TestReadFSCapsWithoutAStat(t *testing.T) {
	fsys := fstest.MapFS{
		"ok.yaml":  {Data: []byte("a: 1\n")},
		"big.yaml": {Data: make([]byte, inputfile.MaxSize+1)},
	}
	if data, err := inputfile.ReadFS(fsys, "ok.yaml"); err != nil || string(data) != "a: 1\n" {
		t.Fatalf("ok.yaml: %q, %v", data, err)
	}
	if _, err := inputfile.ReadFS(fsys, "big.yaml"); err == nil || !strings.Contains(err.Error(), "big.yaml") {
		t.Fatalf("big.yaml: %v", err)
	}
}

func TestReadInStaysInsideTheFolder(t *testing.T) {
	base := t.TempDir()
	repo := filepath.Join(base, "repo")
	os.Mkdir(repo, 0o755)
	os.WriteFile(filepath.Join(base, "secret"), []byte("token"), 0o600)
	os.WriteFile(filepath.Join(repo, "real.yaml"), []byte("x: 1\n"), 0o644)
	os.Symlink("../secret", filepath.Join(repo, "site.yaml"))
	os.Symlink("real.yaml", filepath.Join(repo, "inside.yaml"))

	if _, err := inputfile.ReadIn(repo, "site.yaml"); err == nil {
		t.Fatal("a symlink out of the repo was followed")
	}
	if _, err := inputfile.ReadIn(repo, "../secret"); err == nil {
		t.Fatal("a path out of the repo was read")
	}
	if data, err := inputfile.ReadIn(repo, "inside.yaml"); err != nil || string(data) != "x: 1\n" {
		t.Fatalf("a symlink inside the repo: %q, %v", data, err)
	}
}
