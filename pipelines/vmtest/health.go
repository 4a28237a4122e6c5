package vmtest

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nassella/nassella/internal/health"
)

// WaitHealthy asks every app's health check over HTTPS, each host's connections sent to
// addr (the VM's forwarded 443) and only roots trusted (Caddy's internal CA of the VM),
// until all answer as expected or ctx ends; the error names each app that did not, with
// its last answer.
func WaitHealthy(ctx context.Context, addr string, roots *x509.CertPool, targets []health.Target, progress io.Writer) error {
	resolve := map[string]string{}
	for _, t := range targets {
		resolve[t.Host] = addr
	}
	timeout := 20 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	results := health.Check(ctx, targets, health.Options{Resolve: resolve, RootCAs: roots,
		Timeout: timeout, Interval: 3 * time.Second, Progress: progress})
	failed := health.Failed(results)
	if len(failed) == 0 {
		return nil
	}
	var b strings.Builder
	for _, r := range failed {
		fmt.Fprintf(&b, "\n  %s: GET %s: %s (%d tries)", r.App, r.URL(), r.Last, r.Attempts)
	}
	return fmt.Errorf("apps not healthy through Caddy:%s", b.String())
}
