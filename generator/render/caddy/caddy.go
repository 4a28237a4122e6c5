// Package caddy renders the Caddyfile: one site block per app host with automatic HTTPS
// (the admin email as the ACME account), certificates kept on the data volume so a rebuilt
// server re-issues nothing, and security headers the app may still override.
package caddy

import (
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Path is where the Caddyfile lives in the site repo.
const Path = "proxy/" + hostcontract.Caddyfile

// Render returns the Caddyfile.
func Render(in render.Input) []byte {
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	fmt.Fprintf(&b, `{
	email %s
	# /data is %s/data on the volume: certificates survive a server rebuild.
	storage file_system /data
}

# Headers every app gets unless it sets its own (the ? prefix). One header directive per
# field: the ? fields of one directive share one condition, all of them absent, so an app
# setting any one of them would get none of the others.
(security_headers) {
	header ?Strict-Transport-Security "max-age=31536000"
	header ?X-Content-Type-Options "nosniff"
	header ?Referrer-Policy "strict-origin-when-cross-origin"
	header ?X-Frame-Options "SAMEORIGIN"
	header -Server
}
`, in.Site.Admin.Email, hostcontract.CaddyData)
	for _, app := range in.Site.Apps {
		a := app.Spec
		fmt.Fprintf(&b, "\n# %s\n%s {\n\timport security_headers\n", a.Title, app.Host)
		// The gate: the app is served once nassella-claim has created its administrator
		// and marked it; until then, and after a failed claim, a page that says so. The
		// file matcher stats the marker, under its root, at every request, so no reload is
		// needed (caddyserver.com/docs/caddyfile/matchers#file; caddy
		// modules/caddyhttp/fileserver/matcher.go). TestComposeLayer proves it with the
		// catalog's Caddy.
		fmt.Fprintf(&b, "\t@claimed file {\n\t\troot %s\n\t\ttry_files /%s\n\t}\n", hostcontract.ClaimsInProxy, app.Name)
		fmt.Fprintf(&b, "\t@failed file {\n\t\troot %s\n\t\ttry_files /%s%s\n\t}\n", hostcontract.ClaimsInProxy, app.Name, hostcontract.ClaimFailed)
		b.WriteString("\thandle @claimed {\n")
		if extra := strings.TrimSpace(render.Fill(a.Caddy, in, app)); extra != "" {
			b.WriteString(retab(extra, 2))
		}
		fmt.Fprintf(&b, "\t\treverse_proxy %s:%d\n\t}\n", app.Name, a.HTTP.Port)
		gate(&b, "@failed", hostcontract.SetupFailed, fmt.Sprintf("Setting up %s on this server did not finish. Its owner can see why with: nassella credentials %s", a.Title, app.Name))
		gate(&b, "", hostcontract.SetupPending, fmt.Sprintf("%s is being set up on this server. Try again in a few minutes.", a.Title))
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// gate writes a handle answering 503 with text while the app is shut.
func gate(b *strings.Builder, matcher, state, text string) {
	if matcher != "" {
		matcher += " "
	}
	fmt.Fprintf(b, "\thandle %s{\n\t\theader Cache-Control no-store\n\t\theader %s %s\n\t\theader Retry-After 60\n\t\trespond %q 503\n\t}\n", matcher, hostcontract.SetupHeader, state, text)
}

// retab re-indents a catalog snippet (indented with spaces, in any unit) with tabs, one
// level deeper than depth, as caddy fmt would.
func retab(snippet string, depth int) string {
	lines := strings.Split(snippet, "\n")
	unit := 0
	for _, l := range lines {
		if n := len(l) - len(strings.TrimLeft(l, " ")); n > 0 && (unit == 0 || n < unit) {
			unit = n
		}
	}
	var b strings.Builder
	for _, l := range lines {
		body := strings.TrimSpace(l)
		if body == "" {
			b.WriteString("\n")
			continue
		}
		level := 0
		if unit > 0 {
			level = (len(l) - len(strings.TrimLeft(l, " "))) / unit
		}
		b.WriteString(strings.Repeat("\t", depth+level) + body + "\n")
	}
	return b.String()
}
