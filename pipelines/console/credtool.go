package console

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/credentials"
)

// The Credentials tab ("Sign-ins"): how to sign in to each app the first time, as the
// server's claim runner set it up before the app could be reached (pipelines/credentials,
// over SSH as an administrator). Only people who may push to the site repo see them,
// and only on a POST with the session's CSRF token: a link, a prefetch or a cached page
// never shows a password. Pages are never cached (Cache-Control: no-store, security.go)
// and no password reaches a log line or an error.

// signIn is one app's first sign-in as the page shows it.
type signIn struct {
	credentials.Entry
	Title, Address string
	AdminPage      string // the page the password opens when it is a settings token
}

type credentialsData struct {
	toolHeader
	CSRF     string
	Setup    string // why the console cannot read this site's sign-ins: none, no-key
	KeyLine  string // the console's administrator key as admin.ssh_keys takes it
	Problem  string
	Read     bool
	SignIns  []signIn
	Missing  []appCard // the site's apps the server does not have yet
	Support  string
	CanWrite bool
}

func (d credentialsData) title() string { return "Sign-ins of " + d.St.FullName() }

func (s *Server) credentialsPage(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) {
	if !s.mustLoad(w, r, sess, st) {
		return
	}
	d := credentialsData{toolHeader: s.toolHeader(st, "credentials"), CSRF: sess.CSRF, Support: st.Site.Support.Text(), CanWrite: st.Access.Push}
	if r.Method == http.MethodPost && !st.Access.Push {
		s.fail(w, r, sess, http.StatusForbidden, "Only people who may change "+st.FullName()+" see its apps' sign-ins, and your account on the forge may only read it. Ask the site's owner.")
		return
	}
	sv := s.cfg.Servers
	switch {
	case sv == nil || sv.AdminKey == nil:
		d.Setup = "none"
	case !slices.ContainsFunc(st.Site.Admin.SSHKeys, func(k string) bool { return sameKey(k, sv.AdminKey) }):
		d.Setup, d.KeyLine = "no-key", authorizedLine(sv.AdminKey, "nassella-console")
	}
	if r.Method != http.MethodPost || d.Setup != "" {
		s.render(w, r, sess, http.StatusOK, "credentials", d)
		return
	}
	login, err := sv.login(st.Site, sv.AdminKey)
	var entries []credentials.Entry
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		entries, err = credentials.Fetch(ctx, login, "")
		cancel()
	}
	if err != nil {
		// credentials.Fetch's errors never hold a password.
		d.Problem = s.serverFailed(st, sess, "reading sign-ins", err)
		s.render(w, r, sess, http.StatusOK, "credentials", d)
		return
	}
	s.log.Info("showed the apps' sign-ins", "login", sess.Login, "repo", st.FullName())
	d.Read = true
	on := map[string]bool{}
	for _, e := range entries {
		on[e.App] = true
		d.SignIns = append(d.SignIns, describeSignIn(st.Site, e))
	}
	for _, c := range cards(st.Site) {
		if !on[c.Name] {
			d.Missing = append(d.Missing, c)
		}
	}
	s.render(w, r, sess, http.StatusOK, "credentials", d)
}

// describeSignIn adds the app's title, address and admin page (catalog claim.admin_page)
// from the site; an app site.yaml no longer has keeps its name.
func describeSignIn(l *site.Loaded, e credentials.Entry) signIn {
	si := signIn{Entry: e, Title: e.App}
	for _, a := range l.Apps {
		if a.Name != e.App {
			continue
		}
		si.Title, si.Address = a.Spec.Title, "https://"+a.Host
		if a.Spec.Claim != nil && a.Spec.Claim.AdminPage != "" {
			si.AdminPage = si.Address + a.Spec.Claim.AdminPage
		}
	}
	return si
}
