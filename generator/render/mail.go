package render

import (
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
)

// MailEnv is the environment one service of an app gets for the site's mail relay, with
// every placeholder filled: nil when the site has no relay or the service takes none. The
// password is a reference to the app's secrets file on the host (${NASSELLA_SMTP_PASSWORD}),
// never the password itself.
func MailEnv(in Input, app site.App, service string) map[string]string {
	m, r := app.Spec.Mail, in.Site.Mail
	if m == nil || r == nil || !takesMail(app, service) {
		return nil
	}
	local, domain := r.FromParts()
	// Compose reads $ in compose.yaml as a variable; site.yaml's values are literal.
	lit := func(s string) string { return strings.ReplaceAll(s, "$", "$$") }
	fill := strings.NewReplacer(
		"{{mail.host}}", lit(r.Host),
		"{{mail.port}}", strconv.Itoa(r.Port),
		"{{mail.from}}", lit(r.From),
		"{{mail.from_local}}", lit(local),
		"{{mail.from_domain}}", lit(domain),
		"{{mail.user}}", lit(r.User),
		"{{mail.password}}", "${"+hostcontract.MailPasswordVar+"}",
	)
	out := map[string]string{}
	add := func(env map[string]string) {
		for k, v := range env {
			out[k] = Fill(fill.Replace(v), in, app)
		}
	}
	add(m.Environment)
	if r.User != "" {
		add(m.Auth)
	}
	add(m.TLS[r.TLSMode()])
	return out
}

// MailPassword says the app logs in to the site's relay, so its secrets file needs the
// relay's password.
func MailPassword(in Input, app site.App) bool {
	m := app.Spec.Mail
	return m != nil && len(m.Services) > 0 && len(m.Auth) > 0 && in.Site.Mail != nil && in.Site.Mail.User != ""
}

func takesMail(app site.App, service string) bool {
	for _, s := range app.Spec.Mail.Services {
		if s == service {
			return true
		}
	}
	return false
}
