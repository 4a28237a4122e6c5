package butane

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// The seeded files are written by the real systemd-tmpfiles byte for byte, once: a file
// the app or its owner changed stays as it is on the next boot.
func TestSeedFilesWithTmpfiles(t *testing.T) {
	tmpfiles := testtool.Require(t, "NASSELLA_TMPFILES", ".ci/tools-backup.sh")
	var jellyfin []catalog.File
	jellyfin = append(jellyfin, catalog.Embedded().Apps["jellyfin"].Files...)
	files := append(jellyfin,
		catalog.File{Volume: "data", Path: "a/b/odd.conf", Content: " leading space, 100% \\n literal, a\ttab\nüñï\n"},
		catalog.File{Volume: "data", Path: "a/second.conf", Content: "x"})
	if len(jellyfin) == 0 {
		t.Fatal("jellyfin seeds no files")
	}

	root := t.TempDir()
	const base = "/var/lib/nassella/apps/demo"
	for _, v := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(root, base, v), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(t.TempDir(), "seed.conf")
	if err := os.WriteFile(conf, []byte(seedLines(base, files)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		if out, err := exec.Command(tmpfiles, "--create", "--root="+root, conf).CombinedOutput(); err != nil {
			t.Fatalf("systemd-tmpfiles: %v\n%s\n%s", err, out, seedLines(base, files))
		}
	}
	run()
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(root, base, f.Volume, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != f.Content {
			t.Errorf("%s/%s holds\n%q\nwant\n%q", f.Volume, f.Path, got, f.Content)
		}
	}

	changed := filepath.Join(root, base, "config", jellyfin[0].Path)
	if err := os.WriteFile(changed, []byte("the owner's own settings"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(changed, 0o600); err != nil {
		t.Fatal(err)
	}
	run()
	if got, _ := os.ReadFile(changed); string(got) != "the owner's own settings" {
		t.Errorf("a changed file was written again: %q", got)
	}
	if fi, _ := os.Stat(changed); fi.Mode().Perm() != 0o600 {
		t.Errorf("a changed file's mode became %v", fi.Mode().Perm())
	}
	dir := filepath.Dir(changed)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run()
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("an existing folder's mode became %v", fi.Mode().Perm())
	}
}
