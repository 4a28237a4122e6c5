package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Mail is how an app sends e-mail through the site's relay (site.yaml mail): which of its
// services take the relay, under which of the app's own environment names, as its own
// documentation gives them.
type Mail struct {
	// Uses is what the app sends e-mail for, in the owner's words ("password resets and
	// invitations"); the README and the doctor name it when the site has no relay.
	Uses string `yaml:"uses"`
	// Services get the relay in their environment. None: the app reads no relay from its
	// environment, and Settings says where the owner sets one in the app.
	Services []string `yaml:"services"`
	// Environment is added to each of Services when the site has a relay. Values may use
	// the mail placeholders ({{mail.host}}, ...) besides the usual ones.
	Environment map[string]string `yaml:"environment"`
	// Auth is added too when the relay has a user: the only place for {{mail.user}} and
	// {{mail.password}}.
	Auth map[string]string `yaml:"auth"`
	// TLS is added for the relay's TLS mode: one entry for each of MailTLSModes.
	TLS map[string]map[string]string `yaml:"tls"`
	// Settings is where in the app the owner sets a mail server, for an app without
	// Services.
	Settings string `yaml:"settings"`
}

// MailTLSModes are the ways a relay takes the connection: STARTTLS on a plain connection
// (port 587), TLS from the first byte (465), or no encryption (25, a relay on a private
// network).
var MailTLSModes = []string{"starttls", "tls", "none"}

// MailPlaceholders are the relay's settings as a mail section's values name them:
// from_local and from_domain are the sender address's two halves, for apps that ask for
// them apart. The password is never a value in a generated file: it becomes a reference
// to the app's secrets on the host.
var MailPlaceholders = []string{"{{mail.host}}", "{{mail.port}}", "{{mail.from}}", "{{mail.from_local}}", "{{mail.from_domain}}", "{{mail.user}}", "{{mail.password}}"}

var mailAuthOnly = map[string]bool{"{{mail.user}}": true, "{{mail.password}}": true}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// mail checks the app's mail section: the services exist, every TLS mode is covered, the
// names are environment names no service sets itself, and user and password appear only
// under auth.
func (c *appCheck) mail() {
	m := c.a.Mail
	if m == nil {
		return
	}
	if strings.TrimSpace(m.Uses) == "" {
		c.add("mail.uses", "mail.uses is required", `say what the app sends e-mail for, like "password resets and invitations"`)
	}
	if len(m.Services) == 0 {
		if m.Settings == "" {
			c.add("mail", "a mail section without services needs settings", "name the services that take the relay, or say in settings where the owner sets a mail server in the app")
		}
		if len(m.Environment)+len(m.Auth)+len(m.TLS) > 0 {
			c.add("mail", "mail.environment, auth and tls need services to go to", "list them under mail.services")
		}
		return
	}
	for i, s := range m.Services {
		if _, ok := c.a.Services[s]; !ok {
			c.add(fmt.Sprintf("mail.services.%d", i), fmt.Sprintf("%q is not one of the app's services", s), "")
		}
	}
	for _, mode := range MailTLSModes {
		if _, ok := m.TLS[mode]; !ok {
			c.add("mail.tls", fmt.Sprintf("mail.tls has no entry for %s", mode), "give each of starttls, tls and none its settings ({} when it needs none)")
		}
	}
	// A name is set once: in environment or auth, or in the TLS modes (each its own).
	seen := map[string]string{}
	add := func(path string, env map[string]string, auth bool) {
		for _, k := range sortedKeys(env) {
			p := path + "." + k
			if !envNameRe.MatchString(k) {
				c.add(p, fmt.Sprintf("%q is not an environment variable name", k), "")
			}
			for _, s := range m.Services {
				if svc := c.a.Services[s]; svc != nil {
					if _, dup := svc.Environment[k]; dup {
						c.add(p, fmt.Sprintf("%s is also in services.%s.environment", k, s), "set it in one place")
					}
				}
			}
			if other, dup := seen[k]; dup {
				c.add(p, fmt.Sprintf("%s is also set in %s", k, other), "set it in one place")
			}
			if !strings.HasPrefix(path, "mail.tls.") {
				seen[k] = path
			}
			c.mailValue(p, env[k], auth)
		}
	}
	add("mail.environment", m.Environment, false)
	add("mail.auth", m.Auth, true)
	modes := make([]string, 0, len(m.TLS))
	for mode := range m.TLS {
		modes = append(modes, mode)
	}
	sort.Strings(modes)
	for _, mode := range modes {
		known := false
		for _, k := range MailTLSModes {
			known = known || mode == k
		}
		if !known {
			c.add("mail.tls."+mode, fmt.Sprintf("%q is not a TLS mode", mode), "use starttls, tls and none")
			continue
		}
		add("mail.tls."+mode, m.TLS[mode], false)
	}
}

// mailValue checks one value of a mail section: known placeholders, user and password
// only under auth, and no ${X}: the relay's password is the only secret, and the
// generator refers to it itself.
func (c *appCheck) mailValue(path, v string, auth bool) {
	for _, p := range placeholder.FindAllString(v, -1) {
		known := false
		for _, k := range append(append([]string{}, Placeholders...), MailPlaceholders...) {
			known = known || p == k
		}
		switch {
		case !known:
			c.add(path, fmt.Sprintf("unknown placeholder %s", p), "use one of "+strings.Join(MailPlaceholders, ", ")+" or "+strings.Join(Placeholders, ", "))
		case mailAuthOnly[p] && !auth:
			c.add(path, fmt.Sprintf("%s is empty when the relay has no user", p), "move it under mail.auth")
		}
	}
	if refs := interpolations(v); len(refs) > 0 {
		c.add(path, fmt.Sprintf("${%s} in a mail setting", refs[0]), "use {{mail.password}} for the relay's password; the app's own secrets go in its services' environment")
	}
}
