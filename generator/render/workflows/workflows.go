// Package workflows renders the site repo's CI: plan on every pull request, apply on every
// merge, for GitHub Actions (.github/workflows) and Forgejo/Gitea Actions
// (.forgejo/workflows). Both sets are written, so a site can move between forges; each
// forge reads only its own folder.
package workflows

import (
	"bytes"
	"io/fs"
	"path"

	"github.com/nassella/nassella/generator/render"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// Dirs maps the template folder of each forge to where its workflows go in the site repo.
var Dirs = map[string]string{
	"github":  ".github/workflows",
	"forgejo": ".forgejo/workflows",
}

// Render returns the workflow files by repo path.
func Render(in render.Input) (map[string][]byte, error) {
	out := map[string][]byte{}
	for forge, dir := range Dirs {
		names, err := fs.Glob(sitetemplate.FS, "workflows/"+forge+"/*.yml")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			body, err := fs.ReadFile(sitetemplate.FS, n)
			if err != nil {
				return nil, err
			}
			body = PinImage(body, sitetemplate.CIImageDigest)
			out[path.Join(dir, path.Base(n))] = append([]byte(render.Header("#", in)), body...)
		}
	}
	return out, nil
}

// PinImage makes a workflow run in the CI image by digest (image: NAME:TAG@DIGEST) when
// digest is set; without one the workflow keeps the tag.
func PinImage(body []byte, digest string) []byte {
	if digest == "" {
		return body
	}
	ref := "image: " + sitetemplate.CIImage
	return bytes.ReplaceAll(body, []byte(ref+"\n"), []byte(ref+"@"+digest+"\n"))
}
