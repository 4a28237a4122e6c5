// Package hcloudsim is a simulator of the Hetzner Cloud API, for tests only.
//
// It serves the documented API (https://docs.hetzner.cloud/reference/cloud) on
// 127.0.0.1 with in-memory state, for the endpoints the hcloud Terraform provider
// uses for servers, images, SSH keys, volumes, primary IPs, firewalls, locations,
// datacenters, server types, DNS zones and their RRSets. It is a simulator rather
// than a mock: it validates input, keeps references between resources consistent
// (a volume attached to a deleted server is detached, a primary IP of a deleted
// server is unassigned or deleted), enforces delete protection, uniqueness, bearer
// token authentication and rate limits, and runs changes as asynchronous actions
// that go from running to success, so clients have to wait for them as they do
// against the real API.
//
// IDs are deterministic: every kind of resource counts up from its own base, so an
// ID of one kind is never a valid ID of another.
package hcloudsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the API token a new simulator accepts. Like a real token it is
// 64 characters long, which the Terraform provider checks.
const DefaultToken = "hcloudsim01234567890123456789012345678901234567890123456789abcde"

// DefaultRateLimit is the number of requests per hour the API allows by default.
const DefaultRateLimit = 3600

// Server is a simulated Hetzner Cloud API. Create it with New, seed it, then Start it.
type Server struct {
	mu sync.Mutex

	token       string
	readOnly    map[string]bool // tokens with read-only permission
	actionDelay time.Duration
	now         func() time.Time

	rateLimit     int
	rateRemaining float64
	rateUpdated   time.Time

	ids         map[string]int64
	locations   *store[*location]
	datacenters *store[*datacenter]
	serverTypes *store[*serverType]
	images      *store[*image]
	servers     *store[*server]
	sshKeys     *store[*sshKey]
	volumes     *store[*volume]
	primaryIPs  *store[*primaryIP]
	firewalls   *store[*firewall]
	zones       *store[*zone]
	actions     map[int64]*action

	ipv4Count, ipv6Count int
	nextIPv4s            []string // UseIPv4s
	prices               Prices
	requests             []Request

	mux *http.ServeMux
	ts  *httptest.Server
}

// Request is one request the simulator answered, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  string
	Status int
}

// idBase is where the IDs of each kind of resource start, so that IDs never
// collide between kinds.
var idBase = map[string]int64{
	"action":      1,
	"location":    1,
	"datacenter":  1,
	"server_type": 1,
	"server":      100001,
	"volume":      200001,
	"primary_ip":  300001,
	"firewall":    400001,
	"ssh_key":     500001,
	"zone":        600001,
	"image":       700001,
}

// New returns a simulator with the standard catalogue of locations, datacenters,
// server types and system images, accepting DefaultToken.
func New() *Server {
	s := &Server{
		token:     DefaultToken,
		readOnly:  map[string]bool{},
		now:       func() time.Time { return time.Now().UTC() },
		rateLimit: DefaultRateLimit,
		ids:       map[string]int64{},
		actions:   map[int64]*action{},
		prices:    DefaultPrices,
	}
	s.rateRemaining = float64(s.rateLimit)
	s.rateUpdated = s.now()
	s.routes()
	s.seedCatalogue()
	return s
}

// Start serves the API on 127.0.0.1 on a free port and returns the base URL; the
// API itself is under URL + "/v1".
func (s *Server) Start() string {
	s.ts = httptest.NewServer(s)
	return s.ts.URL
}

// URL returns the base URL of a started simulator.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Endpoint returns the API endpoint of a started simulator, the value for the
// provider's endpoint setting.
func (s *Server) Endpoint() string { return s.URL() + "/v1" }

// Close stops serving.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// UseIPv4s makes addrs the next IPv4 addresses the simulator hands out, in order, before
// its usual ones (198.18.0.0/15): e.g. loopback addresses where a test serves the apps, so
// what reaches "the server" by its address reaches the test.
func (s *Server) UseIPv4s(addrs ...string) {
	s.locked(func() { s.nextIPv4s = append(s.nextIPv4s, addrs...) })
}

// SetToken sets the only API token the simulator accepts.
func (s *Server) SetToken(token string) {
	s.locked(func() { s.token = token })
}

// AddReadOnlyToken makes the simulator also accept token with read-only permission,
// as a project's token created with "Read" access: it may read everything, and every
// request that is not a GET or HEAD answers 403 forbidden.
func (s *Server) AddReadOnlyToken(token string) {
	s.locked(func() { s.readOnly[token] = true })
}

// SetActionDelay sets how long actions run before they succeed. With the default
// of zero an action is returned as running and has succeeded by the next request.
func (s *Server) SetActionDelay(d time.Duration) {
	s.locked(func() { s.actionDelay = d })
}

// SetRateLimit sets the number of requests allowed per hour and refills the budget.
// The remaining budget recovers gradually, as the API documents.
func (s *Server) SetRateLimit(perHour int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perHour < 1 {
		perHour = 1
	}
	s.rateLimit = perHour
	s.rateRemaining = float64(perHour)
	s.rateUpdated = s.now()
}

func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) newID(kind string) int64 {
	id, ok := s.ids[kind]
	if !ok {
		id = idBase[kind]
		if id == 0 {
			panic("hcloudsim: unknown kind " + kind)
		}
	}
	s.ids[kind] = id + 1
	return id
}

// ServeHTTP answers one API request. Requests are handled one at a time.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status})
	}()

	now := s.now()
	allowed := s.spendRate(now)
	s.setRateHeaders(rec.Header(), now)
	if !allowed {
		writeError(rec, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded", Message: "limit of requests per hour reached"})
		return
	}
	auth := r.Header.Get("Authorization")
	readOnly := strings.HasPrefix(auth, "Bearer ") && s.readOnly[strings.TrimPrefix(auth, "Bearer ")]
	if auth != "Bearer "+s.token && !readOnly {
		writeError(rec, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "unable to authenticate"})
		return
	}
	if readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(rec, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "insufficient permissions for this request: the token is read-only"})
		return
	}
	s.settle(now)
	s.mux.ServeHTTP(rec, r)
}

// spendRate takes one request from the hourly budget, which refills evenly.
func (s *Server) spendRate(now time.Time) bool {
	perRequest := time.Hour / time.Duration(s.rateLimit)
	if elapsed := now.Sub(s.rateUpdated); elapsed > 0 {
		s.rateRemaining += float64(elapsed) / float64(perRequest)
		if s.rateRemaining > float64(s.rateLimit) {
			s.rateRemaining = float64(s.rateLimit)
		}
	}
	s.rateUpdated = now
	if s.rateRemaining < 1 {
		return false
	}
	s.rateRemaining--
	return true
}

func (s *Server) setRateHeaders(h http.Header, now time.Time) {
	perRequest := time.Hour / time.Duration(s.rateLimit)
	missing := float64(s.rateLimit) - s.rateRemaining
	reset := now.Add(time.Duration(missing * float64(perRequest)))
	h.Set("RateLimit-Limit", fmt.Sprint(s.rateLimit))
	h.Set("RateLimit-Remaining", fmt.Sprint(int(s.rateRemaining)))
	h.Set("RateLimit-Reset", fmt.Sprint(reset.Unix()))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// handlerFunc answers a request with a status and a body to encode as JSON, or
// with an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		status, body, err := h(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if status == http.StatusNoContent || body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		writeError(w, fmt.Errorf("encoding response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// apiError is an error response in the API's shape.
type apiError struct {
	Status  int
	Code    string
	Message string
	Details any
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{Status: http.StatusInternalServerError, Code: "server_error", Message: err.Error()}
	}
	details := e.Details
	if details == nil {
		details = struct{}{}
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"details": details,
	}})
}

func errNotFound(kind string, id any) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("%s with ID '%v' not found", kind, id)}
}

func errUniqueness(field, message string) *apiError {
	return &apiError{
		Status:  http.StatusConflict,
		Code:    "uniqueness_error",
		Message: message,
		Details: map[string]any{"fields": []map[string]any{{"name": field}}},
	}
}

func errProtected(message string) *apiError {
	return &apiError{Status: http.StatusLocked, Code: "protected", Message: message}
}

func errLocked(kind string, id int64) *apiError {
	return &apiError{Status: http.StatusLocked, Code: "locked", Message: fmt.Sprintf("%s %d is locked: an action is running", kind, id)}
}

func errCode(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// fieldErrors collects invalid_input messages per field.
type fieldErrors struct {
	names    []string
	messages map[string][]string
}

func (f *fieldErrors) add(field, format string, args ...any) {
	if f.messages == nil {
		f.messages = map[string][]string{}
	}
	if _, ok := f.messages[field]; !ok {
		f.names = append(f.names, field)
	}
	f.messages[field] = append(f.messages[field], fmt.Sprintf(format, args...))
}

func (f *fieldErrors) err() error {
	if len(f.names) == 0 {
		return nil
	}
	fields := make([]map[string]any, 0, len(f.names))
	for _, name := range f.names {
		fields = append(fields, map[string]any{"name": name, "messages": f.messages[name]})
	}
	message := fmt.Sprintf("invalid input in field '%s': %s", f.names[0], f.messages[f.names[0]][0])
	if len(f.names) > 1 {
		message = "invalid input in fields"
		for i, name := range f.names {
			if i > 0 {
				message += ","
			}
			message += " '" + name + "'"
		}
	}
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_input", Message: message, Details: map[string]any{"fields": fields}}
}

func invalidInput(field, format string, args ...any) error {
	var f fieldErrors
	f.add(field, format, args...)
	return f.err()
}

// decodeBody decodes a JSON request body into v; an empty body leaves v unchanged.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return errCode(http.StatusBadRequest, "json_error", "reading request body: "+err.Error())
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errCode(http.StatusBadRequest, "json_error", "invalid JSON in request body: "+err.Error())
	}
	return nil
}

// routes registers every endpoint.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)))
	})
	s.actionRoutes()
	s.catalogueRoutes()
	s.imageRoutes()
	s.sshKeyRoutes()
	s.serverRoutes()
	s.volumeRoutes()
	s.primaryIPRoutes()
	s.firewallRoutes()
	s.zoneRoutes()
	s.pricingRoutes()
}
