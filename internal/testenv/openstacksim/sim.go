// Package openstacksim is a simulator of the OpenStack APIs, for tests only.
//
// It serves, from one HTTPS server on 127.0.0.1, the parts of Keystone (identity v3),
// Nova (compute v2.1), Neutron (network v2.0), Cinder (block storage v3) and Glance
// (image v2) that terraform-provider-openstack (gophercloud v2 underneath) uses for a
// server with its own network, router, security group, port, floating IP and data
// volume. The paths are laid out as DevStack lays out its catalog: /identity,
// /compute/v2.1, /network (v2.0 below it), /volume/v3/{project_id} and /image (v2 below
// it).
//
// It is a simulator rather than a mock: it validates input, keeps the references
// between resources consistent (a port is bound to the server that uses it and unbound
// when the server is gone, a floating IP needs a router from the port's subnet to its
// external network, a network with ports or a subnet with a router interface cannot be
// deleted, an attached volume cannot be deleted), answers errors in each service's own
// shape (Keystone's and keystonemiddleware's {"error": {...}}, Nova's and Cinder's
// {"itemNotFound": {...}}, Neutron's {"NeutronError": {...}}, Glance's webob JSON),
// requires a token from Keystone on every other request, negotiates Nova's and Cinder's
// microversions, and makes status changes asynchronous: a server is BUILD, then ACTIVE; a
// volume creating, then available; attaching, then in-use; a deleted server stays until a
// later request. Clients have to wait for them as they do against a real cloud.
//
// IDs are deterministic: each kind of resource counts up, and its IDs are UUIDs derived
// from the kind and the count, so two runs of a test see the same IDs and an ID of one
// kind is never one of another.
package openstacksim

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nassella/nassella/internal/testenv/testca"
)

// The seeded cloud: one region, one project with one application credential (and one
// user with a password), an external network with a pool of floating IPs.
const (
	DefaultRegion                      = "RegionOne"
	DefaultProjectName                 = "nassella-test"
	DefaultApplicationCredentialID     = "6cb5fa6a13184e6fab65ba2108adf50c"
	DefaultApplicationCredentialSecret = "openstacksim-application-credential-secret"
	DefaultUsername                    = "nassella"
	DefaultPassword                    = "openstacksim-password"
	DefaultExternalNetwork             = "Ext-Net"
	DefaultExternalCIDR                = "203.0.113.0/24"
	DefaultAvailabilityZone            = "nova"
)

// Server is a simulated OpenStack cloud. Create it with New, seed it, then Start it.
type Server struct {
	mu sync.Mutex

	delay         time.Duration
	tokenLifetime time.Duration
	now           func() time.Time

	region             string
	projectID          string
	adminProjectID     string // owns the external network, as a cloud's operator does
	userID             string
	appCredID          string
	appCredSecret      string
	username, password string
	tokens             map[string]time.Time // token → expiry
	counters           map[string]int
	pending            []*transition
	transitionSeq      int
	lastImageCreated   time.Time
	requests           []Request
	public             map[string]bool // patterns answered without a token
	maxComputeMinor    int
	maxVolumeMinor     int
	defaultVolumeType  string
	volumeTypes        []*volumeType
	flavors            table[*flavor]
	images             table[*image]
	servers            table[*server]
	volumes            table[*volume]
	networks           *neutronStore[*network]
	subnets            *neutronStore[*subnet]
	routers            *neutronStore[*router]
	ports              *neutronStore[*port]
	secGroups          *neutronStore[*secGroup]
	secGroupRules      *neutronStore[*secGroupRule]
	floatingIPs        *neutronStore[*floatingIP]
	externalNetworkID  string
	externalSubnetID   string
	mux                *http.ServeMux
	ts                 *httptest.Server
	ca                 *testca.CA
}

// Request is one request the simulator answered, for tests to inspect. Bodies and
// headers are not kept: they hold secrets (credentials, tokens, user_data).
type Request struct {
	Method       string
	Path         string
	Query        string
	Status       int
	Microversion string // the version header the client sent, if any
}

// transition is a status change that happens on its own some time after a request, as
// a real cloud's workers do it.
type transition struct {
	seq int
	due time.Time
	fn  func()
}

// table holds the resources of one kind in creation order.
type table[T any] struct {
	items map[string]T
	order []string
}

func (t *table[T]) put(id string, v T) {
	if t.items == nil {
		t.items = map[string]T{}
	}
	if _, ok := t.items[id]; !ok {
		t.order = append(t.order, id)
	}
	t.items[id] = v
}

func (t *table[T]) get(id string) (T, bool) {
	v, ok := t.items[id]
	return v, ok
}

func (t *table[T]) del(id string) {
	delete(t.items, id)
	t.order = slices.DeleteFunc(t.order, func(s string) bool { return s == id })
}

// list returns the resources in creation order.
func (t *table[T]) list() []T {
	out := make([]T, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.items[id])
	}
	return out
}

// where returns the resources keep is true of, in creation order; nil when none is.
func (t *table[T]) where(keep func(T) bool) []T {
	var out []T
	for _, id := range t.order {
		if v := t.items[id]; keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// New returns a simulator with its region, project, credentials, flavors, volume types,
// default security group and external network seeded. Images are seeded with AddImage.
func New() *Server {
	s := &Server{
		tokenLifetime:   time.Hour,
		now:             func() time.Time { return time.Now().UTC() },
		region:          DefaultRegion,
		appCredID:       DefaultApplicationCredentialID,
		appCredSecret:   DefaultApplicationCredentialSecret,
		username:        DefaultUsername,
		password:        DefaultPassword,
		tokens:          map[string]time.Time{},
		counters:        map[string]int{},
		maxComputeMinor: 96, // Nova 2024.1 (Caracal) answers up to 2.96
		maxVolumeMinor:  70, // Cinder 2024.1 answers up to 3.70
	}
	s.projectID = s.hexID("project")
	s.adminProjectID = s.hexID("project")
	s.userID = s.hexID("user")
	s.routes()
	s.seedFlavors()
	s.seedVolumeTypes()
	s.seedNetwork()
	return s
}

// Start serves the APIs over HTTPS on 127.0.0.1 with a certificate from a new test CA.
func (s *Server) Start() error {
	ca, err := testca.New()
	if err != nil {
		return err
	}
	ts, err := ca.Serve(s, "127.0.0.1")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.ca, s.ts = ca, ts
	s.mu.Unlock()
	return nil
}

// Close stops serving.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// URL is the base URL of a started simulator, https://127.0.0.1:PORT.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// AuthURL is Keystone's v3 address, the provider's auth_url.
func (s *Server) AuthURL() string { return s.URL() + "/identity/v3" }

// CACertPEM is the certificate of the CA that signed the server's certificate.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.CertDER()})
}

// Client returns an HTTP client that trusts the simulator's certificate.
func (s *Server) Client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM())
	c := s.ts.Client()
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	return c
}

// Region is the only region of the catalog.
func (s *Server) Region() string { return s.region }

// ProjectID is the ID of the project every token is scoped to.
func (s *Server) ProjectID() string { return s.projectID }

// ExternalNetworkID is the ID of the seeded external network.
func (s *Server) ExternalNetworkID() string { return s.externalNetworkID }

// SetDelay sets how long asynchronous status changes take (a server's build, a volume's
// creation, attachment and deletion, ...). With the default of zero a change is pending
// in the answer that starts it and done by the next request.
func (s *Server) SetDelay(d time.Duration) {
	s.locked(func() { s.delay = d })
}

// SetTokenLifetime sets how long new tokens are valid (default an hour).
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.locked(func() { s.tokenLifetime = d })
}

// ExpireTokens makes every token issued so far invalid, as a token revocation or expiry
// does; clients must authenticate again.
func (s *Server) ExpireTokens() {
	s.locked(func() { clear(s.tokens) })
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// newID returns the next UUID of a kind: derived from the kind and its count, so runs
// are repeatable, and formatted as a version 4 UUID as OpenStack's services make them.
func (s *Server) newID(kind string) string {
	s.counters[kind]++
	sum := sha256.Sum256(fmt.Appendf(nil, "openstacksim/%s/%d", kind, s.counters[kind]))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hexID is a Keystone ID: 32 hex digits without dashes.
func (s *Server) hexID(kind string) string {
	return strings.ReplaceAll(s.newID(kind), "-", "")
}

// later schedules a status change after the delay.
func (s *Server) later(fn func()) {
	s.transitionSeq++
	s.pending = append(s.pending, &transition{seq: s.transitionSeq, due: s.now().Add(s.delay), fn: fn})
}

// settle applies the status changes that are due, in the order they were scheduled.
// Changes scheduled while settling wait for the next request.
func (s *Server) settle(now time.Time) {
	var due, rest []*transition
	for _, t := range s.pending {
		if !now.Before(t.due) {
			due = append(due, t)
		} else {
			rest = append(rest, t)
		}
	}
	s.pending = rest
	for _, t := range due {
		t.fn()
	}
}

// timestamps in the formats the services use.
func isoZ(t time.Time) string     { return t.UTC().Format("2006-01-02T15:04:05Z") }
func isoMicro(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

type ctxKey int

const microversionKey ctxKey = 0

// microversion is a negotiated API microversion, major.minor.
type microversion struct{ major, minor int }

func (v microversion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v microversion) atLeast(minor int) bool { return v.minor >= minor }

func requestVersion(r *http.Request) microversion {
	v, _ := r.Context().Value(microversionKey).(microversion)
	return v
}

func withVersion(r *http.Request, v microversion) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), microversionKey, v))
}

// ServeHTTP answers one API request. Requests are handled one at a time.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	mv := r.Header.Get("OpenStack-API-Version")
	if mv == "" {
		mv = r.Header.Get("X-OpenStack-Nova-API-Version")
	}
	defer func() {
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, Microversion: mv})
	}()
	now := s.now()
	s.settle(now)

	svc := serviceOf(r.URL.Path)
	_, pattern := s.mux.Handler(r)
	if !s.public[pattern] && !s.authorized(r, now) {
		// keystonemiddleware's auth_token answers before the service sees the request,
		// alike for every service (keystonemiddleware/auth_token/__init__.py,
		// _reject_request): 401 with the Keystone error body and WWW-Authenticate.
		rec.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", s.URL()+"/identity"))
		writeJSON(rec, http.StatusUnauthorized, keystoneErrorBody(http.StatusUnauthorized, "The request you have made requires authentication."))
		return
	}
	if pattern == "" {
		writeError(rec, svc, s.noRoute(r))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) authorized(r *http.Request, now time.Time) bool {
	exp, ok := s.tokens[r.Header.Get("X-Auth-Token")]
	return ok && now.Before(exp)
}

// noRoute is the service's answer to a path it does not have, or a method the path
// does not take.
func (s *Server) noRoute(r *http.Request) *apiError {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			return &apiError{status: http.StatusMethodNotAllowed, kind: "HTTPMethodNotAllowed", message: "The method is not allowed for this resource."}
		}
	}
	return &apiError{status: http.StatusNotFound, kind: "HTTPNotFound", message: "The resource could not be found."}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// service names the API a path belongs to; errors are shaped after it.
type service int

const (
	identitySvc service = iota
	computeSvc
	networkSvc
	volumeSvc
	imageSvc
)

func serviceOf(path string) service {
	switch {
	case strings.HasPrefix(path, "/compute"):
		return computeSvc
	case strings.HasPrefix(path, "/network"):
		return networkSvc
	case strings.HasPrefix(path, "/volume"):
		return volumeSvc
	case strings.HasPrefix(path, "/image"):
		return imageSvc
	}
	return identitySvc
}

// handlerFunc answers a request with a status and a body to encode as JSON, or with an
// error in the service's shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

func (s *Server) handle(svc service, pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if svc == computeSvc || svc == volumeSvc {
			v, err := s.negotiate(svc, r)
			if err != nil {
				writeError(w, svc, err)
				return
			}
			r = withVersion(r, v)
			setVersionHeaders(w, svc, v)
		}
		status, body, err := h(w, r)
		if errors.Is(err, errWritten) {
			return
		}
		if err != nil {
			writeError(w, svc, err)
			return
		}
		writeJSON(w, status, body)
	})
}

// handlePublic registers a route that needs no token: version discovery and
// authentication itself.
func (s *Server) handlePublic(svc service, pattern string, h handlerFunc) {
	s.public[pattern] = true
	s.handle(svc, pattern, h)
}

// routes registers every endpoint.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.public = map[string]bool{}
	s.identityRoutes()
	s.computeRoutes()
	s.networkRoutes()
	s.secGroupRoutes()
	s.volumeRoutes()
	s.imageRoutes()
}

// hexOf is a short deterministic hex string of data, for host IDs and the like.
func hexOf(data string, n int) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:])[:n]
}
