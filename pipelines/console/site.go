package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/siterepo"
)

// siteState is a site repo as the console reads it through the forge: its default
// branch's site.yaml and lock, loaded with the console's catalog.
type siteState struct {
	Owner, Repo string
	Access      forge.Access
	Raw         []byte       // site.yaml as it is
	Site        *site.Loaded // nil when it does not load
	Problems    diag.List    // why it does not load
	Lock        *generator.Lock
	// Pinned says why changes cannot be made here ("" when they can): the site is on
	// another catalog release than the console's.
	Pinned string
}

// FullName is OWNER/NAME.
func (st *siteState) FullName() string { return st.Owner + "/" + st.Repo }

// CanEdit says whether the person may save changes to the site and the console can make them.
func (st *siteState) CanEdit() bool { return st.Access.Push && st.Site != nil && st.Pinned == "" }

// siteAccess reads the repo's permissions for the person, or writes the error page.
func (s *Server) siteAccess(w http.ResponseWriter, r *http.Request, sess *Session) (forge.Client, forge.Access, bool) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	fc, err := s.client(sess, owner, repo)
	if err != nil {
		s.fail(w, r, sess, http.StatusInternalServerError, err.Error())
		return nil, forge.Access{}, false
	}
	acc, err := fc.Access(current(r.Context()))
	if err != nil {
		s.forgeFailed(w, r, sess, err, owner+"/"+repo)
		return nil, forge.Access{}, false
	}
	return fc, acc, true
}

// loadSite reads the site of the request's repo, or writes the error page.
func (s *Server) loadSite(w http.ResponseWriter, r *http.Request, sess *Session) (forge.Client, *siteState, bool) {
	fc, acc, ok := s.siteAccess(w, r, sess)
	if !ok {
		return nil, nil, false
	}
	st := &siteState{Owner: r.PathValue("owner"), Repo: r.PathValue("repo"), Access: acc}
	if err := s.readSite(current(r.Context()), fc, st); err != nil {
		s.forgeFailed(w, r, sess, err, st.FullName())
		return nil, nil, false
	}
	return fc, st, true
}

func (s *Server) readSite(ctx context.Context, fc forge.Client, st *siteState) error {
	var err error
	if st.Raw, err = fc.File(ctx, siterepo.SiteFile, ""); err != nil {
		return err
	}
	lockData, err := fc.File(ctx, generator.LockPath, "")
	switch {
	case forge.Status(err) == http.StatusNotFound:
	case err != nil:
		return err
	default:
		if st.Lock, err = generator.ParseLock(lockData); err != nil {
			st.Pinned = "its " + generator.LockPath + " cannot be read (" + err.Error() + "); ask your co-op"
		}
	}
	if st.Lock != nil && st.Lock.Catalog != s.cat.Release {
		st.Pinned = "the site uses catalog release " + st.Lock.Catalog + " and this console has " + s.cat.Release +
			"; merge the site's update pull request first, or ask your co-op to update the console"
	}
	l, err := site.Load(siterepo.SiteFile, st.Raw, s.cat)
	var ds diag.List
	switch {
	case errors.As(err, &ds):
		st.Problems = ds
	case err != nil:
		st.Problems = diag.List{{File: siterepo.SiteFile, Msg: err.Error()}}
	}
	st.Site = l
	return nil
}

// appCard is one app of a site.
type appCard struct {
	Name, Title, Summary string
	Address              string
	MemoryMB             int
}

func cards(l *site.Loaded) []appCard {
	var out []appCard
	for _, a := range l.Apps {
		out = append(out, appCard{Name: a.Name, Title: a.Spec.Title, Summary: a.Spec.Summary, Address: "https://" + a.Host, MemoryMB: a.Spec.MemoryMB})
	}
	return out
}

// resources are the site's server and schedules, from site.yaml.
type resources struct {
	// Platform is where the server runs: hetzner, openstack or libvirt (the key under
	// provider:), and Where says it in plain words.
	Platform, Where string
	ServerType      string // Hetzner's server type
	Flavor          string // the OpenStack flavor
	VCPUs           int    // on one's own machine (libvirt)
	// ServerMemoryMB is the server's memory; 0 on OpenStack, where only the cloud knows
	// its flavor's (the plan checks it).
	ServerMemoryMB int
	NeedMB         int // what the apps and the system need
	Location       string
	VolumeGB       int
	Backups        string
	Keep           site.Keep
	Window         string
	Timezone       string
	Automerge      bool
	Plan           string
}

// Size is the server's size in a few words: its server type, flavor or memory.
func (r resources) Size() string {
	switch r.Platform {
	case "openstack":
		return "flavor " + r.Flavor
	case "libvirt":
		return fmt.Sprintf("%s of memory, %d virtual CPUs", gb(r.ServerMemoryMB), r.VCPUs)
	}
	return r.ServerType
}

func resourcesOf(l *site.Loaded) resources {
	res := resources{NeedMB: l.MemoryMB(), Backups: l.Backups.Schedule, Keep: l.Backups.Keep,
		Window: l.Updates.Window, Timezone: l.Updates.Timezone, Automerge: l.Updates.Automerge, Plan: l.Updates.Plan}
	if res.Plan == "" {
		res.Plan = "full"
	}
	switch p := l.Provider; {
	case p.Hetzner != nil:
		h := p.Hetzner
		res.Platform, res.Where = "hetzner", "Hetzner Cloud, "+h.Location
		res.ServerType, res.Location, res.VolumeGB = h.ServerType, h.Location, h.VolumeGB
		if t, ok := site.LookupServerType(h.ServerType); ok {
			res.ServerMemoryMB = t.MemoryMB
		}
	case p.OpenStack != nil:
		o := p.OpenStack
		res.Platform, res.Where = "openstack", "the OpenStack cloud at "+hostOf(o.AuthURL)+", region "+o.Region
		res.Flavor, res.Location, res.VolumeGB = o.Flavor, o.Region, o.VolumeGB
	case p.Libvirt != nil:
		v := p.Libvirt
		res.Platform, res.Where = "libvirt", "your own machine "+v.Host
		res.ServerMemoryMB, res.VCPUs, res.VolumeGB = v.MemoryMB, v.VCPUsOrDefault(), v.VolumeGB
	}
	return res
}

// hostOf is the host name of an address, or the address when it has none.
func hostOf(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return addr
}

type prLine struct {
	Number int
	Title  string
	Author string
	Update bool // opened by the update bot from its branch
}

type siteData struct {
	St        *siteState
	Apps      []appCard
	Resources resources
	PRs       []prLine
	Tools     []SiteTool
	Done      string // what the person just did, from a fixed list
	Cost      costs
}

func (d siteData) title() string { return d.St.FullName() }

// done are the messages a redirect may ask a page to show, by key: never text from the URL.
var done = map[string]string{
	"opened": "Your change is saved as this pull request. Its checks now work out what merging it does; this page shows what they say.",
	"merged": "Merged. Your server is being changed now; the site's checks on the forge show how it goes.",
}

func (s *Server) sitePage(w http.ResponseWriter, r *http.Request, sess *Session) {
	fc, st, ok := s.loadSite(w, r, sess)
	if !ok {
		return
	}
	d := siteData{St: st, Tools: s.cfg.SiteTools, Done: done[r.URL.Query().Get("done")]}
	if st.Site != nil {
		d.Apps = cards(st.Site)
		d.Resources = resourcesOf(st.Site)
		d.Cost = s.costsOf(r.Context(), st.Site, nil, nil)
	}
	prs, err := fc.OpenPRs(current(r.Context()))
	if err != nil {
		s.forgeFailed(w, r, sess, err, st.FullName())
		return
	}
	for _, p := range prs {
		d.PRs = append(d.PRs, prLine{Number: p.Number, Title: p.Title, Author: p.Author, Update: forge.FromUpdateBranch(p.Head, p.HeadRepo, st.FullName())})
	}
	sort.Slice(d.PRs, func(i, j int) bool { return d.PRs[i].Number > d.PRs[j].Number })
	s.render(w, r, sess, http.StatusOK, "site", d)
}

// catalogApp is an app of the catalog a site does not have yet.
type catalogApp struct {
	Name, Title, Summary string
	MemoryMB             int
}

func (s *Server) missingApps(l *site.Loaded) []catalogApp {
	have := map[string]bool{}
	for _, a := range l.Apps {
		have[a.Name] = true
	}
	var out []catalogApp
	for _, n := range s.cat.Names() {
		a := s.cat.Apps[n]
		if !have[n] {
			out = append(out, catalogApp{Name: n, Title: a.Title, Summary: a.Summary, MemoryMB: a.MemoryMB})
		}
	}
	return out
}
