// Package tree is the generated site repo held in memory: renderers add files to it, and
// it is written to disk only once complete, file by file through renames, so an error
// never leaves a half-written repo behind and files nassella does not own are untouched.
// Every file operation goes through an os.Root of the repo's folder and no path through a
// symbolic link is used, so what a repo holds can never make nassella touch a file outside.
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
	"syscall"
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
	if !fs.ValidPath(p) || p == "." {
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

// Result says what a write changed. After an error it says what was changed anyway.
type Result struct {
	Written   []string // created or changed
	Removed   []string // owned before, no longer generated
	Unchanged int
}

// Write makes dir hold the tree. owned lists the paths nassella wrote last time (from the
// old lock file): those may be overwritten or removed. Any other existing file at a
// generated path is refused unless identical, so a customer's own file is never clobbered.
// Everything is staged in a folder inside dir first. Then the files to be replaced or
// removed are moved aside and the new ones renamed into place; if a step fails, what was
// done is undone, and the error says whether anything is left changed.
func (t *Tree) Write(dir string, owned []string) (Result, error) {
	var res Result
	prev := map[string]bool{}
	var gone []string // owned, no longer generated
	for _, p := range owned {
		if !fs.ValidPath(p) || p == "." {
			return res, fmt.Errorf("%q is no path inside the repo; nassella touches nothing outside it", p)
		}
		prev[p] = true
		if _, still := t.files[p]; !still {
			gone = append(gone, p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return res, err
	}
	defer root.Close()

	// Check everything before changing anything.
	var changed, aside []string // aside: existing files to replace or remove
	for _, p := range t.Paths() {
		f := t.files[p]
		st, err := lstat(root, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changed = append(changed, p)
			continue
		case err != nil:
			return res, err
		}
		same := st.Size() == int64(len(f.Data))
		if same {
			cur, err := root.ReadFile(p)
			if err != nil {
				return res, fmt.Errorf("reading %s: %w", p, err)
			}
			same = bytes.Equal(cur, f.Data)
		}
		switch {
		case same && st.Mode().Perm() == f.Mode.Perm():
			res.Unchanged++
			continue
		case !prev[p] && !same:
			return res, fmt.Errorf("%s exists and was not written by nassella; move it away (nassella generates this file) and run again", p)
		}
		changed = append(changed, p)
		aside = append(aside, p)
	}
	for _, p := range gone {
		_, err := lstat(root, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return res, fmt.Errorf("%w; nassella no longer generates %s and must remove it", err, p)
		default:
			aside = append(aside, p)
		}
	}

	stageDir, err := os.MkdirTemp(dir, ".nassella-staging-")
	if err != nil {
		return res, fmt.Errorf("preparing to write %s: %w", dir, err)
	}
	stage := filepath.Base(stageDir)
	keepStage := false
	defer func() {
		if !keepStage {
			root.RemoveAll(stage)
		}
	}()
	for _, p := range changed {
		if err := writeSynced(root, path.Join(stage, "new", p), t.files[p]); err != nil {
			return res, fmt.Errorf("writing %s: %w", p, err)
		}
	}

	// Move aside, then into place; undo in reverse order on failure.
	type step struct {
		p       string
		written bool // p was moved into place; else the old p was moved aside
		undo    func() error
	}
	var done []step
	fail := func(err error) (Result, error) {
		var left []string
		for i := len(done) - 1; i >= 0; i-- {
			d := done[i]
			if uerr := d.undo(); uerr != nil {
				left = append(left, uerr.Error())
				if d.written {
					res.Written = append(res.Written, d.p)
				} else {
					res.Removed = append(res.Removed, d.p)
				}
			}
		}
		if len(left) == 0 {
			return Result{}, err
		}
		keepStage = true
		return res, fmt.Errorf("%w; undoing the change failed, so only these files differ from before: written %v, removed or replaced by nothing %v (%s; the old files are kept in %s)",
			err, res.Written, res.Removed, strings.Join(left, "; "), stageDir)
	}
	for _, p := range aside {
		old := path.Join(stage, "old", p)
		if err := renameMaking(root, p, old); err != nil {
			if _, still := t.files[p]; !still {
				return fail(fmt.Errorf("removing %s, which nassella no longer generates: %w", p, err))
			}
			return fail(fmt.Errorf("replacing %s: %w", p, err))
		}
		done = append(done, step{p, false, func() error { return root.Rename(old, p) }})
	}
	sort.SliceStable(changed, func(i, j int) bool { return changed[j] == t.last && changed[i] != t.last })
	for _, p := range changed {
		if err := intoPlace(root, path.Join(stage, "new", p), p); err != nil {
			return fail(fmt.Errorf("moving %s into place: %w", p, err))
		}
		done = append(done, step{p, true, func() error { return root.Remove(p) }})
	}
	res.Written, res.Removed = changed, gone
	for _, p := range aside {
		if _, still := t.files[p]; !still {
			removeEmptyParents(root, path.Dir(p))
		}
	}
	return res, nil
}

// lstat returns what stands at p, refusing a symbolic link anywhere on the way (a link
// inside the repo could still lead to a file nassella does not own) and a file where a
// folder belongs.
func lstat(root *os.Root, p string) (fs.FileInfo, error) {
	if err := confined(root, p); err != nil {
		return nil, err
	}
	if parent := path.Dir(p); parent != "." {
		if st, err := root.Lstat(parent); err == nil && !st.IsDir() {
			return nil, fmt.Errorf("%s is a file where nassella needs a folder for %s; move it away and run again", parent, p)
		}
	}
	st, err := root.Lstat(p)
	if err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a folder or special file where nassella writes a file; move it away and run again", p)
	}
	return st, err
}

// Confined checks that p (slash-separated, relative to dir) is reached without a symbolic
// link, p itself included, so writing or removing it touches nothing outside dir's real
// folders. Whatever does not exist yet is fine.
func Confined(dir, p string) error {
	if !fs.ValidPath(p) {
		return fmt.Errorf("%q is no path inside %s", p, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return confined(root, p)
}

func confined(root *os.Root, p string) error {
	for i, c := 0, 0; c >= 0; i += c + 1 {
		c = strings.IndexByte(p[i:], '/')
		sub := p
		if c >= 0 {
			sub = p[:i+c]
		}
		st, err := root.Lstat(sub)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			return nil // nothing there to follow
		case err != nil:
			return err
		case st.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link, and nassella writes %s only through real folders inside the repo; replace the link with a folder (or the file) and run again", sub, p)
		}
	}
	return nil
}

// intoPlace moves a staged file into place; a variable so a test can make it fail.
var intoPlace = renameMaking

func renameMaking(root *os.Root, from, to string) error {
	if err := root.MkdirAll(path.Dir(to), 0o755); err != nil {
		return err
	}
	return root.Rename(from, to)
}

func writeSynced(root *os.Root, p string, f File) error {
	if err := root.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	w, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode)
	if err != nil {
		return err
	}
	if _, err := w.Write(f.Data); err != nil {
		w.Close()
		return err
	}
	if err := w.Chmod(f.Mode); err != nil { // not subject to the umask
		w.Close()
		return err
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func removeEmptyParents(root *os.Root, rel string) {
	for rel != "." && rel != "/" && rel != "" {
		if root.Remove(rel) != nil {
			return
		}
		rel = path.Dir(rel)
	}
}
