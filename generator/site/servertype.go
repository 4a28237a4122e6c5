package site

import "fmt"

// serverTypeGone flags a server type Hetzner no longer sells at the site's location (the
// built-in list in hetzner.go), naming the current type of the same family that fits the
// apps, so it runs after they are resolved. It is an error, not a warning: a new site
// cannot be created on such a type, and every change to a site rebuilds its server, so a
// site already running on one could not be changed either.
func (c *checker) serverTypeGone(l *Loaded) {
	h := l.Provider.Hetzner
	if h == nil || !GoneIn(h.ServerType, h.Location) {
		return
	}
	msg := fmt.Sprintf("Hetzner no longer sells server type %s in %s (withdrawn at the end of 2025), so no server can be created on it", h.ServerType, h.Location)
	why := "a new site cannot start on it, and a site already running on it cannot be changed either, because every change builds the server anew; switching rebuilds the server once and keeps your data"
	fix := "choose a current server type; " + why
	if next, ok := successor(h.ServerType, l.MemoryMB()); ok {
		fix = fmt.Sprintf("choose server_type: %s (%s), its successor; %s", next.Name, gb(next.MemoryMB), why)
	}
	c.add("provider.hetzner.server_type", msg, fix)
}
