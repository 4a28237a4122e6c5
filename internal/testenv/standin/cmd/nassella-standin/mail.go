package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"sort"
	"strings"
	"time"
)

// MailPath is where the stand-in sends e-mail as its app would: a POST with
// {"to": [...], "ca": "PEM"} makes it read the site's mail relay from the container's
// environment, under the app's own names (envMail, from the catalog's mail section),
// connect in the TLS mode the environment says, log in when a user is set, and send one
// message from the relay's sender to "to". It answers 200 with what it did, 502 with the
// relay's error, 501 when its app sends no mail it can read. "ca" is a certificate the
// relay's may chain to besides the image's CA certificates: a test relay's own CA. The
// password is never in an answer or a log line.
const MailPath = "/nassella-standin/mail"

// envMail is internal/testenv/standin's EnvMail: a JSON list of mailRoles.
const envMail = "NASSELLA_STANDIN_MAIL"

// mailRoles mirrors internal/testenv/standin's: an app service's environment names of
// the relay's settings (role → name) and the settings that say each TLS mode.
type mailRoles struct {
	For string                       `json:"for"`
	Env map[string]string            `json:"env"`
	TLS map[string]map[string]string `json:"tls"`
}

// relay is the site's mail relay as the app's environment gives it.
type relay struct {
	For, Host, Port, TLS, User, From string
	password                         string
}

// mailRelay reads the relay from the environment: the first app service of envMail whose
// host is set.
func mailRelay() (relay, error) {
	var list []mailRoles
	if v := os.Getenv(envMail); v != "" {
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return relay{}, fmt.Errorf("%s: %v", envMail, err)
		}
	}
	for _, r := range list {
		get := func(role string) string { return os.Getenv(r.Env[role]) }
		if r.Env["host"] == "" || get("host") == "" {
			continue
		}
		mode, err := tlsMode(r.TLS)
		if err != nil {
			return relay{}, fmt.Errorf("%s: %w", r.For, err)
		}
		return relay{For: r.For, Host: get("host"), Port: get("port"), TLS: mode, User: get("user"), From: get("from"), password: get("password")}, nil
	}
	return relay{}, errNoRelay
}

var errNoRelay = errors.New("no mail relay in this container's environment (none of " + envMail + "'s services has its host set)")

// tlsMode is the mode whose settings the environment has; the modes with more settings
// are tried first, so a mode of none ({}) is what is left.
func tlsMode(modes map[string]map[string]string) (string, error) {
	names := make([]string, 0, len(modes))
	for m := range modes {
		names = append(names, m)
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := len(modes[names[i]]), len(modes[names[j]]); a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	for _, m := range names {
		ok := true
		for k, v := range modes[m] {
			ok = ok && os.Getenv(k) == v
		}
		if ok {
			return m, nil
		}
	}
	return "", fmt.Errorf("the environment says none of the TLS modes %v", names)
}

// send delivers one message to to through r, trusting the image's CA certificates and ca.
func (r relay) send(to []string, ca []byte, subject string) error {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if len(ca) > 0 && !pool.AppendCertsFromPEM(ca) {
		return errors.New("ca holds no PEM certificate")
	}
	cfg := &tls.Config{ServerName: r.Host, RootCAs: pool}
	addr := net.JoinHostPort(r.Host, r.Port)
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	switch r.TLS {
	case "tls":
		conn, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	case "starttls", "none":
		conn, err = d.Dial("tcp", addr)
	default:
		return fmt.Errorf("TLS mode %q is not one of starttls, tls, none", r.TLS)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, r.Host)
	if err != nil {
		return err
	}
	if r.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%s offers no STARTTLS", addr)
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if r.User != "" {
		// PlainAuth sends the password only over TLS (or to localhost).
		if err := c.Auth(smtp.PlainAuth("", r.User, r.password, r.Host)); err != nil {
			return fmt.Errorf("logging in as %s: %w", r.User, err)
		}
	}
	if err := c.Mail(r.From); err != nil {
		return fmt.Errorf("MAIL FROM:<%s>: %w", r.From, err)
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return fmt.Errorf("RCPT TO:<%s>: %w", a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n\r\nSent by nassella's stand-in for %s through the site's mail relay.\r\n",
		r.From, strings.Join(to, ", "), subject, time.Now().UTC().Format(time.RFC1123Z), r.For)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// sendMail is MailPath's handler.
func sendMail(w http.ResponseWriter, req *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if req.Method != http.MethodPost {
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "POST"})
		return
	}
	var in struct {
		To []string `json:"to"`
		CA string   `json:"ca"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 64<<10)).Decode(&in); err != nil || len(in.To) == 0 {
		reply(http.StatusBadRequest, map[string]string{"error": `want {"to": ["someone@example.org"], "ca": "PEM, optional"}`})
		return
	}
	r, err := mailRelay()
	if errors.Is(err, errNoRelay) {
		reply(http.StatusNotImplemented, map[string]string{"error": err.Error()})
		return
	} else if err != nil {
		reply(http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	did := map[string]any{"standin": r.For, "relay": net.JoinHostPort(r.Host, r.Port), "tls": r.TLS, "user": r.User, "from": r.From, "to": in.To}
	if err := r.send(in.To, []byte(in.CA), "nassella stand-in: mail from "+r.For); err != nil {
		did["error"] = err.Error()
		reply(http.StatusBadGateway, did)
		return
	}
	reply(http.StatusOK, did)
}
