// Package examples holds the built-in example sites: `nassella demo` generates one, and
// the golden tests generate all of them.
package examples

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names lists the examples, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Get returns an example's site.yaml.
func Get(name string) ([]byte, bool) {
	data, err := fs.ReadFile(files, name+".yaml")
	return data, err == nil
}

// Demo is the example `nassella demo` uses.
const Demo = "small-office"
