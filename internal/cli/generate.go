package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/siterepo"
)

func schema() ([]byte, error) { return site.Schema() }

func runGenerate(_ context.Context, s Streams, args []string) error {
	fs := flags(s, "generate", "[--site FILE] [--out DIR] [--catalog DIR] [--update-catalog]")
	out := fs.String("out", ".", "the site repo to write to")
	siteFile := fs.String("site", "", "the "+siterepo.SiteFile+" to read (default: "+siterepo.SiteFile+" in --out)")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	update := fs.Bool("update-catalog", false, "move a site pinned to another catalog release to this one")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	r, err := siterepo.Open(*out, siterepo.Options{CatalogDir: *catDir, MoveCatalog: *update, SiteFile: *siteFile})
	if err != nil {
		return err
	}
	res, err := r.Regenerate()
	if err != nil {
		return err
	}
	printGenerated(s.Out, r, res)
	return nil
}

// printGenerated says what generating r changed.
func printGenerated(w io.Writer, r *siterepo.Repo, res tree.Result) {
	fmt.Fprintf(w, "%s: %d files written, %d removed, %d unchanged (catalog %s)\n",
		r.Dir, len(res.Written), len(res.Removed), res.Unchanged, r.Catalog.Release)
	for _, p := range res.Written {
		fmt.Fprintf(w, "  wrote   %s\n", p)
	}
	for _, p := range res.Removed {
		fmt.Fprintf(w, "  removed %s\n", p)
	}
	noteUnpinned(w, len(r.Catalog.Unpinned(r.Site.AppNames())))
}
