// Package registry reads public container images from OCI registries over the Registry
// HTTP API v2 (the OCI distribution spec): the tags of a repository, and the digest a tag
// points at. It does what the public registries ask of an anonymous client: the Bearer
// token flow (a 401 names a token service; the token is fetched and reused per
// repository) and rate limits (429 with Retry-After: wait as told, a few times, then fail
// saying when to try again).
//
// Only loopback registries (127.0.0.1, localhost, ::1) are spoken to over plain HTTP, as
// Docker does by default; every other registry over HTTPS.
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
)

// Media types of what a tag can point at.
const (
	MediaOCIIndex         = "application/vnd.oci.image.index.v1+json"
	MediaDockerList       = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaOCIManifest      = "application/vnd.oci.image.manifest.v1+json"
	MediaDockerManifest   = "application/vnd.docker.distribution.manifest.v2+json"
	manifestAcceptHeader  = MediaOCIIndex + ", " + MediaDockerList + ", " + MediaOCIManifest + ", " + MediaDockerManifest
	maxManifestBytes      = 4 << 20
	defaultPageSize       = 1000
	defaultRetries        = 3
	defaultMaxWait        = 2 * time.Minute
	defaultRequestTimeout = 60 * time.Second
)

// Client talks to registries. The zero value is ready to use; set the fields to change
// its limits. It is safe for concurrent use.
type Client struct {
	// HTTP sends the requests; nil means a client with a 60 s timeout.
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
	// Now is the clock for Retry-After dates and token expiry; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]token // by host and scope
}

type token struct {
	value   string
	expires time.Time
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

func (r Repository) scheme() string {
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return "http"
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}

func (r Repository) url(rest string) string {
	return r.scheme() + "://" + r.Host + "/v2/" + r.Path + "/" + rest
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

var digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Resolve returns the digest tag points at in image's repository: for a multi-platform
// image, the digest of its index, which is what "image:tag@digest" must name. It asks
// with HEAD (Docker Hub does not count those against its pull limit) and falls back to
// GET, hashing the manifest itself, when the registry does not send the digest.
func (c *Client) Resolve(ctx context.Context, image, tag string) (Descriptor, error) {
	repo, err := ParseRepository(image)
	if err != nil {
		return Descriptor{}, err
	}
	what := image + ":" + tag
	u := repo.url("manifests/" + url.PathEscape(tag))
	resp, err := c.do(ctx, repo, http.MethodHead, u, manifestAcceptHeader)
	if err != nil {
		return Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		d := Descriptor{Digest: resp.Header.Get("Docker-Content-Digest"), MediaType: mediaType(resp.Header.Get("Content-Type")), Size: resp.ContentLength}
		if digestRe.MatchString(d.Digest) && d.MediaType != "" {
			return d, nil
		}
	} else if resp.StatusCode != http.StatusMethodNotAllowed {
		return Descriptor{}, fmt.Errorf("%s: %w", what, statusError(resp, nil))
	}

	resp, err = c.do(ctx, repo, http.MethodGet, u, manifestAcceptHeader)
	if err != nil {
		return Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return Descriptor{}, fmt.Errorf("%s: reading the manifest: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Descriptor{}, fmt.Errorf("%s: %w", what, statusError(resp, body))
	}
	if len(body) > maxManifestBytes {
		return Descriptor{}, fmt.Errorf("%s: the manifest is larger than %d bytes; that is not a manifest", what, maxManifestBytes)
	}
	sum := sha256.Sum256(body)
	d := Descriptor{Digest: "sha256:" + hex.EncodeToString(sum[:]), MediaType: mediaType(resp.Header.Get("Content-Type")), Size: int64(len(body))}
	if sent := resp.Header.Get("Docker-Content-Digest"); sent != "" && sent != d.Digest {
		return Descriptor{}, fmt.Errorf("%s: the registry says the manifest is %s but it hashes to %s; try again, and report the registry if it persists", what, sent, d.Digest)
	}
	if d.MediaType == "" || d.MediaType == "application/json" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(body, &m) == nil {
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
	repo, err := ParseRepository(image)
	if err != nil {
		return nil, err
	}
	n := c.PageSize
	if n <= 0 {
		n = defaultPageSize
	}
	next := repo.url("tags/list?n=" + strconv.Itoa(n))
	var tags []string
	seen := map[string]bool{}
	visited := map[string]bool{}
	for next != "" {
		if visited[next] {
			return nil, fmt.Errorf("%s: the registry's tag pages loop back to %s", image, next)
		}
		visited[next] = true
		page, link, err := c.tagPage(ctx, repo, next)
		if err != nil {
			return nil, fmt.Errorf("%s: listing tags: %w", image, err)
		}
		added := 0
		for _, t := range page {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
				added++
			}
		}
		if added == 0 {
			break // a registry that repeats its last page instead of ending it
		}
		next = link
	}
	return tags, nil
}

func (c *Client) tagPage(ctx context.Context, repo Repository, u string) ([]string, string, error) {
	resp, err := c.do(ctx, repo, http.MethodGet, u, "application/json")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", statusError(resp, body)
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, "", fmt.Errorf("the tag list is not JSON: %w", err)
	}
	next, err := nextLink(u, resp.Header.Values("Link"))
	return list.Tags, next, err
}

var linkRe = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?next"?`)

// nextLink reads the next page from RFC 8288 Link headers, relative to the request URL.
func nextLink(base string, links []string) (string, error) {
	for _, l := range links {
		m := linkRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		b, err := url.Parse(base)
		if err != nil {
			return "", err
		}
		n, err := b.Parse(m[1])
		if err != nil {
			return "", fmt.Errorf("the next page link %q is not a URL: %w", m[1], err)
		}
		if n.Host != b.Host {
			return "", fmt.Errorf("the next page link %q leaves the registry", m[1])
		}
		return n.String(), nil
	}
	return "", nil
}

// do sends one request to repo's registry with whatever the registry asks for on the way:
// a token on 401, waits on 429.
func (c *Client) do(ctx context.Context, repo Repository, method, u, accept string) (*http.Response, error) {
	scope := "repository:" + repo.Path + ":pull"
	authTried, limited := false, 0
	for {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", accept)
		if c.UserAgent != "" {
			req.Header.Set("User-Agent", c.UserAgent)
		}
		if t, ok := c.cachedToken(repo.Host, scope); ok {
			req.Header.Set("Authorization", "Bearer "+t)
		}
		resp, err := c.client().Do(req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !authTried:
			ch := resp.Header.Get("WWW-Authenticate")
			drain(resp)
			if err := c.authenticate(ctx, repo, scope, ch); err != nil {
				return nil, err
			}
			authTried = true
			continue
		case resp.StatusCode == http.StatusUnauthorized:
			drain(resp)
			return nil, fmt.Errorf("%s refused the token it issued (401 again); the repository may be private or gone", repo.Host)
		case isRateLimit(resp):
			wait, err := c.retryWait(resp, limited)
			drain(resp)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", repo.Host, err)
			}
			limited++
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		return resp, nil
	}
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

func (c *Client) authenticate(ctx context.Context, repo Repository, scope, challenge string) error {
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "bearer":
	case "":
		return fmt.Errorf("%s answered 401 without saying how to log in (no WWW-Authenticate header)", repo.Host)
	default:
		return fmt.Errorf("%s asks for %s authentication; nassella reads public images anonymously, so this repository is private or the name is wrong", repo.Host, scheme)
	}
	realm := params["realm"]
	ru, err := url.Parse(realm)
	if err != nil || (ru.Scheme != "https" && !(ru.Scheme == "http" && (Repository{Host: ru.Host}).scheme() == "http")) {
		return fmt.Errorf("%s names the token service %q, which is not an https URL", repo.Host, realm)
	}
	if s := params["scope"]; s != "" {
		scope = s
	}
	q := ru.Query()
	if svc := params["service"]; svc != "" {
		q.Set("service", svc)
	}
	q.Set("scope", scope)
	ru.RawQuery = q.Encode()

	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ru.String(), nil)
		if err != nil {
			return err
		}
		if c.UserAgent != "" {
			req.Header.Set("User-Agent", c.UserAgent)
		}
		resp, err := c.client().Do(req)
		if err != nil {
			return fmt.Errorf("getting a token from %s: %w", ru.Host, err)
		}
		if isRateLimit(resp) {
			wait, err := c.retryWait(resp, attempt)
			drain(resp)
			if err != nil {
				return fmt.Errorf("token service %s: %w", ru.Host, err)
			}
			if err := c.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return fmt.Errorf("getting a token from %s: %w", ru.Host, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("token service %s: %w", ru.Host, statusError(resp, body))
		}
		var t struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := json.Unmarshal(body, &t); err != nil {
			return fmt.Errorf("token service %s answered something that is not a token: %w", ru.Host, err)
		}
		value := t.Token
		if value == "" {
			value = t.AccessToken
		}
		if value == "" {
			return fmt.Errorf("token service %s answered without a token", ru.Host)
		}
		life := time.Duration(t.ExpiresIn) * time.Second
		if life <= 0 {
			life = 60 * time.Second // the spec's default
		}
		c.mu.Lock()
		if c.tokens == nil {
			c.tokens = map[string]token{}
		}
		// Kept under the scope the request needs, whatever scope the challenge named.
		c.tokens[repo.Host+" repository:"+repo.Path+":pull"] = token{value: value, expires: c.now().Add(life - life/10)}
		c.mu.Unlock()
		return nil
	}
}

func (c *Client) cachedToken(host, scope string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[host+" "+scope]
	if !ok || c.now().After(t.expires) {
		return "", false
	}
	return t.value, true
}

// parseChallenge reads `Bearer realm="…",service="…",scope="…"`.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		params[key] = strings.TrimSpace(val)
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	}
	return scheme, params
}

// statusError describes a failed answer, with the registry's own error message when it
// sent one.
func statusError(resp *http.Response, body []byte) error {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	msg := resp.Status
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		msg += ": " + e.Errors[0].Code
		if e.Errors[0].Message != "" {
			msg += " (" + e.Errors[0].Message + ")"
		}
	}
	if resp.StatusCode == http.StatusNotFound {
		return &NotFoundError{msg}
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

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: defaultRequestTimeout}
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
