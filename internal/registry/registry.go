// Package registry reads public container images from OCI registries over the Registry
// HTTP API v2 (the OCI distribution spec): the tags of a repository, and the digest a tag
// points at. go-containerregistry's remote package speaks the API (the Bearer token flow,
// Link paging, manifests); this package adds what nassella asks of an anonymous client of
// public registries: a token per repository reused for every request, rate limits waited
// out as the registry says (429 with Retry-After: wait as told, a few times, then fail
// saying when to try again), and errors that say what to do.
//
// Only loopback registries (127.0.0.1, localhost, ::1) are spoken to over plain HTTP, as
// Docker does by default; every other registry over HTTPS.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Media types of what a tag can point at.
const (
	MediaOCIIndex         = "application/vnd.oci.image.index.v1+json"
	MediaDockerList       = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaOCIManifest      = "application/vnd.oci.image.manifest.v1+json"
	MediaDockerManifest   = "application/vnd.docker.distribution.manifest.v2+json"
	defaultPageSize       = 1000
	defaultRetries        = 3
	defaultMaxWait        = 2 * time.Minute
	defaultRequestTimeout = 60 * time.Second
)

// Client talks to registries. The zero value is ready to use; set the fields to change
// its limits. It is safe for concurrent use.
type Client struct {
	// HTTP's Transport sends the requests and its Timeout bounds each one; nil means
	// http.DefaultTransport and 60 s.
	HTTP *http.Client
	// UserAgent is sent with every request; registries ask clients to name themselves.
	UserAgent string
	// Retries is how often a request answered 429 (or 503 with Retry-After) is tried
	// again; 0 means 3.
	Retries int
	// MaxWait is the longest wait for one Retry-After; a registry asking for more makes
	// the request fail with the time to try again. 0 means 2 minutes.
	MaxWait time.Duration
	// PageSize is how many tags to ask for per page; 0 means 1000.
	PageSize int
	// Sleep waits d or until ctx ends; nil means a timer. Tests replace it to see the
	// waits without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	transports map[string]http.RoundTripper // logged in, by repository
}

// Repository is where an image lives: "docker.io/library/postgres" is the repository
// library/postgres on registry-1.docker.io.
type Repository struct {
	Name string // as the catalog writes it
	Host string // the registry's host[:port]
	Path string // the repository inside the registry
}

// ParseRepository reads a fully qualified repository name, host first.
func ParseRepository(image string) (Repository, error) {
	host, path, ok := strings.Cut(image, "/")
	if !ok || path == "" || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return Repository{}, fmt.Errorf("image %q does not start with a registry host; write it fully qualified, e.g. docker.io/library/postgres", image)
	}
	if host == "docker.io" || host == "index.docker.io" {
		host = "registry-1.docker.io"
	}
	return Repository{Name: image, Host: host, Path: path}, nil
}

// loopback reports whether host[:port] is this machine.
func loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Descriptor is what a tag points at.
type Descriptor struct {
	Digest    string // "sha256:…"
	MediaType string
	Size      int64
}

// IsIndex reports whether the tag points at a multi-platform index (OCI image index or
// Docker manifest list) rather than one image.
func (d Descriptor) IsIndex() bool {
	return d.MediaType == MediaOCIIndex || d.MediaType == MediaDockerList
}

// Resolve returns the digest tag points at in image's repository: for a multi-platform
// image, the digest of its index, which is what "image:tag@digest" must name. It asks
// with HEAD (Docker Hub does not count those against its pull limit) and falls back to
// GET, hashing the manifest itself, when the registry does not answer HEAD with the
// digest and media type.
func (c *Client) Resolve(ctx context.Context, image, tag string) (Descriptor, error) {
	repo, opts, err := c.open(ctx, image)
	if err != nil {
		return Descriptor{}, err
	}
	what := image + ":" + tag
	ref := repo.Tag(tag)
	head, err := remote.Head(ref, opts...)
	var te *transport.Error
	var ue *url.Error
	switch {
	case err == nil && head.MediaType != "":
		return Descriptor{Digest: head.Digest.String(), MediaType: mediaType(string(head.MediaType)), Size: head.Size}, nil
	case errors.As(err, &ue), errors.As(err, &te) && te.StatusCode != http.StatusMethodNotAllowed:
		return Descriptor{}, fmt.Errorf("%s: %w", what, describe(repo.RegistryStr(), err))
	}
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return Descriptor{}, fmt.Errorf("%s: %w", what, describe(repo.RegistryStr(), err))
	}
	d := Descriptor{Digest: got.Digest.String(), MediaType: mediaType(string(got.MediaType)), Size: got.Size}
	if d.MediaType == "" || d.MediaType == "application/json" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(got.Manifest, &m) == nil {
			d.MediaType = m.MediaType
		}
	}
	return d, nil
}

func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.TrimSpace(mt)
}

// Tags lists every tag of image's repository, following the registry's pages.
func (c *Client) Tags(ctx context.Context, image string) ([]string, error) {
	repo, opts, err := c.open(ctx, image)
	if err != nil {
		return nil, err
	}
	n := c.PageSize
	if n <= 0 {
		n = defaultPageSize
	}
	p, err := remote.NewPuller(append(opts, remote.WithPageSize(n))...)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("%s: listing tags: %w", image, describe(repo.RegistryStr(), err))
	}
	pages, err := p.Lister(ctx, repo)
	if err != nil {
		return fail(err)
	}
	var tags []string
	seen, visited := map[string]bool{}, map[string]bool{}
	for pages.HasNext() {
		page, err := pages.Next(ctx)
		if err != nil {
			return fail(err)
		}
		added := 0
		for _, t := range page.Tags {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
				added++
			}
		}
		if added == 0 || page.Next == "" {
			break // the end, or a registry that repeats its last page instead of ending it
		}
		if u, err := url.Parse(page.Next); err != nil || u.Host != repo.RegistryStr() {
			return fail(fmt.Errorf("the next page link %q leaves the registry", page.Next))
		}
		if visited[page.Next] {
			return fail(fmt.Errorf("the registry's tag pages loop back to %s", page.Next))
		}
		visited[page.Next] = true
	}
	return tags, nil
}

// open parses image and returns the options that reach its repository, logged in:
// the first request to a repository fetches its token, later ones reuse it.
func (c *Client) open(ctx context.Context, image string) (name.Repository, []remote.Option, error) {
	r, err := ParseRepository(image)
	if err != nil {
		return name.Repository{}, nil, err
	}
	var nameOpts []name.Option
	if loopback(r.Host) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := name.NewRepository(r.Host+"/"+r.Path, nameOpts...)
	if err != nil {
		return name.Repository{}, nil, fmt.Errorf("image %q: %w", image, err)
	}
	key := repo.String()
	c.mu.Lock()
	t := c.transports[key]
	c.mu.Unlock()
	if t == nil {
		var base http.RoundTripper = &policy{c: c}
		if c.UserAgent != "" {
			base = transport.NewUserAgent(base, c.UserAgent)
		}
		t, err = transport.NewWithContext(ctx, repo.Registry, authn.Anonymous, base, []string{repo.Scope(transport.PullScope)})
		if err != nil {
			return name.Repository{}, nil, fmt.Errorf("%s: %w", image, describe(r.Host, err))
		}
		c.mu.Lock()
		if c.transports == nil {
			c.transports = map[string]http.RoundTripper{}
		}
		c.transports[key] = t
		c.mu.Unlock()
	}
	// A transport.Wrapper is used as it is: no retries or user agent added on top.
	return repo, []remote.Option{remote.WithContext(ctx), remote.WithTransport(t)}, nil
}

// policy sends the requests under go-containerregistry's transports (so the token
// service's too): plain HTTP to loopback registries only, a timeout per request, rate
// limits waited out, and only the Bearer flow an anonymous client can follow.
type policy struct{ c *Client }

// refusal is an error of the policy, reported as it is.
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

func refuse(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

func (p *policy) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if loopback(req.URL.Host) {
		req.URL.Scheme = "http"
	} else if req.URL.Scheme != "https" {
		return nil, refuse("%s is not on this machine; nassella speaks to registries over HTTPS only", req.URL.Host)
	}
	for attempt := 0; ; attempt++ {
		resp, err := p.send(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			if err := checkChallenge(req.URL.Host, resp.Header.Get("WWW-Authenticate")); err != nil {
				drain(resp)
				return nil, err
			}
		}
		if !isRateLimit(resp) {
			return resp, nil
		}
		wait, err := p.c.retryWait(resp, attempt)
		drain(resp)
		if err != nil {
			return nil, refuse("%s: %v", req.URL.Host, err)
		}
		if err := p.c.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// send makes one request, bounded by the client's timeout until its body is closed.
func (p *policy) send(req *http.Request) (*http.Response, error) {
	next, timeout := http.DefaultTransport, defaultRequestTimeout
	if h := p.c.HTTP; h != nil {
		if h.Transport != nil {
			next = h.Transport
		}
		if h.Timeout > 0 {
			timeout = h.Timeout
		}
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

var realmRe = regexp.MustCompile(`(?i)\brealm="([^"]*)"`)

// checkChallenge refuses a 401 whose WWW-Authenticate an anonymous client cannot answer.
func checkChallenge(host, challenge string) error {
	scheme, _, _ := strings.Cut(strings.TrimSpace(challenge), " ")
	switch {
	case scheme == "":
		return refuse("%s answered 401 without saying how to log in (no WWW-Authenticate header)", host)
	case !strings.EqualFold(scheme, "bearer"):
		return refuse("%s asks for %s authentication; nassella reads public images anonymously, so this repository is private or the name is wrong", host, scheme)
	}
	var realm string
	if m := realmRe.FindStringSubmatch(challenge); m != nil {
		realm = m[1]
	}
	u, err := url.Parse(realm)
	if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && loopback(u.Host)) {
		return refuse("%s names the token service %q, which is not an https URL", host, realm)
	}
	return nil
}

func isRateLimit(resp *http.Response) bool {
	return resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
}

// retryWait is how long to wait before trying again after a 429: what Retry-After says,
// else a doubling backoff from one second.
func (c *Client) retryWait(resp *http.Response, attempt int) (time.Duration, error) {
	retries := c.Retries
	if retries <= 0 {
		retries = defaultRetries
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = defaultMaxWait
	}
	wait := time.Second << attempt
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			wait = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(ra); err == nil {
			wait = max(at.Sub(c.now()), 0)
		}
	}
	if attempt >= retries {
		return 0, fmt.Errorf("rate limited (%s) %d times in a row; try again in %s, or later", resp.Status, attempt+1, wait.Round(time.Second))
	}
	if wait > maxWait {
		return 0, fmt.Errorf("rate limited (%s): the registry asks to wait %s, longer than %s; try again at %s",
			resp.Status, wait.Round(time.Second), maxWait, c.now().Add(wait).UTC().Format(time.RFC3339))
	}
	return wait, nil
}

// describe says what went wrong in the words of this package: a policy's refusal as it
// is, a registry's error answer as its status with the registry's own code and message.
func describe(host string, err error) error {
	var r *refusal
	if errors.As(err, &r) {
		return r
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	msg := strconv.Itoa(te.StatusCode) + " " + http.StatusText(te.StatusCode)
	if len(te.Errors) > 0 {
		msg += ": " + string(te.Errors[0].Code)
		if te.Errors[0].Message != "" {
			msg += " (" + te.Errors[0].Message + ")"
		}
	}
	switch te.StatusCode {
	case http.StatusNotFound:
		return &NotFoundError{msg}
	case http.StatusUnauthorized:
		return fmt.Errorf("%s refused the token it issued (%s); the repository may be private or gone", host, msg)
	}
	return errors.New(msg)
}

// NotFoundError is a repository or tag the registry does not have.
type NotFoundError struct{ msg string }

func (e *NotFoundError) Error() string {
	return e.msg + "; check the image name and that the tag exists upstream"
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
