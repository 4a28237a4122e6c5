package catalogops

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/nassella/nassella/internal/gitx"
)

// Repo is the git repository a catalog folder is in: the catalog's own repo, or a repo
// that keeps it in a subfolder (nassella's keeps it in catalog/).
type Repo struct {
	Git  *git.Repository
	Root string // the worktree's root
	Dir  string // the catalog folder relative to Root, slash-separated; "" at the root
}

// OpenRepo opens the git repository that holds the catalog folder dir.
func OpenRepo(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git repository (%w); releases and proposals are commits, so clone the catalog repo first", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (a bare repository has no files to release)", dir, err)
	}
	root := wt.Filesystem.Root()
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%s is outside its repository's worktree %s", dir, root)
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		rel = ""
	}
	return &Repo{Git: r, Root: root, Dir: rel}, nil
}

// Path is the repository path of name inside the catalog folder.
func (r *Repo) Path(name string) string {
	if r.Dir == "" {
		return name
	}
	return r.Dir + "/" + name
}

// File is the worktree file of name inside the catalog folder.
func (r *Repo) File(name string) string {
	return filepath.Join(r.Root, filepath.FromSlash(r.Path(name)))
}

// head returns the commit HEAD points at.
func (r *Repo) head() (*object.Commit, error) {
	ref, err := r.Git.Head()
	if err != nil {
		return nil, fmt.Errorf("the repository has no commit yet (%w); commit the catalog first", err)
	}
	return r.Git.CommitObject(ref.Hash())
}

// commitAt returns the commit a branch, tag or other revision names.
func (r *Repo) commitAt(rev string) (*object.Commit, error) {
	h, err := r.Git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, err
	}
	return r.Git.CommitObject(*h)
}

// catalogFiles reads the catalog folder as it is in commit c, for catalog.Load.
func (r *Repo) catalogFiles(c *object.Commit) (fstest.MapFS, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	if r.Dir != "" {
		if tree, err = tree.Tree(r.Dir); err != nil {
			return nil, fmt.Errorf("commit %s has no folder %s: %w", c.Hash, r.Dir, err)
		}
	}
	out := fstest.MapFS{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Name != "release.yaml" && !(path.Dir(f.Name) == "apps" && strings.HasSuffix(f.Name, ".yaml")) {
			return nil
		}
		text, err := f.Contents()
		if err != nil {
			return err
		}
		out[f.Name] = &fstest.MapFile{Data: []byte(text)}
		return nil
	})
	return out, err
}

// tagNames lists the tags under prefix ("catalog/"), without it.
func (r *Repo) tagNames(prefix string) ([]string, error) {
	iter, err := r.Git.Tags()
	if err != nil {
		return nil, err
	}
	var out []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if n := ref.Name().Short(); strings.HasPrefix(n, prefix) {
			out = append(out, strings.TrimPrefix(n, prefix))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// tagCommit returns the commit a tag (annotated or not) points at, or nil when there is
// no such tag.
func (r *Repo) tagCommit(name string) (*object.Commit, error) {
	ref, err := r.Git.Tag(name)
	if errors.Is(err, git.ErrTagNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if t, err := r.Git.TagObject(ref.Hash()); err == nil {
		return t.Commit()
	}
	return r.Git.CommitObject(ref.Hash())
}

// stagedOutside returns the paths staged for commit outside the catalog folder: a
// release commit must not carry them along.
func (r *Repo) stagedOutside() ([]string, error) {
	wt, err := r.Git.Worktree()
	if err != nil {
		return nil, err
	}
	st, err := wt.Status()
	if err != nil {
		return nil, err
	}
	var out []string
	for p, s := range st {
		if s.Staging != git.Unmodified && s.Staging != git.Untracked && !r.inDir(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (r *Repo) inDir(p string) bool {
	return r.Dir == "" || p == r.Dir || strings.HasPrefix(p, r.Dir+"/")
}

// commit stages the named catalog-folder paths (files or folders, deletions included) and
// commits them.
func (r *Repo) commit(paths []string, msg string, who Identity, now time.Time) (plumbing.Hash, error) {
	wt, err := r.Git.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, p := range paths {
		if _, err := wt.Add(r.Path(p)); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("staging %s: %w", r.Path(p), err)
		}
	}
	return gitx.Commit(wt, msg, who, now)
}

// tag creates the annotated tag name on commit.
func (r *Repo) tag(name string, commit plumbing.Hash, msg string, who Identity, now time.Time) error {
	_, err := r.Git.CreateTag(name, commit, &git.CreateTagOptions{Tagger: who.Signature(now), Message: msg, SignKey: who.SignKey})
	if err != nil {
		return fmt.Errorf("creating the tag %s: %w", name, err)
	}
	return nil
}

// commitFiles makes a commit on top of parent in which the named repository files have
// the given contents, without touching the worktree or the index, and returns it. The
// files must exist in parent.
func (r *Repo) commitFiles(parent *object.Commit, files map[string][]byte, msg string, who Identity, now time.Time) (*object.Commit, error) {
	root, err := parent.Tree()
	if err != nil {
		return nil, err
	}
	treeHash, err := replaceInTree(r.Git.Storer, root, files)
	if err != nil {
		return nil, err
	}
	if treeHash == root.Hash {
		return parent, nil
	}
	sig := who.Signature(now)
	c := &object.Commit{Author: *sig, Committer: *sig, Message: msg, TreeHash: treeHash, ParentHashes: []plumbing.Hash{parent.Hash}}
	if who.SignKey != nil {
		enc := r.Git.Storer.NewEncodedObject()
		if err := c.EncodeWithoutSignature(enc); err != nil {
			return nil, err
		}
		rd, err := enc.Reader()
		if err != nil {
			return nil, err
		}
		var sigBuf strings.Builder
		if err := openpgp.ArmoredDetachSign(&sigBuf, who.SignKey, rd, nil); err != nil {
			return nil, fmt.Errorf("signing the commit: %w", err)
		}
		c.PGPSignature = sigBuf.String()
	}
	h, err := store(r.Git.Storer, c)
	if err != nil {
		return nil, err
	}
	return r.Git.CommitObject(h)
}

// replaceInTree writes the trees of t with files (paths relative to t) replaced.
func replaceInTree(s storer.EncodedObjectStorer, t *object.Tree, files map[string][]byte) (plumbing.Hash, error) {
	here := map[string][]byte{}
	below := map[string]map[string][]byte{}
	for p, data := range files {
		dir, rest, ok := strings.Cut(p, "/")
		if !ok {
			here[p] = data
			continue
		}
		if below[dir] == nil {
			below[dir] = map[string][]byte{}
		}
		below[dir][rest] = data
	}
	entries := append([]object.TreeEntry(nil), t.Entries...)
	found := map[string]bool{}
	for i, e := range entries {
		if data, ok := here[e.Name]; ok {
			if !e.Mode.IsFile() {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a file", e.Name)
			}
			h, err := storeBlob(s, data)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries[i].Hash = h
			found[e.Name] = true
		}
		if sub, ok := below[e.Name]; ok {
			if e.Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a folder", e.Name)
			}
			st, err := object.GetTree(s, e.Hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			h, err := replaceInTree(s, st, sub)
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("%s/%w", e.Name, err)
			}
			entries[i].Hash = h
			found[e.Name] = true
		}
	}
	for name := range here {
		if !found[name] {
			return plumbing.ZeroHash, fmt.Errorf("%s does not exist in the base commit", name)
		}
	}
	for name := range below {
		if !found[name] {
			return plumbing.ZeroHash, fmt.Errorf("%s/ does not exist in the base commit", name)
		}
	}
	return store(s, &object.Tree{Entries: entries})
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

func store(s storer.EncodedObjectStorer, o encoder) (plumbing.Hash, error) {
	enc := s.NewEncodedObject()
	if err := o.Encode(enc); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(enc)
}

func storeBlob(s storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	enc := s.NewEncodedObject()
	enc.SetType(plumbing.BlobObject)
	enc.SetSize(int64(len(data)))
	w, err := enc.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(enc)
}

// fileAt returns the content of a repository file in commit c.
func fileAt(c *object.Commit, p string) ([]byte, error) {
	f, err := c.File(p)
	if err != nil {
		return nil, fmt.Errorf("%s in commit %s: %w", p, c.Hash.String()[:12], err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// Identity is who cuts, proposes or promotes: the author and committer of the commits and
// the tagger of the tags, with an optional OpenPGP key that signs them.
type Identity = gitx.Identity

// FindIdentity returns who is at the keyboard: flag ("Name <email>") when given, else
// GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL, else user.name and user.email from the
// repository's and the user's git config.
func FindIdentity(flag string, repo *Repo) (Identity, error) {
	if flag != "" {
		return gitx.ParseIdentity(flag)
	}
	if n, e := os.Getenv("GIT_AUTHOR_NAME"), os.Getenv("GIT_AUTHOR_EMAIL"); n != "" && e != "" {
		return Identity{Name: n, Email: e}, nil
	}
	var name, email string
	if repo != nil {
		if cfg, err := repo.Git.Config(); err == nil {
			name, email = cfg.User.Name, cfg.User.Email
		}
	}
	if name == "" || email == "" {
		for _, scope := range []gitconfig.Scope{gitconfig.GlobalScope, gitconfig.SystemScope} {
			if cfg, err := gitconfig.LoadConfig(scope); err == nil {
				if name == "" {
					name = cfg.User.Name
				}
				if email == "" {
					email = cfg.User.Email
				}
			}
		}
	}
	if name == "" || email == "" {
		return Identity{}, errors.New("who is this? the commit and tag need a name and email: pass --author \"Name <email>\", or set git config user.name and user.email")
	}
	return Identity{Name: name, Email: email}, nil
}

// ReadSignKey reads an armored OpenPGP private key (not passphrase-protected) to sign
// commits and tags with.
func ReadSignKey(file string) (*openpgp.Entity, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	defer f.Close()
	keys, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w (export it with gpg --armor --export-secret-keys)", file, err)
	}
	for _, k := range keys {
		if k.PrivateKey == nil {
			continue
		}
		if k.PrivateKey.Encrypted {
			return nil, fmt.Errorf("signing key %s is protected by a passphrase; nassella cannot ask for it: export a key without one for the release machine", file)
		}
		return k, nil
	}
	return nil, fmt.Errorf("signing key %s holds no private key", file)
}

// writeFile replaces a file atomically: a reader never sees half of it.
func writeFile(name string, data []byte) error {
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(name); err == nil {
		perm = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
