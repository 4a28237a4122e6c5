package validate

import (
	"context"

	"github.com/nassella/nassella/internal/siterepo"
)

// Repo opens the site repo in dir and checks it with the real tools; a site.yaml that
// does not open is the report's one failed check. site.yaml is named as in the repo, so CI
// annotations land on the right file.
func Repo(ctx context.Context, dir string, opts siterepo.Options, vopt Options) *Report {
	if opts.Name == "" {
		opts.Name = siterepo.SiteFile
	}
	r, err := siterepo.Open(dir, opts)
	if err != nil {
		return NotLoaded(err, vopt.Log)
	}
	vopt.Catalog = r.Catalog
	return Site(ctx, r.Dir, r.Site, vopt)
}
