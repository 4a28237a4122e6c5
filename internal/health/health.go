// Package health checks from outside that a site's apps work: an HTTPS GET of each app's
// health path must answer the status its catalog entry names, within a deadline. It is what
// `nassella apply` waits for before calling a change good, and what triggers a rollback.
package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/nassella/nassella/internal/hostcontract"
)

// Target is one app to check.
type Target struct {
	App    string
	Host   string // e.g. vault.acme.example
	Path   string // e.g. /alive
	Status int    // expected status code
}

// URL is the address checked.
func (t Target) URL() string { return "https://" + t.Host + t.Path }

// Options tune a check.
type Options struct {
	// Resolve sends a host's connections to another address ("host" → "ip:port"), e.g. the
	// server's IP before DNS has spread, or a test server.
	Resolve map[string]string
	// RootCAs trusts these CAs instead of the system's (a test CA).
	RootCAs *x509.CertPool
	// Timeout is how long every app has to become healthy in total.
	Timeout time.Duration
	// Interval is the pause between tries of one app.
	Interval time.Duration
	// Progress receives a line whenever an app's state changes; may be nil.
	Progress io.Writer
}

// Result is one app's outcome.
type Result struct {
	Target
	OK       bool
	Attempts int
	Elapsed  time.Duration
	Last     string // the last answer or error, for the report
	// Setup is the proxy's hostcontract.SetupHeader in the last answer: the app is shut
	// while its administrator is being created (SetupPending) or after that failed.
	Setup string
}

// Check waits until every target answers as expected or the timeout passes, and returns a
// result per target, sorted by app.
func Check(ctx context.Context, targets []Target, opt Options) []Result {
	if opt.Timeout == 0 {
		opt.Timeout = 15 * time.Minute
	}
	if opt.Interval == 0 {
		opt.Interval = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	client := newClient(opt)
	start := time.Now()
	results := make([]Result, len(targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Result{Target: t}
			for {
				r.Attempts++
				last, setup := probe(ctx, client, t)
				if last != "" && ctx.Err() != nil && r.Last != "" {
					// Cut short by the deadline: the previous answer says more.
					break
				}
				r.Last, r.Setup = last, setup
				if r.Last == "" {
					r.OK = true
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(opt.Interval):
					continue
				}
				break
			}
			r.Elapsed = time.Since(start).Round(100 * time.Millisecond)
			mu.Lock()
			results[i] = r
			if opt.Progress != nil {
				if r.OK {
					fmt.Fprintf(opt.Progress, "  healthy    %-15s %s (%s, %d tries)\n", t.App, t.URL(), r.Elapsed, r.Attempts)
				} else {
					fmt.Fprintf(opt.Progress, "  UNHEALTHY  %-15s %s: %s (gave up after %s, %d tries)\n", t.App, t.URL(), r.Last, r.Elapsed, r.Attempts)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].App < results[j].App })
	return results
}

// Failed returns the results that did not pass.
func Failed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.OK {
			out = append(out, r)
		}
	}
	return out
}

// probe returns "" when the target answers as expected, or what went wrong, and the
// proxy's setup state when it keeps the app shut.
func probe(ctx context.Context, c *http.Client, t Target) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL(), nil)
	if err != nil {
		return err.Error(), ""
	}
	req.Header.Set("User-Agent", "nassella-health-check")
	resp, err := c.Do(req)
	if err != nil {
		return err.Error(), ""
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode == t.Status {
		return "", ""
	}
	// The proxy keeps an app shut until its administrator exists (hostcontract.SetupHeader).
	switch setup := resp.Header.Get(hostcontract.SetupHeader); setup {
	case hostcontract.SetupPending:
		return "not open yet: the server is still creating its administrator", setup
	case hostcontract.SetupFailed:
		return "kept shut: creating its administrator failed (nassella credentials " + t.App + " says why)", setup
	}
	return fmt.Sprintf("answered %d, expected %d", resp.StatusCode, t.Status), ""
}

func newClient(opt Options) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil {
				if to, ok := opt.Resolve[host]; ok {
					addr = to
				}
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: opt.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
	}
	return &http.Client{
		Transport: tr,
		// The status of the health path itself counts, not where it redirects to.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
