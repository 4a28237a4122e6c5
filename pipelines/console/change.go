package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/pipelines/cost"
)

// Adding and removing an app: the forms, the memory check, and what is saved.

// fitCheck is whether the apps fit the server with one more app.
type fitCheck struct {
	App     catalogApp
	Current site.ServerType
	NeedMB  int // the apps with the new one, and the system
	Fits    bool
	// Suggest is the smallest current server type of the same family that fits; its
	// Name is "" when none does.
	Suggest site.ServerType
	// SuggestMB is, on the owner's own machine (libvirt), the memory to give the server
	// instead: what the apps need, rounded up as the loader's own message does.
	SuggestMB int
}

// fitOnMachine is whether the apps fit a server on the owner's machine with one more.
func fitOnMachine(l *site.Loaded, add *catalog.App) fitCheck {
	v := l.Provider.Libvirt
	f := fitCheck{App: catalogApp{Name: add.Name, Title: add.Title, Summary: add.Summary, MemoryMB: add.MemoryMB},
		Current: site.ServerType{Name: "your server", MemoryMB: v.MemoryMB}, NeedMB: l.MemoryMB() + add.MemoryMB}
	f.Fits = v.MemoryMB >= f.NeedMB
	if !f.Fits {
		f.SuggestMB = site.RoundUpMB(f.NeedMB)
	}
	return f
}

func fitFor(l *site.Loaded, add *catalog.App, serverType string) fitCheck {
	cur, _ := site.LookupServerType(serverType)
	f := fitCheck{App: catalogApp{Name: add.Name, Title: add.Title, Summary: add.Summary, MemoryMB: add.MemoryMB},
		Current: cur, NeedMB: l.MemoryMB() + add.MemoryMB}
	f.Fits = cur.MemoryMB >= f.NeedMB
	if !f.Fits {
		f.Suggest, _ = site.SmallestFitting(serverType, f.NeedMB)
	}
	return f
}

// fieldProblem is one of the loader's messages, placed beside the field it concerns.
type fieldProblem struct {
	Line     int
	Msg, Fix string
}

// problems are the loader's messages about a would-be site.yaml: by the form field they
// concern, and the rest.
type problems struct {
	Fields map[string][]fieldProblem
	Other  []fieldProblem
}

// placeProblems sorts the diagnostics of data to the form fields whose site.yaml paths
// (fields: field name → dotted path) are on their line.
func placeProblems(data []byte, ds diag.List, fields map[string]string) problems {
	lines := map[int]string{}
	for field, path := range fields {
		if l := lineOf(data, path); l != 0 {
			lines[l] = field
		}
	}
	p := problems{Fields: map[string][]fieldProblem{}}
	for _, d := range ds {
		fp := fieldProblem{Line: d.Line, Msg: d.Msg, Fix: d.Fix}
		if field, ok := lines[d.Line]; ok && d.Line != 0 {
			p.Fields[field] = append(p.Fields[field], fp)
			continue
		}
		p.Other = append(p.Other, fp)
	}
	return p
}

type addData struct {
	St        *siteState
	CSRF      string
	Apps      []catalogApp
	Chosen    string
	Resources resources
	Fit       *fitCheck // when the chosen app does not fit the server
	Cost      costs     // now, and with the suggested server type
	Problems  problems
	Message   string // why nothing was saved
}

func (d addData) title() string { return "Add an app to " + d.St.FullName() }

func (s *Server) addPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	_, st, ok := s.loadSite(w, r, sess)
	if !ok {
		return
	}
	if st.Site == nil {
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes; the site's page lists them. Fix them first, then add an app.")
		return
	}
	d := addData{St: st, CSRF: sess.CSRF, Apps: s.missingApps(st.Site), Resources: resourcesOf(st.Site), Chosen: r.URL.Query().Get("app")}
	d.Cost = s.costsOf(r.Context(), st.Site, nil, nil)
	s.render(w, r, sess, http.StatusOK, "add", d)
}

// mayChange writes the refusal when the person may not save to the site (or the console
// cannot), and says whether they may.
func (s *Server) mayChange(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) bool {
	switch {
	case !st.Access.Push:
		s.fail(w, r, sess, http.StatusForbidden, "You can look at "+st.FullName()+" but not change it: your account on the forge may only read it. Ask the site's owner for write access.")
	case st.Site == nil:
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes; the site's page lists them. Fix them first.")
	case st.Pinned != "":
		s.fail(w, r, sess, http.StatusConflict, "The console cannot change this site now: "+st.Pinned+".")
	default:
		return true
	}
	return false
}

func (s *Server) addPost(w http.ResponseWriter, r *http.Request, sess *Session) {
	fc, st, ok := s.loadSite(w, r, sess)
	if !ok || !s.mayChange(w, r, sess, st) {
		return
	}
	name := r.PostForm.Get("app")
	d := addData{St: st, CSRF: sess.CSRF, Apps: s.missingApps(st.Site), Resources: resourcesOf(st.Site), Chosen: name}
	var app *catalog.App
	for _, a := range d.Apps {
		if a.Name == name {
			app = s.cat.Apps[name]
		}
	}
	if app == nil {
		d.Message = "Choose one of the apps listed."
		s.render(w, r, sess, http.StatusBadRequest, "add", d)
		return
	}
	fail := func(p problems, msg string) {
		d.Problems, d.Message = p, msg
		s.render(w, r, sess, http.StatusUnprocessableEntity, "add", d)
	}
	title := "Add " + app.Title + " (" + shortSummary(app.Summary) + ")"
	body := fmt.Sprintf("%s is added to your site: %s It needs %s of memory.\n\n", app.Title, app.Summary, gb(app.MemoryMB))
	edit := func(data []byte) ([]byte, error) { return addApp(data, name) }
	fields := map[string]string{"app": "apps." + name}
	switch p := st.Site.Provider; {
	case p.OpenStack != nil:
		// Only the cloud knows its flavor's memory: the plan checks it (openstack/server.tf).
		d.Cost = s.costsOf(r.Context(), st.Site, nil, nil)
		body += fmt.Sprintf("Your apps and the system then need %s of memory. The plan checks that your server's flavor (%s) has it; if it has not, "+
			"the plan says so, nothing changes, and a larger flavor fixes it.\n\n", gb(st.Site.MemoryMB()+app.MemoryMB), p.OpenStack.Flavor)
		s.save(w, r, sess, fc, st, change{slug: "add-" + name, fields: fields, title: title, body: body + costLine(d.Cost), edit: edit}, fail)
		return
	case p.Libvirt != nil:
		s.addOnMachine(w, r, sess, fc, st, d, app, change{slug: "add-" + name, fields: fields, title: title, body: body, edit: edit}, fail)
		return
	case p.Hetzner == nil:
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml names no provider the console knows.")
		return
	}
	h := st.Site.Provider.Hetzner
	typ := h.ServerType
	accepted := r.PostForm.Get("server_type")
	if accepted != "" {
		if !site.CurrentServerType(accepted) {
			d.Message = fmt.Sprintf("%q is not a server type you can choose.", accepted)
			s.render(w, r, sess, http.StatusBadRequest, "add", d)
			return
		}
		typ = accepted
	}
	f := fitFor(st.Site, app, typ)
	after := &cost.Resources{ServerType: typ, Location: h.Location, VolumeGB: h.VolumeGB}
	if !f.Fits && f.Suggest.Name != "" {
		after.ServerType = f.Suggest.Name
	}
	d.Cost = s.costsOf(r.Context(), st.Site, after, nil)
	if !f.Fits {
		f.Current, _ = site.LookupServerType(h.ServerType)
		d.Fit = &f
		s.render(w, r, sess, http.StatusOK, "add", d)
		return
	}
	if typ != h.ServerType {
		from, _ := site.LookupServerType(h.ServerType)
		to, _ := site.LookupServerType(typ)
		title += " on a bigger server (" + typ + ")"
		body += fmt.Sprintf("**Your server changes** from %s (%s of memory) to %s (%s), so that all your apps fit (they need %s with the system). "+
			"Merging rebuilds the server: your apps are offline for a few minutes, and your data stays on its own volume.\n\n",
			from.Name, gb(from.MemoryMB), to.Name, gb(to.MemoryMB), gb(f.NeedMB))
		edit = func(data []byte) ([]byte, error) {
			out, err := addApp(data, name)
			if err != nil {
				return nil, err
			}
			return setServerType(out, typ)
		}
	}
	body += costLine(d.Cost)
	fields["server_type"] = typePath
	s.save(w, r, sess, fc, st, change{slug: "add-" + name, fields: fields, title: title, body: body, edit: edit}, fail)
}

// addOnMachine adds app to a site on the owner's own machine (libvirt): when the apps
// would not fit the server's memory it offers the memory that fits, which the machine
// must have free; accepted (memory_mb in the form), the change sets it too.
func (s *Server) addOnMachine(w http.ResponseWriter, r *http.Request, sess *Session, fc forge.Client, st *siteState, d addData,
	app *catalog.App, c change, fail func(problems, string)) {
	v := st.Site.Provider.Libvirt
	d.Cost = s.costsOf(r.Context(), st.Site, nil, nil)
	f := fitOnMachine(st.Site, app)
	mem := v.MemoryMB
	if m := r.PostForm.Get("memory_mb"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < f.NeedMB {
			d.Message = fmt.Sprintf("%q is not enough memory for your apps: they need %s with the system.", m, gb(f.NeedMB))
			s.render(w, r, sess, http.StatusBadRequest, "add", d)
			return
		}
		mem = n
	} else if !f.Fits {
		d.Fit = &f
		s.render(w, r, sess, http.StatusOK, "add", d)
		return
	}
	if mem != v.MemoryMB {
		c.title += fmt.Sprintf(" with %s of memory", gb(mem))
		c.body += fmt.Sprintf("**Your server's memory changes** from %s to %s, so that all your apps fit (they need %s with the system); %s must have that much free. "+
			"Merging rebuilds the server, as libvirt sets a server's memory when it creates it: your apps are offline for a few minutes, and your data stays on its own disk.\n\n",
			gb(v.MemoryMB), gb(mem), gb(f.NeedMB), v.Host)
		add := c.edit
		c.edit = func(data []byte) ([]byte, error) {
			out, err := add(data)
			if err != nil {
				return nil, err
			}
			return setEntry(out, "provider.libvirt", "memory_mb", strconv.Itoa(mem), mem)
		}
		c.fields["memory_mb"] = "provider.libvirt.memory_mb"
	}
	c.body += costLine(d.Cost)
	s.save(w, r, sess, fc, st, c, fail)
}

type removeData struct {
	St      *siteState
	CSRF    string
	App     appCard
	Last    bool // the only app: it cannot be removed
	Message string
	Problem problems
}

func (d removeData) title() string { return "Remove " + d.App.Title }

// removeTarget finds the app of the request's path on the site, or writes the error page.
func (s *Server) removeTarget(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) (removeData, bool) {
	d := removeData{St: st, CSRF: sess.CSRF}
	if st.Site == nil {
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes; the site's page lists them. Fix them first.")
		return d, false
	}
	name := r.PathValue("app")
	for _, c := range cards(st.Site) {
		if c.Name == name {
			d.App = c
		}
	}
	if d.App.Name == "" {
		s.fail(w, r, sess, http.StatusNotFound, "This site has no app "+name+".")
		return d, false
	}
	d.Last = len(st.Site.Apps) == 1
	return d, true
}

func (s *Server) removePage(w http.ResponseWriter, r *http.Request, sess *Session) {
	_, st, ok := s.loadSite(w, r, sess)
	if !ok {
		return
	}
	if d, ok := s.removeTarget(w, r, sess, st); ok {
		s.render(w, r, sess, http.StatusOK, "remove", d)
	}
}

func (s *Server) removePost(w http.ResponseWriter, r *http.Request, sess *Session) {
	fc, st, ok := s.loadSite(w, r, sess)
	if !ok || !s.mayChange(w, r, sess, st) {
		return
	}
	d, ok := s.removeTarget(w, r, sess, st)
	if !ok {
		return
	}
	if d.Last {
		d.Message = "A site needs at least one app, so its only app cannot be removed."
		s.render(w, r, sess, http.StatusConflict, "remove", d)
		return
	}
	name := d.App.Name
	body := fmt.Sprintf("%s is removed from your site: it stops, and %s no longer answers.\n\n"+
		"**Its data is kept**: it stays on the server's data volume and in your backups; nothing is deleted. "+
		"Adding %s again later brings it back with its data. To delete the data for good, ask your co-op.\n\n", d.App.Title, d.App.Address, d.App.Title)
	s.save(w, r, sess, fc, st, change{slug: "remove-" + name, title: "Remove " + d.App.Title, body: body,
		edit: func(data []byte) ([]byte, error) { return removeApp(data, name) }}, func(p problems, msg string) {
		d.Problem, d.Message = p, msg
		s.render(w, r, sess, http.StatusUnprocessableEntity, "remove", d)
	})
}

// save proposes ch as a pull request and shows it, or hands the loader's messages (or a
// plain reason) to again, which shows the form with them.
func (s *Server) save(w http.ResponseWriter, r *http.Request, sess *Session, fc forge.Client, st *siteState, ch change, again func(problems, string)) {
	pr, err := s.propose(r.Context(), sess, fc, st, ch)
	var inv *invalidSite
	switch {
	case errors.As(err, &inv):
		again(placeProblems(inv.data, inv.ds, ch.fields), "Nothing was saved: the change would make your site.yaml invalid.")
		return
	case errors.Is(err, errLayout):
		again(problems{}, err.Error())
		return
	case err != nil:
		s.log.Warn("saving a change failed", "login", sess.Login, "repo", st.FullName(), "error", err)
		if forge.Status(err) != 0 {
			s.forgeFailed(w, r, sess, err, st.FullName())
			return
		}
		again(problems{}, "Nothing was saved: "+err.Error())
		return
	}
	s.log.Info("opened a pull request", "login", sess.Login, "repo", st.FullName(), "pr", pr.Number)
	http.Redirect(w, r, fmt.Sprintf("/site/%s/%s/pr/%d?done=opened", st.Owner, st.Repo, pr.Number), http.StatusSeeOther)
}

// shortSummary is the first phrase of a catalog summary, lower-cased: "Password manager
// that works with…" gives "password manager".
func shortSummary(s string) string {
	cut := len(s)
	for _, sep := range []string{" that ", " with ", ",", ".", " so "} {
		if i := strings.Index(s, sep); i > 0 && i < cut {
			cut = i
		}
	}
	s = s[:cut]
	r, n := utf8.DecodeRuneInString(s)
	if len(s) > n && unicode.IsUpper(r) && !unicode.IsUpper(rune(s[n])) {
		s = string(unicode.ToLower(r)) + s[n:]
	}
	return s
}
