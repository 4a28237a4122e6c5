// Package readme renders the site repo's README: what the owner may edit, and what is
// generated, in plain words.
package readme

import (
	"bytes"
	"strings"
	"text/template"

	"github.com/nassella/nassella/generator/render"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// Path is the README's place in the site repo.
const Path = "README.md"

var tmpl = template.Must(template.ParseFS(sitetemplate.FS, "README.md.tmpl"))

type app struct{ Title, Host, Version string }

// Render returns the README.
func Render(in render.Input) ([]byte, error) {
	data := struct {
		Header, Name string
		Apps         []app
		Unpinned     bool
	}{
		Header:   strings.ReplaceAll(strings.TrimSpace(render.Header("", in)), "\n ", " "),
		Name:     in.Site.Name,
		Unpinned: len(in.Catalog.Unpinned(in.Site.AppNames())) > 0,
	}
	for _, a := range in.Site.Apps {
		data.Apps = append(data.Apps, app{a.Spec.Title, a.Host, a.Spec.Version})
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
