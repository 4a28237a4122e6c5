package rehearsal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/standin"
)

// standinClaims replaces each app's claim steps with the one its stand-in understands:
// the first POST to the claim path makes "admin-APP" the administrator. The real apps'
// steps are proven against their APIs in generator/render/butane (claim_*_test.go); here
// the runner, the gate and Docker are real. broken's claim asks a path the stand-in
// answers 200 to, not 201, so its claim fails without creating an administrator.
func (h *composeHost) standinClaims(broken string) {
	h.t.Helper()
	for _, a := range h.site.Site.Apps {
		p := path.Join(hostcontract.AppsConfig, a.Name, hostcontract.ClaimFile)
		h.write(p, []byte(standinClaim(h.t, a.Name, h.read(p), a.Spec.Claim, a.Name == broken)), 0o644)
	}
}

// standinClaim is the claim file body of app with its steps replaced by the stand-in's.
func standinClaim(t *testing.T, app, body string, claim *catalog.Claim, broken bool) string {
	t.Helper()
	i := strings.Index(body, "steps() {")
	if i < 0 {
		t.Fatalf("the claim file of %s has no steps", app)
	}
	pw := ""
	if claim != nil && claim.Password != "" {
		pw = "${" + claim.Password + "}"
	}
	target := standin.ClaimPath
	if broken {
		target += "-elsewhere"
	}
	return body[:i] + fmt.Sprintf("steps() {\n  step_http POST %s --status 201 --json '{\"login\": \"admin-%s\", \"password\": \"%s\"}'\n}\n", target, app, pw)
}

// claimUnits starts every app's claim unit, as systemd does after the app's unit, and
// returns those that failed with their output.
func (h *composeHost) claimUnits(ctx context.Context) map[string]string {
	h.t.Helper()
	failed := map[string]string{}
	for _, a := range h.site.Site.Apps {
		for _, l := range h.units[hostcontract.ClaimUnitName(a.Name)].start {
			if out, errOut, err := h.docker.Run(ctx, nil, "sh", "-c", l); err != nil {
				failed[a.Name] = string(out) + string(errOut)
			}
		}
	}
	return failed
}

// visit asks an app's host for p through c as a visitor would: the status, the gate's
// header and the body.
func visit(ctx context.Context, c *http.Client, method string, tg health.Target, p, body string) (int, string, string, error) {
	req, _ := http.NewRequestWithContext(ctx, method, "https://"+tg.Host+p, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get(hostcontract.SetupHeader), string(b), nil
}

// checkShut waits until Caddy answers for every app and checks that what it answers is
// the gate in state, never the app: a visitor's attempt to become the administrator
// does not reach it.
func (h *composeHost) checkShut(ctx context.Context, c *http.Client, targets []health.Target, state string) {
	h.t.Helper()
	for _, tg := range targets {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			status, setup, body, err := visit(ctx, c, http.MethodPost, tg, standin.ClaimPath, `{"login": "intruder", "password": "x"}`)
			if err == nil {
				if status != http.StatusServiceUnavailable || setup != state || strings.Contains(body, "stand-in") {
					h.t.Errorf("%s: a visitor got %d (%s: %q) %q; want the %s page", tg.App, status, hostcontract.SetupHeader, setup, body, state)
				}
				break
			}
			if time.Now().After(deadline) {
				h.t.Fatalf("%s: Caddy does not answer: %v\n%s", tg.App, err, h.diagnose())
			}
			time.Sleep(time.Second)
		}
	}
}

// checkClaimed checks that each app's administrator is the claim's, and that a visitor
// can no longer become one.
func checkClaimed(ctx context.Context, t *testing.T, c *http.Client, targets []health.Target) {
	t.Helper()
	for _, tg := range targets {
		status, _, body, err := visit(ctx, c, http.MethodGet, tg, standin.ClaimPath, "")
		var got struct{ Admin string }
		json.Unmarshal([]byte(body), &got)
		if err != nil || status != http.StatusOK || got.Admin != "admin-"+tg.App {
			t.Errorf("%s: its administrator is %q (%d, %v), want admin-%s", tg.App, got.Admin, status, err, tg.App)
		}
		if status, _, body, err := visit(ctx, c, http.MethodPost, tg, standin.ClaimPath, `{"login": "intruder", "password": "x"}`); err != nil || status != http.StatusForbidden {
			t.Errorf("%s: a visitor trying to become its administrator got %d %q (%v), want 403", tg.App, status, body, err)
		}
	}
}
