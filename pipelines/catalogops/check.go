package catalogops

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/registry"
)

// Registry is what the catalog pipeline asks of the registries; *registry.Client does it.
type Registry interface {
	Tags(ctx context.Context, image string) ([]string, error)
	Resolve(ctx context.Context, image, tag string) (registry.Descriptor, error)
}

// HostImage is an image of release.yaml that is no app's: every site runs it.
type HostImage struct {
	Name    string // what its updates and branch are called, as if it were an app: proxy, backup
	Service string // the software: caddy, restic
	Where   string // how Unpinned, Lock and the evidence name it: proxy/caddy, host/restic
	Image   catalog.Image
}

// HostImages are the release's own images: the proxy in front of every app and the
// restic image the host backs up with. An image a release does not have (an older
// release without backup) is left out.
func HostImages(r *catalog.Release) []HostImage {
	var out []HostImage
	for _, h := range []HostImage{
		{Name: "proxy", Service: "caddy", Where: "proxy/caddy", Image: r.Proxy},
		{Name: "backup", Service: "restic", Where: "host/restic", Image: r.Backup},
	} {
		if h.Image.Image != "" {
			out = append(out, h)
		}
	}
	return out
}

// Update is what check-updates found for one app (or the proxy): the images to move and,
// when the app's own image moves, its new version and release notes. An app's new major
// version is an Update of its own, with Major set, proposed apart from its other updates.
type Update struct {
	App  string // app name, or a HostImage's Name
	File string // the file to edit, relative to the catalog folder

	FromVersion, ToVersion string // the app's version, when its http service moves
	Changelog              string // release notes of ToVersion, from changelog_template

	// Major marks a major upgrade: a new major version of any of the app's images.
	Major bool
	// Upgrade is the catalog's upgrades entry for the app's new major version, when it has
	// one: its notes are linked, its steps listed.
	Upgrade *catalog.Upgrade
	// NewMajor is the app's major version the upgrade moves to, when its http service
	// moves to a new major; 0 otherwise.
	NewMajor uint64

	Bumps []Bump
	Notes []string // newer tags not proposed, and why; images not checked
	Err   error    // the registry could not be asked; the app was not checked
}

// Bump is one image moving to a newer tag.
type Bump struct {
	Service          string // service name; "caddy" for the proxy
	Image            string
	FromTag, ToTag   string
	FromVer, ToVer   string // the versions the tags carry
	Digest           string // of ToTag's index (or manifest)
	MediaType        string
	path, digestPath string // YAML paths of the tag and digest in File
}

// Branch is the branch a proposal of u lives on: one per app for its ordinary updates and
// one for its major upgrade, refreshed on every run.
func (u Update) Branch() string {
	if u.Major {
		return "catalog/major-" + u.App
	}
	return "catalog/bump-" + u.App
}

// Title is the one-line summary of the update, for a commit or pull request.
func (u Update) Title() string {
	suffix := ""
	if u.Major {
		suffix = " (major upgrade)"
	}
	if u.ToVersion != "" {
		return fmt.Sprintf("catalog: %s %s → %s%s", u.App, u.FromVersion, u.ToVersion, suffix)
	}
	var parts []string
	for _, b := range u.Bumps {
		parts = append(parts, fmt.Sprintf("%s %s → %s", b.Service, b.FromTag, b.ToTag))
	}
	return fmt.Sprintf("catalog: %s: %s%s", u.App, strings.Join(parts, ", "), suffix)
}

// Body describes the update for a commit message or pull request.
func (u Update) Body() string {
	var b strings.Builder
	if u.Major {
		b.WriteString("A major upgrade, proposed on its own: read the upgrade notes before merging.\n\n")
		if u.Upgrade != nil {
			fmt.Fprintf(&b, "Upgrade notes: %s\n", u.Upgrade.Notes)
		}
	}
	if u.Changelog != "" {
		fmt.Fprintf(&b, "Release notes: %s\n", u.Changelog)
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	for _, bu := range u.Bumps {
		fmt.Fprintf(&b, "- %s: %s:%s → %s@%s\n", bu.Service, bu.Image, bu.FromTag, bu.ToTag, bu.Digest)
	}
	for _, n := range u.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	b.WriteString(u.majorChecklist())
	b.WriteString("\nProposed by nassella catalog check-updates. Read the release notes for manual steps,\nthen merge, run nassella catalog lock and cut a release to have it tested.\n")
	return b.String()
}

// majorChecklist is what a maintainer does before merging a major upgrade.
func (u Update) majorChecklist() string {
	if !u.Major {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nBefore merging:\n")
	switch {
	case u.NewMajor == 0:
	case u.Upgrade == nil:
		fmt.Fprintf(&b, "- the catalog has no upgrades entry for %s %d: add one to %s on this branch (to: %d, from: the oldest version that may move straight to it, notes: upstream's upgrade notes, and before/after steps if it needs any)\n",
			u.App, u.NewMajor, u.File, u.NewMajor)
	default:
		if u.Upgrade.From != "" {
			fmt.Fprintf(&b, "- sites move to %d only from %s or later (upgrades, to: %d); older ones are refused\n", u.NewMajor, u.Upgrade.From, u.NewMajor)
		}
		for _, s := range u.Upgrade.Before {
			fmt.Fprintf(&b, "- before the new version starts, in %s: %s\n", s.Service, strings.Join(s.Command, " "))
		}
		for _, s := range u.Upgrade.After {
			fmt.Fprintf(&b, "- once it answers, in %s: %s\n", s.Service, strings.Join(s.Command, " "))
		}
	}
	b.WriteString("- change the entry's settings the upgrade notes ask for, on this branch\n")
	b.WriteString("- the release's VM upgrade test must pass before it is promoted\n")
	return b.String()
}

// Edits are the values the update sets in its file, by YAML path.
func (u Update) Edits() map[string]string {
	e := map[string]string{}
	for _, b := range u.Bumps {
		e[b.path] = b.ToTag
		e[b.digestPath] = b.Digest
	}
	if u.ToVersion != "" {
		e["version"] = u.ToVersion
		if u.Changelog != "" {
			e["changelog"] = u.Changelog
		}
	}
	return e
}

// CheckUpdates asks the registries for newer tags of every image in cat that has a
// versioning policy, and returns one Update per app (and host image: the proxy, the
// backup), host images first, then apps by name; apps with nothing to move have no Bumps.
// An app or host image with a new major version has a second Update right after its
// first, marked Major. When apps are named (host images by their Name), only those are
// checked. An app whose registry could not be asked carries its error in Err; the others
// are still checked.
func CheckUpdates(ctx context.Context, reg Registry, cat *catalog.Release, apps []string) []Update {
	c := &checker{reg: reg, tags: map[string][]string{}, tagErr: map[string]error{}, digests: map[string]registry.Descriptor{}}
	hosts := map[string]HostImage{}
	for _, h := range HostImages(cat) {
		hosts[h.Name] = h
	}
	var out []Update
	if len(apps) == 0 {
		for _, h := range HostImages(cat) {
			out = append(out, c.host(ctx, h)...)
		}
		apps = cat.Names()
	}
	for _, name := range apps {
		if h, ok := hosts[name]; ok && cat.Apps[name] == nil {
			out = append(out, c.host(ctx, h)...)
			continue
		}
		out = append(out, c.app(ctx, name, cat.Apps[name], cat.Files[name])...)
	}
	return out
}

type checker struct {
	reg     Registry
	tags    map[string][]string // by image: many apps share postgres
	tagErr  map[string]error
	digests map[string]registry.Descriptor // by image:tag
}

func (c *checker) listTags(ctx context.Context, image string) ([]string, error) {
	if t, ok := c.tags[image]; ok {
		return t, c.tagErr[image]
	}
	t, err := c.reg.Tags(ctx, image)
	c.tags[image], c.tagErr[image] = t, err
	return t, err
}

func (c *checker) resolve(ctx context.Context, image, tag string) (registry.Descriptor, error) {
	if d, ok := c.digests[image+":"+tag]; ok {
		return d, nil
	}
	d, err := c.reg.Resolve(ctx, image, tag)
	if err == nil {
		c.digests[image+":"+tag] = d
	}
	return d, err
}

// host checks a host image: its ordinary update, and its new major apart.
func (c *checker) host(ctx context.Context, h HostImage) []Update {
	u := Update{App: h.Name, File: "release.yaml"}
	if h.Image.Versioning == nil {
		u.Notes = append(u.Notes, h.Service+": no versioning policy; not checked")
		return []Update{u}
	}
	cands, err := c.candidates(ctx, h.Image)
	if err != nil {
		u.Err = fmt.Errorf("%s: %w", h.Where, err)
		return []Update{u}
	}
	if cands.held != nil {
		u.Notes = append(u.Notes, fmt.Sprintf("%s: %s is newer but %s", h.Service, cands.held.tag, cands.why))
	}
	m := Update{App: h.Name, File: "release.yaml", Major: true}
	for _, x := range []struct {
		u    *Update
		list []candidate
	}{{&u, cands.allowed}, {&m, cands.majors}} {
		if len(x.list) == 0 {
			continue
		}
		b, err := c.bump(ctx, h.Service, h.Image, x.list[0], h.Name)
		if err != nil {
			u.Err = fmt.Errorf("%s: %w", h.Where, err)
			return []Update{u}
		}
		x.u.Bumps = append(x.u.Bumps, b)
	}
	if len(m.Bumps) > 0 {
		return []Update{u, m}
	}
	return []Update{u}
}

func (c *checker) candidates(ctx context.Context, img catalog.Image) (candidates, error) {
	tags, err := c.listTags(ctx, img.Image)
	if err != nil {
		return candidates{}, err
	}
	return newer(img.Versioning, img.Tag, tags)
}

func (c *checker) bump(ctx context.Context, service string, img catalog.Image, to candidate, path string) (Bump, error) {
	d, err := c.resolve(ctx, img.Image, to.tag)
	if err != nil {
		return Bump{}, err
	}
	from, _, _ := img.Versioning.Match(img.Tag)
	return Bump{Service: service, Image: img.Image, FromTag: img.Tag, ToTag: to.tag, FromVer: from, ToVer: to.text,
		Digest: d.Digest, MediaType: d.MediaType, path: path + ".tag", digestPath: path + ".digest"}, nil
}

// app checks an app's images: its ordinary update, and its major upgrade apart.
func (c *checker) app(ctx context.Context, name string, a *catalog.App, file string) []Update {
	u := Update{App: name, File: file}
	if a == nil {
		u.Err = fmt.Errorf("there is no app %q in the catalog", name)
		return []Update{u}
	}
	m := Update{App: name, File: file, Major: true}
	var majorNotes []string
	followers := map[string][]string{}
	for _, sn := range a.ServiceNames() {
		s := a.Services[sn]
		switch {
		case s.Versioning == nil:
			u.Notes = append(u.Notes, sn+": no versioning policy; not checked")
		case s.Versioning.SameAs != "":
			followers[s.Versioning.SameAs] = append(followers[s.Versioning.SameAs], sn)
		}
	}
	for _, sn := range a.ServiceNames() {
		s := a.Services[sn]
		if s.Versioning == nil || s.Versioning.SameAs != "" {
			continue
		}
		cands, err := c.candidates(ctx, s.Image)
		if err == nil && cands.held != nil {
			u.Notes = append(u.Notes, fmt.Sprintf("%s: %s is newer but %s", sn, cands.held.tag, cands.why))
		}
		majors := cands.majors
		if sn == a.HTTP.Service {
			var notes []string
			majors, notes = appMajors(a, sn, majors)
			majorNotes = append(majorNotes, notes...)
		}
		if err == nil {
			err = c.take(ctx, a, sn, followers[sn], cands.allowed, &u)
		}
		if err == nil {
			err = c.take(ctx, a, sn, followers[sn], majors, &m)
		}
		if err != nil {
			u.Err = fmt.Errorf("%s/%s: %w", name, sn, err)
			return []Update{u}
		}
	}
	if len(m.Bumps) == 0 {
		u.Notes = append(u.Notes, majorNotes...)
	} else {
		m.Notes = append(m.Notes, majorNotes...)
	}
	for _, x := range []*Update{&u, &m} {
		if err := x.appVersion(a); err != nil {
			u.Err = err
			return []Update{u}
		}
	}
	if len(m.Bumps) == 0 {
		return []Update{u}
	}
	to, err1 := semver.NewVersion(m.ToVersion)
	from, err2 := semver.NewVersion(m.FromVersion)
	if err1 == nil && err2 == nil && to.Major() != from.Major() {
		m.NewMajor = to.Major()
		m.Upgrade = a.Upgrade(to.Major())
	}
	return []Update{u, m}
}

// appMajors keeps the new majors of the app's own (http) service it may move to straight
// from its version: with versioning.majors listed, only majors its upgrades name; and
// never past a version an upgrades entry requires first. It notes what it leaves out.
func appMajors(a *catalog.App, service string, majors []candidate) ([]candidate, []string) {
	var kept []candidate
	var notes []string
	unlisted := map[uint64]bool{}
	refused := false
	for _, cand := range majors {
		maj := cand.ver.Major()
		if a.Services[service].Versioning.Majors == catalog.MajorsListed && a.Upgrade(maj) == nil {
			if !unlisted[maj] {
				notes = append(notes, fmt.Sprintf("%s: %s is a new major version that upgrades does not list (versioning.majors: listed); add an upgrades entry for %d to take it", service, cand.tag, maj))
			}
			unlisted[maj] = true
			continue
		}
		if err := a.CheckUpgrade(a.Version, cand.text); err != nil {
			if !refused {
				notes = append(notes, fmt.Sprintf("%s: %s is not proposed: %v", service, cand.tag, err))
			}
			refused = true
			continue
		}
		kept = append(kept, cand)
	}
	return kept, notes
}

// appVersion sets the update's versions and release notes when it moves the app's own
// (http) service.
func (u *Update) appVersion(a *catalog.App) error {
	sort.Slice(u.Bumps, func(i, j int) bool { return u.Bumps[i].Service < u.Bumps[j].Service })
	for _, b := range u.Bumps {
		if b.Service != a.HTTP.Service {
			continue
		}
		u.FromVersion, u.ToVersion = a.Version, b.ToVer
		if a.ChangelogTemplate == "" {
			u.Notes = append(u.Notes, "no changelog_template: changelog is left as it is; update it by hand")
			return nil
		}
		url, err := catalog.ExpandChangelog(a.ChangelogTemplate, b.ToVer)
		if err != nil {
			return fmt.Errorf("%s: changelog_template: %w", a.Name, err)
		}
		u.Changelog = url
	}
	return nil
}

// take adds to u the bumps of the newest of cands that the leading service and the
// services moving with it can all take, and why newer ones wait.
func (c *checker) take(ctx context.Context, a *catalog.App, leader string, followers []string, cands []candidate, u *Update) error {
	bumps, notes, err := c.group(ctx, a, leader, followers, cands)
	u.Bumps = append(u.Bumps, bumps...)
	u.Notes = append(u.Notes, notes...)
	return err
}

// group finds the newest of the leading service's candidates for which every service that
// moves with it has a tag of the same version.
func (c *checker) group(ctx context.Context, a *catalog.App, leader string, followers []string, cands []candidate) ([]Bump, []string, error) {
	if len(cands) == 0 {
		return nil, nil, nil
	}
	lead := a.Services[leader].Image
	var notes []string
	follow := map[string][]string{}
	for _, f := range followers {
		tags, err := c.listTags(ctx, a.Services[f].Image.Image)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		follow[f] = tags
	}
	for i, cand := range cands {
		matched := map[string]candidate{}
		var missing []string
		for _, f := range followers {
			v := a.Services[f].Versioning
			var best *candidate
			for _, t := range follow[f] {
				text, ver, ok := v.Match(t)
				if ok && ver.Equal(cand.ver) && (best == nil || t < best.tag) {
					best = &candidate{t, text, ver}
				}
			}
			if best == nil {
				missing = append(missing, f)
				continue
			}
			matched[f] = *best
		}
		if len(missing) > 0 {
			if i == 0 {
				notes = append(notes, fmt.Sprintf("%s: %s waits for %s, which has no tag of version %s yet", leader, cand.tag, strings.Join(missing, ", "), cand.text))
			}
			continue
		}
		b, err := c.bump(ctx, leader, lead, cand, "services."+leader)
		if err != nil {
			return nil, nil, err
		}
		bumps := []Bump{b}
		for _, f := range followers {
			fb, err := c.bump(ctx, f, a.Services[f].Image, matched[f], "services."+f)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f, err)
			}
			bumps = append(bumps, fb)
		}
		return bumps, notes, nil
	}
	return nil, notes, nil
}
