package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
)

func schema() ([]byte, error) { return site.Schema() }

func runGenerate(_ context.Context, s Streams, args []string) error {
	fs := flags(s, "generate", "[--site FILE] [--out DIR] [--catalog DIR] [--update-catalog]")
	out := fs.String("out", ".", "the site repo to write to")
	siteFile := fs.String("site", "", "the site.yaml to read (default: site.yaml in --out)")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	update := fs.Bool("update-catalog", false, "move a site pinned to another catalog release to this one")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	cat, err := loadCatalog(*catDir)
	if err != nil {
		return err
	}
	if *siteFile == "" {
		*siteFile = filepath.Join(*out, "site.yaml")
	}
	_, err = generate(s.Out, *siteFile, *out, cat, *update)
	return err
}

// generate loads siteFile, renders the site and writes it into out.
func generate(w io.Writer, siteFile, out string, cat *catalog.Release, updateCatalog bool) (tree.Result, error) {
	var res tree.Result
	data, err := os.ReadFile(siteFile)
	if err != nil {
		return res, fmt.Errorf("%w (create one with nassella init, or name it with --site)", err)
	}
	lock, err := generator.ReadLock(out)
	if err != nil {
		return res, err
	}
	if lock != nil && lock.Catalog != cat.Release && !updateCatalog {
		return res, fmt.Errorf("%s is pinned to catalog %s (%s) but this nassella has catalog %s; pass --update-catalog to move it to %s, or --catalog DIR with release %s",
			out, lock.Catalog, generator.LockPath, cat.Release, cat.Release, lock.Catalog)
	}
	l, err := site.Load(displayName(siteFile), data, cat)
	if err != nil {
		return res, err
	}
	t, err := generator.Generate(l, cat)
	if err != nil {
		return res, err
	}
	res, err = t.Write(out, lock.Owned())
	if err != nil {
		return res, fmt.Errorf("nothing was changed in %s: %w", out, err)
	}
	fmt.Fprintf(w, "%s: %d files written, %d removed, %d unchanged (catalog %s)\n",
		out, len(res.Written), len(res.Removed), res.Unchanged, cat.Release)
	for _, p := range res.Written {
		fmt.Fprintf(w, "  wrote   %s\n", p)
	}
	for _, p := range res.Removed {
		fmt.Fprintf(w, "  removed %s\n", p)
	}
	if unpinned := cat.Unpinned(l.AppNames()); len(unpinned) > 0 {
		fmt.Fprintf(w, "note: %d images are not pinned by digest yet (see %s); the catalog pipeline pins them\n", len(unpinned), generator.LockPath)
	}
	return res, nil
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
