package console

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/siterepo"
)

const userAgent = "nassella-console"

// maxRepos is the most repos the sites page looks through.
const maxRepos = 1000

// client is a forge client for owner/repo acting as the signed-in person, through the cache.
func (s *Server) client(sess *Session, owner, repo string) (forge.Client, error) {
	return forge.New(s.cfg.Kind, s.cfg.API, owner, repo, sess.Token,
		forge.Options{Transport: s.cache, UserAgent: userAgent, MaxWait: 5 * time.Second, Retries: 1})
}

// siteSummary is one site on the sites page.
type siteSummary struct {
	Owner, Repo, FullName string
	Name, Domain          string
	Apps                  int
	Catalog               string
	OpenPRs, UpdatePRs    int
	State                 string // of the checks on the deployed branch: success, pending, failure, or "" when none
	CanWrite              bool
	Problem               string // why the site's state could not be read
}

type sitesData struct {
	Sites []siteSummary
	Repos int // repos looked through
}

func (sitesData) title() string { return "Your sites" }

// home lists the sites the person can see (signedIn asks anyone else to sign in).
func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *Session) {
	data, err := s.sites(r.Context(), sess)
	if err != nil {
		s.forgeFailed(w, r, sess, err, "")
		return
	}
	s.render(w, r, sess, http.StatusOK, "sites", data)
}

// sites finds the site repos among the repos the person can see: those with a
// nassella.lock (a generated site). Each is read in parallel, from the cache when fresh.
func (s *Server) sites(ctx context.Context, sess *Session) (sitesData, error) {
	repos, err := forge.VisibleRepos(ctx, s.cfg.Kind, s.cfg.API, sess.Token,
		forge.Options{Transport: s.cache, UserAgent: userAgent, MaxWait: 5 * time.Second, Retries: 1}, maxRepos)
	if err != nil {
		return sitesData{}, err
	}
	out := make([]*siteSummary, len(repos))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = s.summary(ctx, sess, repos[i])
			}
		}()
	}
	for i := range repos {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	data := sitesData{Repos: len(repos)}
	for _, sm := range out {
		if sm != nil {
			data.Sites = append(data.Sites, *sm)
		}
	}
	sort.Slice(data.Sites, func(i, j int) bool {
		return strings.ToLower(data.Sites[i].FullName) < strings.ToLower(data.Sites[j].FullName)
	})
	return data, nil
}

// summary reads one repo's site state, or nil when the repo is no site.
func (s *Server) summary(ctx context.Context, sess *Session, a forge.Access) *siteSummary {
	owner, name, ok := strings.Cut(a.FullName, "/")
	if !ok {
		return nil
	}
	fc, err := s.client(sess, owner, name)
	if err != nil {
		return nil
	}
	lockData, err := fc.File(ctx, generator.LockPath, "")
	if err != nil {
		return nil // no lock: not a generated site (or unreadable, which the site page says)
	}
	sm := &siteSummary{Owner: owner, Repo: name, FullName: a.FullName, CanWrite: a.Push}
	sm.Catalog = s.heads.lock(lockData)
	if data, err := fc.File(ctx, siterepo.SiteFile, ""); err != nil {
		sm.Problem = "its site.yaml could not be read"
	} else if h, ok := s.heads.site(data); !ok {
		sm.Problem = "its site.yaml is not valid YAML"
	} else {
		sm.Name, sm.Domain, sm.Apps = h.Name, h.Domain, len(h.Apps)
	}
	if prs, err := fc.OpenPRs(ctx); err == nil {
		sm.OpenPRs = len(prs)
		for _, p := range prs {
			if forge.FromUpdateBranch(p.Head, p.HeadRepo, a.FullName) {
				sm.UpdatePRs++
			}
		}
	}
	if a.DefaultBranch != "" {
		if checks, err := fc.Checks(ctx, a.DefaultBranch); err == nil {
			sm.State = overall(checks)
		}
	}
	return sm
}

// overall is the state of a set of checks: failure if any failed, pending if any runs,
// success when all passed, "" when there are none.
func overall(cs []forge.Check) string {
	state := ""
	for _, c := range cs {
		switch c.State {
		case "failure", "error":
			return "failure"
		case "pending":
			state = "pending"
		case "success":
			if state == "" {
				state = "success"
			}
		}
	}
	return state
}

// forgeFailed shows a forge error in plain words.
func (s *Server) forgeFailed(w http.ResponseWriter, r *http.Request, sess *Session, err error, repo string) {
	switch forge.Status(err) {
	case http.StatusUnauthorized:
		s.clearCookie(w, sessionCookie)
		s.render(w, r, nil, http.StatusOK, "signin", signinData{Expired: true})
		return
	case http.StatusNotFound:
		s.fail(w, r, sess, http.StatusNotFound, "There is no site repo "+repo+", or your account on the forge cannot see it.")
		return
	case http.StatusForbidden:
		s.fail(w, r, sess, http.StatusForbidden, "The forge refused: your account may not do this in "+repo+".")
		return
	}
	s.log.Warn("forge request failed", "login", sess.Login, "error", err)
	s.fail(w, r, sess, http.StatusBadGateway, "The forge did not answer as expected; try again in a moment.")
}

// siteHead is what the sites page shows of a site.yaml.
type siteHead struct {
	Name   string         `yaml:"name"`
	Domain string         `yaml:"domain"`
	Apps   map[string]any `yaml:"apps"`
}

// heads remembers what site.yaml and nassella.lock files said, by the hash of their
// bytes: the same file is not parsed again on every visit to the sites page, and a
// changed file is a new entry, so nothing is stale.
type heads struct {
	mu    sync.Mutex
	sites map[[32]byte]*siteHead // nil: not valid YAML
	locks map[[32]byte]string
}

const maxHeads = 20000

func (h *heads) site(data []byte) (siteHead, bool) {
	key := sha256.Sum256(data)
	h.mu.Lock()
	got, seen := h.sites[key]
	h.mu.Unlock()
	if !seen {
		var sh siteHead
		if yaml.Unmarshal(data, &sh) == nil {
			got = &sh
		}
		h.mu.Lock()
		if h.sites == nil || len(h.sites) >= maxHeads {
			h.sites = map[[32]byte]*siteHead{}
		}
		h.sites[key] = got
		h.mu.Unlock()
	}
	if got == nil {
		return siteHead{}, false
	}
	return *got, true
}

// lock is the catalog release a lock file names.
func (h *heads) lock(data []byte) string {
	key := sha256.Sum256(data)
	h.mu.Lock()
	release, seen := h.locks[key]
	h.mu.Unlock()
	if !seen {
		var l struct {
			Catalog string `yaml:"catalog"`
		}
		_ = yaml.Unmarshal(data, &l)
		release = l.Catalog
		h.mu.Lock()
		if h.locks == nil || len(h.locks) >= maxHeads {
			h.locks = map[[32]byte]string{}
		}
		h.locks[key] = release
		h.mu.Unlock()
	}
	return release
}
