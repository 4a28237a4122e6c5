package readme

import (
	"reflect"
	"strings"

	"github.com/nassella/nassella/generator/site"
)

// setting is one line of the guide's table of site.yaml settings.
type setting struct{ Path, What, Example string }

// settings lists every setting of site.yaml in the order the types declare them, with the
// descriptions editors show (the jsonschema_description tags of generator/site/types.go),
// so the guide says what the schema says and never drifts from it. Sections without a
// description of their own are left to their settings.
func settings() []setting {
	var out []setting
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			path := prefix + key
			if desc := f.Tag.Get("jsonschema_description"); desc != "" {
				what, example, _ := strings.Cut(desc, " Example: ")
				out = append(out, setting{Path: path, What: markdownText(what), Example: example})
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				path += ".<app>"
				ft = ft.Elem()
			}
			// A moving site's old platform has the settings listed under provider already.
			if ft.Kind() == reflect.Struct && t != reflect.TypeFor[site.Previous]() {
				walk(path+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[site.Site]())
	return out
}

// markdownText keeps a description as written inside a Markdown table: <subdomain> would
// otherwise vanish as an HTML tag, and a | would end the cell.
func markdownText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "|", `\|`).Replace(s)
}
