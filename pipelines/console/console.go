// Package console is nassella console: a web app where a site's owner signs in with their
// forge account, sees their sites, adds or removes apps and merges pull requests, without
// reading YAML. It keeps no state of its own: every change is a commit on a new branch of
// the site repo and a pull request, made with the person's own forge token, so the plan
// comment, the review, apply-on-merge and the audit trail stay what they are.
//
// Pages are rendered on the server with html/template and work without JavaScript. See
// docs/maintainers/console.md for how it is built and its security model.
package console

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/forge"
)

// Config says which forge the console signs people in with, and how it is reached.
type Config struct {
	// Forge is the forge's web address: https://codeberg.org, https://git.example.org,
	// https://github.com.
	Forge string
	// Kind is github, gitea or forgejo.
	Kind string
	// API is the forge's REST API; derived from Forge when empty (<forge>/api/v1/ for
	// Gitea and Forgejo, https://api.github.com/ for github.com, <forge>/api/v3/ for
	// GitHub Enterprise Server).
	API string
	// ClientID and ClientSecret are the console's OAuth2 application on the forge. Gitea
	// and Forgejo take a public client (no secret) with PKCE; GitHub needs the secret.
	ClientID, ClientSecret string
	// PublicURL is where people's browsers reach the console, e.g. https://console.coop.example;
	// the OAuth2 application's redirect URI is PublicURL + /oauth/callback.
	PublicURL string
	// SessionKey seals the session cookies (32 bytes); a random key when nil, so every
	// restart signs everyone out.
	SessionKey []byte
	// Bots are the logins whose plan comments the console shows, besides the site repo's
	// owner: the login the site workflows comment as (github-actions[bot] on GitHub, the
	// bot account whose token the Forgejo/Gitea workflows use).
	Bots []string
	// Catalog is the release changes are checked and generated with; nil is the one built
	// into this binary.
	Catalog *catalog.Release
	// SiteTools are extra pages of a site, each a tab on the site's page, after the
	// console's own Logs and Credentials tabs (a SiteTool with the slug logs or
	// credentials takes that tab's place).
	SiteTools []SiteTool
	// Servers is how the console reaches the sites' servers over SSH, for the Logs and
	// Credentials tabs; with nil, those tabs say how to read logs and sign-ins with the CLI.
	Servers *Servers
	// HcloudToken reads Hetzner's price list (a read-only token does) for the costs shown
	// beside every change of resources; without it the console says prices are unavailable.
	// HcloudEndpoint is the Hetzner Cloud API (Hetzner's own when empty).
	HcloudToken, HcloudEndpoint string
	// Transport reaches the forge; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// CacheTTL is how long a forge answer is used without asking again (default 20 s);
	// after that the console asks with If-None-Match where the forge gave an ETag.
	CacheTTL time.Duration
	// WorkDir holds the clones of a change while it is made; the system's temp folder
	// when empty.
	WorkDir string
	// Log receives one line per request (never a token, cookie or query string); nothing
	// when nil.
	Log *slog.Logger
	Now func() time.Time
}

// SiteTool is a page of a site served by another package (the logs, the credentials):
// the console checks the session (and on POST the CSRF token) and gives it the site's
// context. A page that streams extends its write deadline with http.ResponseController
// (the server's is 2 minutes).
type SiteTool struct {
	Slug  string // the last part of /site/{owner}/{repo}/{slug}
	Label string // the tab's text
	Serve func(w http.ResponseWriter, r *http.Request, c ToolRequest)
	// page serves the console's own tabs (logs, credentials) with the session and the site.
	page func(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState)
}

// ToolRequest is what a SiteTool knows about the request.
type ToolRequest struct {
	Owner, Repo string
	Person      forge.Person
	Token       string // the person's forge token
	CanWrite    bool   // the person may push to the site repo
	CSRF        string // the value a form posts as csrf
}

// Server is a running console.
type Server struct {
	cfg    Config
	cat    *catalog.Release
	oauth  *oauth2.Config
	sealer *sealer
	secure bool   // the public URL is https
	origin string // scheme://host of the public URL
	cache  *forgeCache
	prices *priceCache
	heads  heads
	pages  *pages
	mux    *http.ServeMux
	log    *slog.Logger
	now    func() time.Time
}

// New checks cfg and returns a console.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 20 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Catalog == nil {
		cfg.Catalog = catalog.Embedded()
	}
	forgeURL, err := url.Parse(strings.TrimSuffix(cfg.Forge, "/"))
	if err != nil || (forgeURL.Scheme != "https" && forgeURL.Scheme != "http") || forgeURL.Host == "" {
		return nil, fmt.Errorf("--forge %q is not an http(s) address; give the forge's web address, like https://codeberg.org", cfg.Forge)
	}
	cfg.Forge = forgeURL.String()
	switch cfg.Kind {
	case "":
		cfg.Kind = forge.KindGitea
		if forgeURL.Host == "github.com" {
			cfg.Kind = forge.KindGitHub
		}
	case forge.KindGitHub, forge.KindGitea, forge.KindForgejo:
	default:
		return nil, fmt.Errorf("--forge-kind %q is unknown; use github, gitea or forgejo", cfg.Kind)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("no OAuth2 client id: register the console as an OAuth2 application on the forge and pass --client-id")
	}
	if cfg.Kind == forge.KindGitHub && cfg.ClientSecret == "" {
		return nil, errors.New("GitHub needs the OAuth app's client secret: set NASSELLA_CONSOLE_CLIENT_SECRET or pass --client-secret-file")
	}
	pub, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil || (pub.Scheme != "https" && pub.Scheme != "http") || pub.Host == "" || pub.Path != "" {
		return nil, fmt.Errorf("--public-url %q must be an http(s) address without a path, like https://console.example.org", cfg.PublicURL)
	}
	cfg.PublicURL = pub.String()
	if cfg.API == "" {
		cfg.API = apiURL(cfg.Kind, forgeURL)
	}
	if cfg.SessionKey == nil {
		cfg.SessionKey = make([]byte, 32)
		if _, err := rand.Read(cfg.SessionKey); err != nil {
			return nil, err
		}
	}
	seal, err := newSealer(cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	for _, t := range cfg.SiteTools {
		if !slugRe.MatchString(t.Slug) || reservedSlugs[t.Slug] || t.Serve == nil {
			return nil, fmt.Errorf("site tool %q: its slug must be lowercase letters and dashes, not one of the console's own pages, and it must serve", t.Slug)
		}
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, cat: cfg.Catalog, sealer: seal, secure: pub.Scheme == "https", origin: pub.Scheme + "://" + pub.Host,
		cache: newForgeCache(cfg.Transport, cfg.CacheTTL, cfg.Now), pages: pg, log: cfg.Log, now: cfg.Now}
	s.oauth = oauthConfig(cfg)
	s.prices = newPriceCache(cfg.HcloudEndpoint, cfg.HcloudToken, cfg.Now)
	s.cfg.SiteTools = append(s.ownTools(), cfg.SiteTools...)
	s.routes()
	return s, nil
}

var (
	slugRe        = regexp.MustCompile(`^[a-z][a-z-]{0,30}$`)
	reservedSlugs = map[string]bool{"add": true, "remove": true, "resources": true, "pr": true}
)

// apiURL is the REST API of a forge at its web address.
func apiURL(kind string, web *url.URL) string {
	switch {
	case kind == forge.KindGitHub && web.Host == "github.com":
		return "https://api.github.com/"
	case kind == forge.KindGitHub:
		return web.String() + "/api/v3/"
	}
	return web.String() + "/api/v1/"
}

// Handler serves the console.
func (s *Server) Handler() http.Handler { return s.protect(s.mux) }

// ListenAndServe serves the console on addr until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	m.HandleFunc("GET /{$}", s.signedIn(s.home))
	m.HandleFunc("GET /login", s.login)
	m.HandleFunc("GET /oauth/callback", s.callback)
	m.HandleFunc("POST /logout", s.form(s.logout))
	m.HandleFunc("GET /site/{owner}/{repo}", s.signedIn(s.sitePage))
	m.HandleFunc("GET /site/{owner}/{repo}/add", s.signedIn(s.addPage))
	m.HandleFunc("POST /site/{owner}/{repo}/add", s.form(s.addPost))
	m.HandleFunc("GET /site/{owner}/{repo}/remove/{app}", s.signedIn(s.removePage))
	m.HandleFunc("POST /site/{owner}/{repo}/remove/{app}", s.form(s.removePost))
	m.HandleFunc("GET /site/{owner}/{repo}/resources", s.signedIn(s.resourcesPage))
	m.HandleFunc("POST /site/{owner}/{repo}/resources", s.form(s.resourcesPost))
	m.HandleFunc("GET /site/{owner}/{repo}/pr/{n}", s.signedIn(s.prPage))
	m.HandleFunc("POST /site/{owner}/{repo}/pr/{n}/merge", s.form(s.mergePost))
	for _, t := range s.cfg.SiteTools {
		serve, page := t.Serve, t.page
		h := func(w http.ResponseWriter, r *http.Request, sess *Session) {
			if page != nil {
				if _, st, ok := s.loadSite(w, r, sess); ok {
					page(w, r, sess, st)
				}
				return
			}
			_, acc, ok := s.siteAccess(w, r, sess)
			if !ok {
				return
			}
			serve(w, r, ToolRequest{Owner: r.PathValue("owner"), Repo: r.PathValue("repo"), Token: sess.Token, CSRF: sess.CSRF,
				Person: forge.Person{Login: sess.Login, Name: sess.Name, Email: sess.Email}, CanWrite: acc.Push})
		}
		m.HandleFunc("GET /site/{owner}/{repo}/"+t.Slug, s.signedIn(h))
		m.HandleFunc("POST /site/{owner}/{repo}/"+t.Slug, s.form(h))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "There is no such page in the console.")
	})
	s.mux = m
}
