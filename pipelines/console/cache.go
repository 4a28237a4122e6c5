package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// forgeCache keeps the forge's answers to GET requests, per person (the key includes a
// hash of the Authorization header, so nobody is served what another person's token read):
// within ttl an answer is used as it is; after that it is asked for again with
// If-None-Match when the forge gave an ETag (GitHub does for its REST API; Gitea for raw
// files), and a 304 renews it. A write by a person (any other method) drops their
// answers, so they see what they just changed.
type forgeCache struct {
	next http.RoundTripper
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*cachedAnswer
}

type cachedAnswer struct {
	who     [16]byte
	status  int
	header  http.Header
	body    []byte
	etag    string
	fetched time.Time
}

// Limits on what is kept: a page's answers are small; a big one is not worth keeping.
const (
	maxCachedBody    = 1 << 20
	maxCachedEntries = 50000
)

func newForgeCache(next http.RoundTripper, ttl time.Duration, now func() time.Time) *forgeCache {
	return &forgeCache{next: next, ttl: ttl, now: now, entries: map[string]*cachedAnswer{}}
}

func (c *forgeCache) RoundTrip(req *http.Request) (*http.Response, error) {
	who := whoOf(req)
	if req.Method != http.MethodGet {
		c.forget(who)
		return c.next.RoundTrip(req)
	}
	key := string(who[:]) + "\x00" + req.Header.Get("Accept") + "\x00" + req.URL.String()
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && c.now().Sub(e.fetched) < c.ttl && req.Context().Value(freshKey{}) == nil {
		return e.response(req), nil
	}
	if e != nil && e.etag != "" {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", e.etag)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && e != nil {
		resp.Body.Close()
		c.mu.Lock()
		e.fetched = c.now()
		c.mu.Unlock()
		return e.response(req), nil
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > maxCachedBody {
		return nil, errTooLarge
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedEntries {
		c.entries = map[string]*cachedAnswer{}
	}
	c.entries[key] = &cachedAnswer{who: who, status: resp.StatusCode, header: kept(resp.Header), body: body, etag: resp.Header.Get("ETag"), fetched: c.now()}
	c.mu.Unlock()
	return resp, nil
}

// freshKey marks a request context whose answers must be current: a kept answer is
// only used after the forge confirms it (304), never on its age alone. The pages of one
// site and one pull request ask so; the list of all sites takes answers up to ttl old.
type freshKey struct{}

func current(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

type cacheError string

func (e cacheError) Error() string { return string(e) }

const errTooLarge = cacheError("the forge answered with more than 1 MiB; the console reads only small files")

// keptHeaders are the headers a kept answer is served with: what the forge client reads
// of an answer (its type, the next page, the ETag). Rate-limit counts of an old answer
// would be stale anyway.
var keptHeaders = []string{"Content-Type", "Link", "ETag"}

func kept(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range keptHeaders {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func (e *cachedAnswer) response(req *http.Request) *http.Response {
	h := e.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(e.body)))
	return &http.Response{Status: strconv.Itoa(e.status) + " " + http.StatusText(e.status), StatusCode: e.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: int64(len(e.body)), Request: req}
}

// forget drops every answer read with who's token.
func (c *forgeCache) forget(who [16]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.who == who {
			delete(c.entries, k)
		}
	}
}

func whoOf(req *http.Request) [16]byte {
	sum := sha256.Sum256([]byte(req.Header.Get("Authorization")))
	var out [16]byte
	copy(out[:], sum[:])
	return out
}
