// Package tree is the generated site repo held in memory: renderers add files to it, and
// it is written to disk only once complete, file by file through renames, so an error
// never leaves a half-written repo behind and files nassella does not own are untouched.
package tree

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// File is one generated file.
type File struct {
	Data []byte
	Mode fs.FileMode // 0644 or 0755
}

// Tree is a set of files by slash-separated path relative to the repo root.
type Tree struct {
	files map[string]File
	last  string // moved into place after every other file
}

// SetLast names the file Write moves into place last: the lock file, which says what
// nassella owns. If a write is cut short, the old lock still names every file it owned.
func (t *Tree) SetLast(p string) { t.last = p }

// New returns an empty tree.
func New() *Tree { return &Tree{files: map[string]File{}} }

// Add puts a file in the tree; adding a path twice is a programming error.
func (t *Tree) Add(p string, data []byte, mode fs.FileMode) {
	if p != path.Clean(p) || path.IsAbs(p) || strings.HasPrefix(p, "../") {
		panic(fmt.Sprintf("tree: bad path %q", p))
	}
	if _, dup := t.files[p]; dup {
		panic(fmt.Sprintf("tree: %s added twice", p))
	}
	t.files[p] = File{Data: data, Mode: mode}
}

// Get returns a file of the tree.
func (t *Tree) Get(p string) (File, bool) {
	f, ok := t.files[p]
	return f, ok
}

// Paths returns every path, sorted.
func (t *Tree) Paths() []string {
	ps := make([]string, 0, len(t.files))
	for p := range t.files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Hash is the sha256 of a file's content, as "sha256:<hex>".
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Result says what a write changed.
type Result struct {
	Written   []string // created or changed
	Removed   []string // owned before, no longer generated
	Unchanged int
}

// Write makes dir hold the tree. owned lists the paths nassella wrote last time (from the
// old lock file): those may be overwritten or removed. Any other existing file at a
// generated path is refused unless identical, so a customer's own file is never clobbered.
// Everything is staged in a folder inside dir first; only when all of it is on disk are
// the files renamed into place.
func (t *Tree) Write(dir string, owned []string) (Result, error) {
	var res Result
	prev := map[string]bool{}
	for _, p := range owned {
		prev[p] = true
	}
	var changed []string
	for _, p := range t.Paths() {
		f := t.files[p]
		cur, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changed = append(changed, p)
		case err != nil:
			return res, fmt.Errorf("reading %s: %w", p, err)
		case bytes.Equal(cur, f.Data) && modeMatches(dir, p, f.Mode):
			res.Unchanged++
		case !prev[p] && !bytes.Equal(cur, f.Data):
			return res, fmt.Errorf("%s exists and was not written by nassella; move it away (nassella generates this file) and run again", p)
		default:
			changed = append(changed, p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	stage, err := os.MkdirTemp(dir, ".nassella-staging-")
	if err != nil {
		return res, fmt.Errorf("preparing to write %s: %w", dir, err)
	}
	defer os.RemoveAll(stage)
	for _, p := range changed {
		f := t.files[p]
		sp := filepath.Join(stage, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(sp), 0o755); err != nil {
			return res, err
		}
		if err := writeSynced(sp, f.Data, f.Mode); err != nil {
			return res, fmt.Errorf("writing %s: %w", p, err)
		}
	}
	sort.SliceStable(changed, func(i, j int) bool { return changed[j] == t.last && changed[i] != t.last })
	for _, p := range changed {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return res, err
		}
		if err := os.Rename(filepath.Join(stage, filepath.FromSlash(p)), dst); err != nil {
			return res, fmt.Errorf("moving %s into place: %w", p, err)
		}
		res.Written = append(res.Written, p)
	}
	for _, p := range owned {
		if _, still := t.files[p]; still {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("removing %s, which nassella no longer generates: %w", p, err)
		}
		res.Removed = append(res.Removed, p)
		removeEmptyParents(dir, path.Dir(p))
	}
	return res, nil
}

func modeMatches(dir, p string, mode fs.FileMode) bool {
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
	return err == nil && st.Mode().Perm() == mode.Perm()
}

func writeSynced(p string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // not subject to the umask
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func removeEmptyParents(dir, rel string) {
	for rel != "." && rel != "/" && rel != "" {
		if os.Remove(filepath.Join(dir, filepath.FromSlash(rel))) != nil {
			return
		}
		rel = path.Dir(rel)
	}
}
