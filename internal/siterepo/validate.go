package siterepo

import (
	"context"

	"github.com/nassella/nassella/generator/validate"
)

// Validate opens the site repo in dir and checks it with the real tools; a site.yaml that
// does not open is the report's one failed check. site.yaml is named as in the repo, so CI
// annotations land on the right file.
func Validate(ctx context.Context, dir string, opts Options, vopt validate.Options) *validate.Report {
	if opts.Name == "" {
		opts.Name = SiteFile
	}
	r, err := Open(dir, opts)
	if err != nil {
		return validate.NotLoaded(err, vopt.Log)
	}
	vopt.Catalog = r.Catalog
	return validate.Site(ctx, r.Dir, r.Site, vopt)
}
