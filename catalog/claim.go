package catalog

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Claim is how an app gets its administrator on the host, once, after it first answers
// its health check and before anyone can reach it: until the claim has succeeded the
// proxy answers the app's address with a "being set up" page, so an app whose first
// visitor would become its administrator is never open to that visitor.
type Claim struct {
	// Login is what the owner signs in with afterwards (placeholders such as
	// {{admin_email}} are filled when the site is generated).
	Login string `yaml:"login"`
	// Password names the app's secret holding the administrator's password; empty for an
	// app whose owner chooses their own (shown to the owner by `nassella credentials`).
	Password string `yaml:"password"`
	// AdminPage, when set, is the app's page (a path) that Password opens: a token for
	// the app's settings, not an account's password. The owner registers their own
	// account at the app with Login and a password they choose (Vaultwarden's /admin).
	AdminPage string `yaml:"admin_page"`
	// Steps run in order on the host; each must succeed. None for an app that creates its
	// administrator from its environment: the claim then only waits for it to be healthy.
	Steps []ClaimStep `yaml:"steps"`
}

// ClaimStep is one command in a container or one HTTP request to the app.
type ClaimStep struct {
	Exec *ClaimExec `yaml:"exec"`
	HTTP *ClaimHTTP `yaml:"http"`
}

// ClaimExec runs a command in one of the app's containers (docker compose exec -T).
type ClaimExec struct {
	Service string   `yaml:"service"`
	User    string   `yaml:"user"`
	Command []string `yaml:"command"`
}

// ClaimHTTP is a request to the app's http service, straight to its container (not
// through the proxy, which keeps the app shut until the claim is done).
type ClaimHTTP struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	JSON    string            `yaml:"json"` // body sent as application/json
	Form    string            `yaml:"form"` // body sent as application/x-www-form-urlencoded
	Headers map[string]string `yaml:"headers"`
	Status  []int             `yaml:"status"` // the answers that mean the step worked
	// Expect is an extended regular expression (grep -E) the answer's body must match.
	Expect string `yaml:"expect"`
	// Repeat sends a GET again, up to this many times, while its answer lacks Expect: a
	// long-polled stream answers with what it has so far.
	Repeat int `yaml:"repeat"`
	// Save keeps a value from the answer for later steps: NAME → an extended regular
	// expression (sed -E) with one group, whose match later steps read as ${NAME}.
	Save map[string]string `yaml:"save"`
}

// claimRefRe is a run-time value in a claim step: one of the app's secrets or a value an
// earlier step saved. The host substitutes it literally, never through a shell.
var claimRefRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ClaimRefs returns the run-time values s refers to.
func ClaimRefs(s string) []string {
	var out []string
	for _, m := range claimRefRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

var (
	claimPathRe   = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$`)
	headerNameRe  = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	claimMethods  = map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true}
	saveNameRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	oneGroupRegex = func(re string) bool {
		r, err := regexp.Compile(re)
		return err == nil && r.NumSubexp() == 1
	}
)

// claim checks the app's claim: a login, a declared password secret, and steps whose
// every run-time value exists by the time the step runs.
func (c *appCheck) claim() {
	a, add := c.a, c.add
	if a.Claim == nil {
		add("name", "the app has no claim", "add claim: with the administrator's login, its password secret and the steps that create it (catalog/claim.go), so the app is never open to whoever reaches it first")
		return
	}
	cl := a.Claim
	if strings.TrimSpace(cl.Login) == "" {
		add("claim.login", "claim.login is required", "the name or e-mail the owner signs in with")
	}
	checkPlaceholders(c.doc, "claim.login", cl.Login, c.errs)
	if cl.Password != "" && !c.secrets[cl.Password] {
		add("claim.password", fmt.Sprintf("%q is not one of the app's secrets", cl.Password), "declare it under secrets")
	}
	if cl.AdminPage != "" && (cl.Password == "" || !claimPathRe.MatchString(cl.AdminPage)) {
		add("claim.admin_page", "claim.admin_page must be a path such as /admin, with claim.password naming the token it takes", "")
	}
	known := map[string]bool{}
	for k := range c.secrets {
		known[k] = true
	}
	for i, st := range cl.Steps {
		p := "claim.steps." + strconv.Itoa(i)
		switch {
		case (st.Exec == nil) == (st.HTTP == nil):
			add(p, "a claim step is either exec or http", "")
		case st.Exec != nil:
			c.claimExec(p+".exec", st.Exec, known)
		default:
			c.claimHTTP(p+".http", st.HTTP, known)
		}
	}
}

func (c *appCheck) claimExec(p string, e *ClaimExec, known map[string]bool) {
	if _, ok := c.a.Services[e.Service]; !ok {
		c.add(p+".service", fmt.Sprintf("%q is not one of the app's services", e.Service), "")
	}
	if len(e.Command) == 0 {
		c.add(p+".command", "an exec step needs a command", "")
	}
	for i, v := range e.Command {
		c.claimValue(fmt.Sprintf("%s.command.%d", p, i), v, known)
	}
}

func (c *appCheck) claimHTTP(p string, h *ClaimHTTP, known map[string]bool) {
	add := c.add
	if !claimMethods[h.Method] {
		add(p+".method", fmt.Sprintf("method %q is not one of GET, POST, PUT, PATCH, DELETE", h.Method), "")
	}
	// A run-time value (an id saved by an earlier step) may be part of the path.
	if !claimPathRe.MatchString(claimRefRe.ReplaceAllString(h.Path, "x")) {
		add(p+".path", fmt.Sprintf("path %q must start with / and hold no spaces or quotes", h.Path), "")
	}
	c.claimValue(p+".path", h.Path, known)
	if h.JSON != "" && h.Form != "" {
		add(p+".json", "a step sends json or form, not both", "")
	}
	c.claimValue(p+".json", h.JSON, known)
	c.claimValue(p+".form", h.Form, known)
	for _, k := range sortedKeys(h.Headers) {
		if !headerNameRe.MatchString(k) {
			add(p+".headers."+k, fmt.Sprintf("%q is not a header name", k), "")
		}
		if strings.ContainsAny(h.Headers[k], "\r\n") {
			add(p+".headers."+k, "a header value is one line", "")
		}
		c.claimValue(p+".headers."+k, h.Headers[k], known)
	}
	if len(h.Status) == 0 {
		add(p+".status", "status lists the answers that mean the step worked", "for example [200]")
	}
	for i, s := range h.Status {
		if s < 100 || s > 599 {
			add(fmt.Sprintf("%s.status.%d", p, i), "status must be HTTP status codes", "")
		}
	}
	if h.Expect != "" {
		if _, err := regexp.Compile(h.Expect); err != nil {
			add(p+".expect", fmt.Sprintf("expect is not a regular expression: %v", err), "")
		}
		c.ere(p+".expect", h.Expect)
	}
	if h.Repeat != 0 && (h.Repeat < 0 || h.Repeat > 20 || h.Method != http.MethodGet || h.Expect == "") {
		add(p+".repeat", "repeat is 1 to 20, for a GET with expect", "only a request that changes nothing may be sent again")
	}
	names := make([]string, 0, len(h.Save))
	for k := range h.Save {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !saveNameRe.MatchString(k) {
			add(p+".save."+k, fmt.Sprintf("saved value %q must be lower_case (secrets are UPPER_CASE)", k), "")
		}
		if !oneGroupRegex(h.Save[k]) {
			add(p+".save."+k, "save needs a regular expression with exactly one group ( )", "")
		}
		c.ere(p+".save."+k, h.Save[k])
		known[k] = true
	}
}

// ereOnly are what Go's regular expressions take but the host's grep -E and sed -E
// (POSIX extended) do not, or read otherwise.
var ereOnly = []string{`\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\b`, `(?`, `*?`, `+?`, `??`, `}?`, "\x01"}

// ere checks that re means the same to the host's tools as to Go.
func (c *appCheck) ere(p, re string) {
	for _, x := range ereOnly {
		if strings.Contains(re, x) {
			c.add(p, fmt.Sprintf("%q is not POSIX extended regular expression syntax, which the host's grep -E and sed -E read", x), "write classes like [0-9] and [[:space:]], and no (?...) groups or lazy quantifiers")
		}
	}
}

// claimValue checks the placeholders and run-time values of one field of a step: a
// value must be a secret or saved by an earlier step.
func (c *appCheck) claimValue(p, v string, known map[string]bool) {
	checkPlaceholders(c.doc, p, v, c.errs)
	for _, ref := range ClaimRefs(v) {
		if !known[ref] {
			c.add(p, fmt.Sprintf("${%s} is neither one of the app's secrets nor saved by an earlier step", ref), "")
		}
	}
	if strings.ContainsRune(v, 0) {
		c.add(p, "claim values must be text", "")
	}
}
