// Package registrytest runs an OCI registry on 127.0.0.1 for tests: go-containerregistry's
// in-memory registry behind what the public registries add to it — a Bearer token flow
// with per-repository scopes (as Docker Hub and ghcr.io do), tag lists in pages with Link
// headers, and, on request, 429 answers with Retry-After. Images are pushed with
// go-containerregistry, through the same token flow.
package registrytest

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Service is the service name the token endpoint serves.
const Service = "registrytest"

// Server is a running test registry.
type Server struct {
	URL  string // http://127.0.0.1:port
	Host string // 127.0.0.1:port, the registry part of image names

	srv      *httptest.Server
	registry http.Handler

	mu          sync.Mutex
	tokens      map[string]string // token → scope it grants
	issued      int
	limitNext   int
	retryAfter  string
	rateLimited int
	requests    []string
}

// New starts a registry on 127.0.0.1; Close stops it.
func New() *Server {
	s := &Server{registry: registry.New(registry.Logger(log.New(io.Discard, "", 0))), tokens: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.Host = strings.TrimPrefix(s.srv.URL, "http://")
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// RateLimit makes the next n authorized registry requests answer 429 Too Many Requests
// with the Retry-After header retryAfter (seconds or an HTTP date; "" sends none).
func (s *Server) RateLimit(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitNext, s.retryAfter = n, retryAfter
}

// Stats are counts of what the server saw.
type Stats struct {
	TokensIssued int
	RateLimited  int      // requests answered 429
	Requests     []string // "METHOD path status" of every registry request, in order
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{TokensIssued: s.issued, RateLimited: s.rateLimited, Requests: append([]string(nil), s.requests...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.serveToken(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.serveRegistry(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.status))
	s.mu.Unlock()
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("service") != Service {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"unknown service"}]}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.issued++
	tok := "token-" + strconv.Itoa(s.issued)
	s.tokens[tok] = q.Get("scope")
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300})
}

// serveRegistry checks the token, then the rate limit, then answers from the registry.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	repo, action := repoAction(r)
	challenge := fmt.Sprintf(`Bearer realm="%s/token",service="%s"`, s.URL, Service)
	if repo != "" {
		challenge += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, action)
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	scope, known := s.tokens[tok]
	s.mu.Unlock()
	if !known || (repo != "" && !grants(scope, repo, action)) {
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	s.mu.Lock()
	limited := s.limitNext > 0
	if limited {
		s.limitNext--
		s.rateLimited++
	}
	retryAfter := s.retryAfter
	s.mu.Unlock()
	if limited {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"you have reached your pull rate limit"}]}`)
		return
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tags/list") {
		s.serveTags(w, r)
		return
	}
	s.registry.ServeHTTP(w, r)
}

// serveTags pages the tag list by n and last, with a Link header to the next page, as
// the distribution spec describes (the in-memory registry does not send Link).
func (s *Server) serveTags(w http.ResponseWriter, r *http.Request) {
	all := httptest.NewRecorder()
	inner := r.Clone(r.Context())
	inner.URL.RawQuery = ""
	s.registry.ServeHTTP(all, inner)
	if all.Code != http.StatusOK {
		w.WriteHeader(all.Code)
		w.Write(all.Body.Bytes())
		return
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(all.Body.Bytes(), &list); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sort.Strings(list.Tags)
	tags := list.Tags
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		if i < len(tags) && tags[i] == last {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 && n < len(tags) {
		tags = tags[:n]
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	if tags == nil {
		tags = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"name": list.Name, "tags": tags})
}

// repoAction reads the repository and the action (pull or push) a /v2/ request needs;
// the /v2/ ping names no repository.
func repoAction(r *http.Request) (string, string) {
	action := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(p, sep); i > 0 {
			return p[:i], action
		}
	}
	return "", action
}

// grants reports whether a token scope ("repository:a/b:pull,push", several separated by
// spaces) allows action on repo.
func grants(scope, repo, action string) bool {
	for _, sc := range strings.Fields(scope) {
		parts := strings.Split(sc, ":")
		if len(parts) != 3 || parts[0] != "repository" || parts[1] != repo {
			continue
		}
		for _, a := range strings.Split(parts[2], ",") {
			if a == action || a == "*" {
				return true
			}
		}
	}
	return false
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Platforms are the platforms of the multi-platform images Push makes.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}

// Push pushes a new random multi-platform image (an OCI image index over Platforms) under
// each tag of repo ("test/vaultwarden") and returns each tag's index digest as
// go-containerregistry computes it.
func (s *Server) Push(repo string, tags ...string) (map[string]string, error) {
	return s.push(repo, types.OCIImageIndex, tags)
}

// PushDockerList is Push with Docker manifest lists instead of OCI indexes.
func (s *Server) PushDockerList(repo string, tags ...string) (map[string]string, error) {
	return s.push(repo, types.DockerManifestList, tags)
}

func (s *Server) push(repo string, mt types.MediaType, tags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, tag := range tags {
		idx, err := NewIndex(mt)
		if err != nil {
			return nil, err
		}
		ref, err := s.ref(repo, tag)
		if err != nil {
			return nil, err
		}
		if err := remote.WriteIndex(ref, idx, remote.WithAuth(authn.Anonymous)); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return nil, err
		}
		out[tag] = d.String()
	}
	return out, nil
}

// PushSingle pushes a random single-platform image under tag and returns its manifest
// digest.
func (s *Server) PushSingle(repo, tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	ref, err := s.ref(repo, tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func (s *Server) ref(repo, tag string) (name.Reference, error) {
	return name.NewTag(s.Host+"/"+repo+":"+tag, name.Insecure)
}

// NewIndex makes a small random multi-platform image of media type mt (an OCI index or a
// Docker manifest list).
func NewIndex(mt types.MediaType) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, p := range Platforms {
		img, err := random.Image(256, 1)
		if err != nil {
			return nil, err
		}
		if mt == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
			img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
		}
		p := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mt), nil
}

// ServeFile serves data at path over HTTPS on 127.0.0.1 (for the compose sysext, which
// the catalog requires to be an https URL). It returns the file's URL, the server's
// certificate as PEM (for SSL_CERT_FILE, or a client's roots) and a client that trusts it.
func ServeFile(path string, data []byte) (u string, certPEM []byte, client *http.Client, closeFn func()) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, path, zeroTime, bytes.NewReader(data))
	}))
	return srv.URL + path, pemCert(srv), srv.Client(), srv.Close
}

var zeroTime time.Time

func pemCert(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
