package standin

import (
	"encoding/json"
	"slices"

	"github.com/nassella/nassella/catalog"
)

// The stand-in program's own paths on every app port (cmd/nassella-standin, ClaimPath and
// MailPath there): ClaimPath behaves like an app whose first visitor becomes its
// administrator, MailPath sends one message through the relay its environment gives.
const (
	ClaimPath = "/nassella-standin/claim"
	MailPath  = "/nassella-standin/mail"
)

// EnvMail tells a stand-in where its app finds the site's mail relay: a JSON list of
// mailRoles, one per app service of the image that takes the relay (catalog mail:). With
// it the stand-in sends a test message as the app would (POST /nassella-standin/mail,
// cmd/nassella-standin/mail.go).
const EnvMail = "NASSELLA_STANDIN_MAIL"

// mailRoles is how one app service reads the relay: the environment names of its
// settings, and the settings that say each TLS mode, as the catalog's mail section gives
// them.
type mailRoles struct {
	For string `json:"for"` // app/service
	// Role (host, port, from, user, password) → the app's environment name.
	Env map[string]string `json:"env"`
	// TLS mode (catalog.MailTLSModes) → the environment that says it.
	TLS map[string]map[string]string `json:"tls"`
}

// mailPlaceholders are the relay settings a stand-in reads, by the placeholder the
// catalog fills them with.
var mailPlaceholders = map[string]string{
	"{{mail.host}}": "host", "{{mail.port}}": "port", "{{mail.from}}": "from",
	"{{mail.user}}": "user", "{{mail.password}}": "password",
}

// rolesOf reads service sn's relay settings from app a's mail section; ok is false when
// the service takes no relay, or takes one in a shape the stand-in does not read (a
// setting built of several placeholders, the sender in two halves).
func rolesOf(a *catalog.App, sn string) (mailRoles, bool) {
	m := a.Mail
	if m == nil || !slices.Contains(m.Services, sn) {
		return mailRoles{}, false
	}
	r := mailRoles{For: a.Name + "/" + sn, Env: map[string]string{}, TLS: m.TLS}
	for _, env := range []map[string]string{m.Environment, m.Auth} {
		for k, v := range env {
			if role, ok := mailPlaceholders[v]; ok {
				r.Env[role] = k
			}
		}
	}
	for _, need := range []string{"host", "port", "from"} {
		if r.Env[need] == "" {
			return mailRoles{}, false
		}
	}
	return r, true
}

// MailVar is the EnvMail entry ("NAME=value") of a container running only service sn
// of app a, or "" when the stand-in cannot send its mail.
func MailVar(a *catalog.App, sn string) string {
	r, ok := rolesOf(a, sn)
	if !ok {
		return ""
	}
	return mailVar([]mailRoles{r})
}

func mailVar(rs []mailRoles) string {
	b, _ := json.Marshal(rs) // maps of strings: it cannot fail
	return EnvMail + "=" + string(b)
}
