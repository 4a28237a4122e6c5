package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/registry"
	"github.com/nassella/nassella/internal/testenv/registrytest"
)

// waits is a Client.Sleep that records the waits instead of waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

func newClient(w *waits) *registry.Client {
	return &registry.Client{UserAgent: "nassella-test", Sleep: w.sleep}
}

func TestResolveAndTags(t *testing.T) {
	srv := registrytest.New()
	defer srv.Close()
	oci, err := srv.Push("test/vaultwarden", "1.34.3", "1.35.0", "1.36.0-rc.1", "2.0.0", "latest")
	if err != nil {
		t.Fatal(err)
	}
	list, err := srv.PushDockerList("test/caddy", "2.10.2")
	if err != nil {
		t.Fatal(err)
	}
	single, err := srv.PushSingle("test/caddy", "2.10.3")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := newClient(&waits{})
	c.PageSize = 2 // five tags: three pages

	before := srv.Stats()
	tags, err := c.Tags(ctx, srv.Host+"/test/vaultwarden")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.34.3", "1.35.0", "1.36.0-rc.1", "2.0.0", "latest"}; !reflect.DeepEqual(tags, want) {
		t.Errorf("Tags = %v, want %v", tags, want)
	}
	pages := 0
	for _, r := range srv.Stats().Requests[len(before.Requests):] {
		if r == "GET /v2/test/vaultwarden/tags/list 200" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("read %d pages of tags, want 3 (two tags a page)", pages)
	}

	tests := []struct {
		image, tag, digest, mediaType string
		index                         bool
	}{
		{"test/vaultwarden", "1.35.0", oci["1.35.0"], registry.MediaOCIIndex, true},
		{"test/caddy", "2.10.2", list["2.10.2"], registry.MediaDockerList, true},
		{"test/caddy", "2.10.3", single, registry.MediaDockerManifest, false},
	}
	for _, tt := range tests {
		d, err := c.Resolve(ctx, srv.Host+"/"+tt.image, tt.tag)
		if err != nil {
			t.Errorf("Resolve %s:%s: %v", tt.image, tt.tag, err)
			continue
		}
		if d.Digest != tt.digest || d.MediaType != tt.mediaType || d.IsIndex() != tt.index {
			t.Errorf("Resolve %s:%s = %+v, want digest %s, media type %s", tt.image, tt.tag, d, tt.digest, tt.mediaType)
		}
	}
	// One token per repository, reused for every later request.
	if got := srv.Stats().TokensIssued - before.TokensIssued; got != 2 {
		t.Errorf("the client fetched %d tokens for two repositories, want 2", got)
	}

	_, err = c.Resolve(ctx, srv.Host+"/test/vaultwarden", "9.9.9")
	var nf *registry.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "test/vaultwarden:9.9.9: 404 Not Found") {
		t.Errorf("Resolve of a missing tag: %v, want a NotFoundError naming the image", err)
	}
}

func TestRateLimit(t *testing.T) {
	srv := registrytest.New()
	defer srv.Close()
	digests, err := srv.Push("test/app", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		limit      int
		retryAfter string
		waits      []time.Duration
		err        string
	}{
		{name: "seconds", limit: 1, retryAfter: "7", waits: []time.Duration{7 * time.Second}},
		{name: "date", limit: 1, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat), waits: []time.Duration{90 * time.Second}},
		{name: "no header: doubling backoff", limit: 2, waits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "too often", limit: 4, retryAfter: "1", waits: []time.Duration{time.Second, time.Second, time.Second},
			err: "rate limited (429 Too Many Requests) 4 times in a row; try again in 1s, or later"},
		{name: "too long", limit: 1, retryAfter: "3600", err: "asks to wait 1h0m0s, longer than 2m0s; try again at 2026-12-03T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &waits{}
			c := newClient(w)
			c.Now = func() time.Time { return now }
			srv.RateLimit(tt.limit, tt.retryAfter)
			defer srv.RateLimit(0, "")
			d, err := c.Resolve(context.Background(), srv.Host+"/test/app", "1.0.0")
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Resolve: %v", err)
			case tt.err == "" && d.Digest != digests["1.0.0"]:
				t.Errorf("digest %s, want %s", d.Digest, digests["1.0.0"])
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Resolve error %v, want one containing %q", err, tt.err)
			}
			if !reflect.DeepEqual(w.d, tt.waits) {
				t.Errorf("waited %v, want %v", w.d, tt.waits)
			}
		})
	}
}

func TestAuthErrors(t *testing.T) {
	tests := []struct {
		name      string
		challenge string
		want      string
	}{
		{"basic", `Basic realm="private"`, "asks for Basic authentication; nassella reads public images anonymously"},
		{"none", "", "answered 401 without saying how to log in"},
		{"realm not https", `Bearer realm="http://auth.example.org/token",service="x"`, `names the token service "http://auth.example.org/token", which is not an https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.challenge != "" {
					w.Header().Set("WWW-Authenticate", tt.challenge)
				}
				w.WriteHeader(http.StatusUnauthorized)
			}))
			defer srv.Close()
			_, err := newClient(&waits{}).Tags(context.Background(), strings.TrimPrefix(srv.URL, "http://")+"/private/app")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseRepository(t *testing.T) {
	tests := []struct {
		in, host, path, err string
	}{
		{in: "docker.io/library/postgres", host: "registry-1.docker.io", path: "library/postgres"},
		{in: "ghcr.io/immich-app/immich-server", host: "ghcr.io", path: "immich-app/immich-server"},
		{in: "127.0.0.1:5000/test/app", host: "127.0.0.1:5000", path: "test/app"},
		{in: "library/postgres", err: "does not start with a registry host"},
		{in: "postgres", err: "does not start with a registry host"},
	}
	for _, tt := range tests {
		r, err := registry.ParseRepository(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRepository(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.Host != tt.host || r.Path != tt.path {
			t.Errorf("ParseRepository(%q) = %+v, %v; want host %s path %s", tt.in, r, err, tt.host, tt.path)
		}
	}
}
