package catalog

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// File is a settings file written into one of the app's volumes before the app first
// starts, for a setting the app reads from no environment variable. It is written once,
// when missing: from then on the file is the app's, and the owner's changes in the app
// stay.
type File struct {
	Volume  string `yaml:"volume"`
	Path    string `yaml:"path"` // inside the volume, e.g. config/network.xml
	Content string `yaml:"content"`
}

// files checks the files the app seeds: a declared volume, a plain relative path, some
// content, each path once.
func (c *appCheck) files() {
	seen := map[string]bool{}
	for i, f := range c.a.Files {
		p := "files." + strconv.Itoa(i)
		if !c.volumes[f.Volume] {
			c.add(p+".volume", fmt.Sprintf("%q is not one of the app's volumes", f.Volume), "")
		}
		clean := path.Clean(f.Path)
		if f.Path == "" || clean != f.Path || path.IsAbs(f.Path) || clean == "." || strings.HasPrefix(clean, "../") || clean == ".." {
			c.add(p+".path", fmt.Sprintf("path %q must be a plain path inside the volume", f.Path), "write it like config/network.xml")
		} else if seen[f.Volume+"/"+clean] {
			c.add(p+".path", fmt.Sprintf("%s is seeded twice", f.Path), "")
		}
		seen[f.Volume+"/"+clean] = true
		if strings.TrimSpace(f.Content) == "" {
			c.add(p+".content", "a seeded file needs content", "")
		}
		if strings.ContainsRune(f.Content, 0) {
			c.add(p+".content", "content must be text", "")
		}
	}
}
