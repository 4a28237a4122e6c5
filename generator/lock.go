package generator

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/tree"
)

// LockPath is the lock file's place in the site repo.
const LockPath = "nassella.lock"

// Lock records what a site repo was built from, so every build is reproducible and the
// generator knows which files it owns.
type Lock struct {
	Generator string `yaml:"generator"`
	Catalog   string `yaml:"catalog"`
	// Pinned is false while any image or the compose sysext lacks a digest read from its
	// registry; such a site runs what the tags point at on the day it is built.
	Pinned   bool              `yaml:"pinned"`
	Unpinned []string          `yaml:"unpinned,omitempty"`
	Images   map[string]string `yaml:"images"` // "app/service" → image reference
	Compose  string            `yaml:"compose_sysext"`
	Files    map[string]string `yaml:"files"` // path → sha256 of every file nassella wrote
}

func renderLock(in render.Input, t *tree.Tree) ([]byte, error) {
	names := in.Site.AppNames()
	l := Lock{
		Generator: Version,
		Catalog:   in.Catalog.Release,
		Unpinned:  in.Catalog.Unpinned(names),
		Images:    map[string]string{"proxy/caddy": in.Catalog.Proxy.Ref()},
		Compose:   in.Catalog.Compose.Version,
		Files:     map[string]string{},
	}
	if in.Catalog.Compose.SHA512 != "" {
		l.Compose += " sha512:" + in.Catalog.Compose.SHA512
	}
	l.Pinned = len(l.Unpinned) == 0
	for _, app := range in.Site.Apps {
		for _, s := range app.Spec.ServiceNames() {
			l.Images[app.Name+"/"+s] = app.Spec.Services[s].Image.Ref()
		}
	}
	for _, p := range t.Paths() {
		f, _ := t.Get(p)
		l.Files[p] = tree.Hash(f.Data)
	}
	var b bytes.Buffer
	b.WriteString(render.Header("#", in))
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// ReadLock reads the lock file of a site repo; a repo without one yields nil.
func ReadLock(dir string) (*Lock, error) {
	data, err := os.ReadFile(filepath.Join(dir, LockPath))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := yaml.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("%s: %w (it is generated: delete it and run nassella generate again)", LockPath, err)
	}
	return &l, nil
}

// Owned returns the paths the lock says nassella wrote, the lock file included.
func (l *Lock) Owned() []string {
	if l == nil {
		return nil
	}
	out := []string{LockPath}
	for p := range l.Files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
