package generator

import (
	"strconv"
	"strings"

	"github.com/nassella/nassella/catalog"
)

// AppMove is one app whose images differ between what a site's lock records (what the
// server runs) and what a catalog release gives it: the update bot's pull request lists
// them, and for a site on the os-only plan the doctor and the bot say how far behind it is.
type AppMove struct {
	App, Title string
	// Here is the version the lock records (its http service's tag, read with the
	// release's versioning), empty when the lock has none; Available is the release's.
	Here, Available string
	Changelog       string // the release notes of Available, when the catalog links them
}

// Text is "Nextcloud 30.0.2 here, 31.0.1 available".
func (m AppMove) Text() string {
	if m.Here == "" {
		return m.Title + " " + m.Available + " available"
	}
	return m.Title + " " + m.Here + " here, " + m.Available + " available"
}

// Moves compares, for each of apps (by name) that cat has, the images lock records with
// cat's, and returns the apps that move, in the order given. A nil lock records nothing.
func Moves(lock *Lock, apps []string, cat *catalog.Release) []AppMove {
	recorded := map[string]string{}
	if lock != nil {
		recorded = lock.Images
	}
	var out []AppMove
	for _, name := range apps {
		a := cat.Apps[name]
		if a == nil {
			continue
		}
		moved := false
		for _, s := range a.ServiceNames() {
			if recorded[name+"/"+s] != a.Services[s].Image.Ref() {
				moved = true
			}
		}
		if !moved {
			continue
		}
		m := AppMove{App: name, Title: a.Title, Available: a.Version, Changelog: a.Changelog}
		if v, ok := a.AppVersion(); ok {
			m.Available = v
		}
		if svc := a.Services[a.HTTP.Service]; svc != nil {
			if ref, ok := recorded[name+"/"+a.HTTP.Service]; ok {
				m.Here = TagOf(ref)
				if svc.Versioning != nil {
					if v, _, ok := svc.Versioning.Match(m.Here); ok {
						m.Here = v
					}
				}
			}
		}
		if a.ChangelogTemplate != "" {
			if u, err := catalog.ExpandChangelog(a.ChangelogTemplate, m.Available); err == nil {
				m.Changelog = u
			}
		}
		out = append(out, m)
	}
	return out
}

// TagOf is the tag of image:tag[@digest].
func TagOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[i+1:]
	}
	return ""
}

// NewerRelease reports whether catalog release a (YYYY.MM.N) comes after b; false when
// either is not a release name.
func NewerRelease(a, b string) bool {
	ka, ok1 := releaseKey(a)
	kb, ok2 := releaseKey(b)
	if !ok1 || !ok2 {
		return false
	}
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] > kb[i]
		}
	}
	return false
}

func releaseKey(r string) ([3]int, bool) {
	var k [3]int
	parts := strings.Split(r, ".")
	if len(parts) != 3 {
		return k, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return k, false
		}
		k[i] = n
	}
	return k, true
}
