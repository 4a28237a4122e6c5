package health_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/testca"
)

// A real HTTPS server on 127.0.0.1 with its own CA answers for two app hosts; one becomes
// healthy after a few tries, one never does.
func TestCheckAgainstRealHTTPS(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	srv, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "vault.acme.example" && r.URL.Path == "/alive":
			if tries.Add(1) < 3 {
				w.WriteHeader(http.StatusBadGateway) // Caddy before the app is up
				return
			}
			w.WriteHeader(http.StatusOK)
		case r.Host == "status.acme.example":
			http.Redirect(w, r, "/dashboard", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}), "vault.acme.example", "status.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	var progress strings.Builder
	opt := health.Options{
		Resolve:  map[string]string{"vault.acme.example": addr, "status.acme.example": addr},
		RootCAs:  ca.Pool,
		Timeout:  3 * time.Second,
		Interval: 50 * time.Millisecond,
		Progress: &progress,
	}
	results := health.Check(context.Background(), []health.Target{
		{App: "vaultwarden", Host: "vault.acme.example", Path: "/alive", Status: 200},
		{App: "uptime-kuma", Host: "status.acme.example", Path: "/", Status: 200},
	}, opt)
	failed := health.Failed(results)
	if len(failed) != 1 || failed[0].App != "uptime-kuma" || !strings.Contains(failed[0].Last, "answered 302, expected 200") {
		t.Fatalf("failed = %+v", failed)
	}
	if results[1].App != "vaultwarden" || !results[1].OK || results[1].Attempts != 3 {
		t.Fatalf("vaultwarden = %+v", results[1])
	}
	if !strings.Contains(progress.String(), "healthy    vaultwarden") || !strings.Contains(progress.String(), "UNHEALTHY  uptime-kuma") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

// A server whose certificate the client does not trust never counts as healthy.
func TestUntrustedCertificateFails(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "a.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	results := health.Check(context.Background(), []health.Target{{App: "a", Host: "a.example", Path: "/", Status: 200}},
		health.Options{Resolve: map[string]string{"a.example": addr}, Timeout: 300 * time.Millisecond, Interval: 50 * time.Millisecond})
	if results[0].OK || !strings.Contains(results[0].Last, "certificate") {
		t.Fatalf("result %+v", results[0])
	}
}

// An app the proxy keeps shut (its administrator being created, or that failed) is
// reported as such, not as a bare 503.
func TestCheckSaysWhyAnAppIsShut(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case "git.acme.example":
			w.Header().Set(hostcontract.SetupHeader, hostcontract.SetupPending)
		case "photos.acme.example":
			w.Header().Set(hostcontract.SetupHeader, hostcontract.SetupFailed)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}), "git.acme.example", "photos.acme.example", "media.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	results := health.Check(context.Background(), []health.Target{
		{App: "forgejo", Host: "git.acme.example", Path: "/api/healthz", Status: 200},
		{App: "immich", Host: "photos.acme.example", Path: "/api/server/ping", Status: 200},
		{App: "jellyfin", Host: "media.acme.example", Path: "/health", Status: 200},
	}, health.Options{Resolve: map[string]string{"git.acme.example": addr, "photos.acme.example": addr, "media.acme.example": addr},
		RootCAs: ca.Pool, Timeout: time.Second, Interval: 100 * time.Millisecond})
	want := map[string]string{
		"forgejo":  "not open yet: the server is still creating its administrator",
		"immich":   "kept shut: creating its administrator failed (nassella credentials immich says why)",
		"jellyfin": "answered 503, expected 200",
	}
	setup := map[string]string{"forgejo": hostcontract.SetupPending, "immich": hostcontract.SetupFailed}
	for _, r := range results {
		if r.OK || r.Last != want[r.App] || r.Setup != setup[r.App] {
			t.Errorf("%s: ok %v, %q, setup %q; want %q, %q", r.App, r.OK, r.Last, r.Setup, want[r.App], setup[r.App])
		}
	}
}
