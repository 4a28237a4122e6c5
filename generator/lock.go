package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/inputfile"
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

// ReadLock reads the lock file of a site repo; a repo without one yields nil. It is read
// only inside dir and only up to inputfile.MaxSize.
func ReadLock(dir string) (*Lock, error) {
	data, err := inputfile.ReadIn(dir, LockPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseLock(data)
}

// ParseLock decodes a lock file and checks that every file it names is one nassella could
// have generated: the paths are removed and overwritten on the next generate, so a lock
// naming "../../elsewhere" or ".git/config" must never be acted on.
func ParseLock(data []byte) (*Lock, error) {
	var l Lock
	if err := yaml.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", LockPath, err, lockFix)
	}
	for _, p := range slices.Sorted(maps.Keys(l.Files)) {
		if !Generated(p) {
			return nil, fmt.Errorf("%s: files: %q is not a file nassella generates (only relative paths inside %s are); %s",
				LockPath, p, strings.Join(generatedPlaces, ", "), lockFix)
		}
	}
	return &l, nil
}

const lockFix = "the lock file is generated: restore it from git (git checkout -- nassella.lock) or delete it, then run nassella generate again"

// generatedPlaces are the folders (ending in /) and files nassella generates into. Keep a
// place here after the generator stops using it, so old locks can still remove its files.
var generatedPlaces = []string{".forgejo/workflows/", ".github/workflows/", ".nassella/", "GUIDE.md", "README.md", "apps/", "host/", "proxy/", "terraform/"}

// Generated says whether p is a path nassella may write or remove: clean, relative,
// slash-separated, without "..", inside one of the generated places.
func Generated(p string) bool {
	if !fs.ValidPath(p) || p == "." || strings.Contains(p, "\\") {
		return false
	}
	for _, place := range generatedPlaces {
		if p == place || (strings.HasSuffix(place, "/") && strings.HasPrefix(p, place)) {
			return true
		}
	}
	return false
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
