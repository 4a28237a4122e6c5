// Package siterepo is a site repo on disk: the one place that opens its folder, loads
// site.yaml, reads nassella.lock, checks which catalog release the repo is pinned to and
// regenerates its files. Every command and pipeline that reads a site goes through it, so a
// site pinned to another release than the binary carries is refused the same way everywhere
// instead of being loaded against the wrong catalog.
package siterepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/inputfile"
)

// SiteFile is the site's description in the root of its repo.
const SiteFile = "site.yaml"

// Options say how to open a site repo.
type Options struct {
	// Catalog is the release given explicitly (nassella --catalog DIR); nil means the one
	// built into this binary, or the one in CatalogDir.
	Catalog *catalog.Release
	// CatalogDir is a catalog folder to load when Catalog is nil; empty means built in.
	CatalogDir string
	// MoveCatalog lets a repo pinned to another release move to this one: the next
	// Regenerate rewrites the lock (nassella generate --update-catalog, the update bot).
	MoveCatalog bool
	// SiteFile is the site.yaml to read when it is not in the repo's folder
	// (nassella generate --site FILE).
	SiteFile string
	// Name is how site.yaml is named in messages; default: its path from the working folder.
	Name string
}

// Repo is an opened site repo.
type Repo struct {
	Dir      string          // the repo's folder
	SiteFile string          // the path site.yaml was read from
	Site     *site.Loaded    // site.yaml, checked against Catalog
	Lock     *generator.Lock // nassella.lock as found; nil for a repo never generated
	// Catalog is the release the repo is pinned to, or moves to with MoveCatalog.
	Catalog *catalog.Release
}

// Open reads the site repo in dir: site.yaml, loaded against the catalog release the lock
// names. It refuses a repo pinned to another release than the one at hand, naming both and
// how to move. Load errors are a diag.List naming file, line and column; a missing site.yaml
// wraps fs.ErrNotExist.
func Open(dir string, opts Options) (*Repo, error) {
	cat, err := opts.catalog()
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, SiteFile: opts.SiteFile, Catalog: cat}
	var data []byte
	if r.SiteFile == "" {
		// The repo's own site.yaml is read only inside the repo.
		r.SiteFile = filepath.Join(dir, SiteFile)
		data, err = inputfile.ReadIn(dir, SiteFile)
	} else {
		data, err = inputfile.Read(r.SiteFile)
	}
	if inputfile.IsTooLarge(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading the site: %w (is %s a site repo? nassella init makes one; or name the repo's folder)", err, dir)
	}
	if r.Lock, err = generator.ReadLock(dir); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := CheckPin(dir, r.Lock, cat, opts.explicit(), opts.MoveCatalog); err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = displayName(r.SiteFile)
	}
	if r.Site, err = site.Load(name, data, cat); err != nil {
		return nil, err
	}
	// A move to another release must not skip a version an app requires before a major
	// (catalog upgrades, from).
	if r.Moves() {
		if errs := cat.CheckUpgrades(r.Lock.Images, r.Site.AppNames()); len(errs) > 0 {
			return nil, fmt.Errorf("%s cannot move to catalog %s: %w", dir, cat.Release, errors.Join(errs...))
		}
	}
	return r, nil
}

// FromBytes loads a site.yaml that is not in a repo (a pipeline's synthetic site), named
// name in messages, against cat.
func FromBytes(name string, data []byte, cat *catalog.Release) (*site.Loaded, error) {
	return site.Load(name, data, cat)
}

// CheckPin refuses a repo whose lock names another release than cat, unless move allows
// moving it; explicit says cat came from --catalog rather than the binary. A repo without
// a lock is new and takes cat.
func CheckPin(dir string, lock *generator.Lock, cat *catalog.Release, explicit, move bool) error {
	if lock == nil || lock.Catalog == cat.Release || move {
		return nil
	}
	has := "this nassella has catalog " + cat.Release
	if explicit {
		has = "the catalog given with --catalog is release " + cat.Release
	}
	return fmt.Errorf("%s is pinned to catalog %s (%s) but %s; run nassella generate --update-catalog to move it to %s, or pass --catalog DIR with release %s",
		dir, lock.Catalog, generator.LockPath, has, cat.Release, lock.Catalog)
}

// Moves says whether the repo's lock names another release than the one it is opened with.
func (r *Repo) Moves() bool { return r.Lock != nil && r.Lock.Catalog != r.Catalog.Release }

// Generate renders the repo's files from its site and catalog, without writing them.
func (r *Repo) Generate() (*tree.Tree, error) { return generator.Generate(r.Site, r.Catalog) }

// Write puts t into the repo atomically: the files nassella wrote before (the lock says
// which) may be replaced or removed, nothing else is touched.
func (r *Repo) Write(t *tree.Tree) (tree.Result, error) {
	res, err := t.Write(r.Dir, r.Lock.Owned())
	switch {
	case err != nil && len(res.Written)+len(res.Removed) == 0:
		return res, fmt.Errorf("nothing was changed in %s: %w", r.Dir, err)
	case err != nil:
		return res, fmt.Errorf("%s: %w", r.Dir, err)
	}
	return res, nil
}

// Regenerate renders the repo's files and writes them, as nassella generate does.
func (r *Repo) Regenerate() (tree.Result, error) {
	t, err := r.Generate()
	if err != nil {
		return tree.Result{}, err
	}
	return r.Write(t)
}

func (o Options) explicit() bool { return o.Catalog != nil || o.CatalogDir != "" }

func (o Options) catalog() (*catalog.Release, error) {
	switch {
	case o.Catalog != nil:
		return o.Catalog, nil
	case o.CatalogDir != "":
		return LoadCatalog(o.CatalogDir)
	}
	return catalog.Embedded(), nil
}

// LoadCatalog loads the catalog release in dir; empty dir is the built-in one.
func LoadCatalog(dir string) (*catalog.Release, error) {
	if dir == "" {
		return catalog.Embedded(), nil
	}
	r, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("catalog %s:\n%w", dir, err)
	}
	return r, nil
}

// displayName is how a file is named in messages: relative to the working folder when
// that is shorter.
func displayName(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && len(rel) < len(p) {
			return rel
		}
	}
	return p
}

// Targets are the health checks of the site's apps, in site order: each app's host, and
// the path and status its catalog entry names.
func Targets(s *site.Loaded) []health.Target {
	var ts []health.Target
	for _, a := range s.Apps {
		ts = append(ts, health.Target{App: a.Name, Host: a.Host, Path: a.Spec.Health.Path, Status: a.Spec.Health.Status})
	}
	return ts
}
