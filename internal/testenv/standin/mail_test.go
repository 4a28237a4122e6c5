package standin_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/smtpsink"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/testca"
)

// TestMail: every app service whose relay settings the stand-in reads sends a message
// through a relay as its environment gives it (filled in from the catalog's mail section
// as the generator fills it): over STARTTLS or TLS with a login, or plainly without one; a
// wrong password is the relay's refusal, and never in the answer.
func TestMail(t *testing.T) {
	prog, err := standin.Program(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("localhost")
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CertDER()}))
	const user, password, from, to = "apps@acme.example", "relay-password-42", "apps@acme.example", "owner@acme.example"

	rel := catalog.Embedded()
	tested := 0
	for _, name := range rel.Names() {
		a := rel.Apps[name]
		sn := a.HTTP.Service
		mv := standin.MailVar(a, sn)
		if mv == "" {
			continue
		}
		tested++
		for _, tc := range []struct {
			name, mode, password string
			sink                 smtpsink.Options
			status               int
		}{
			{"starttls and login", "starttls", password, smtpsink.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, User: user, Password: password}, http.StatusOK},
			{"tls and login", "tls", password, smtpsink.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, ImplicitTLS: true, User: user, Password: password}, http.StatusOK},
			{"no tls, no login", "none", "", smtpsink.Options{}, http.StatusOK},
			{"wrong password", "starttls", "not-" + password, smtpsink.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, User: user, Password: password}, http.StatusBadGateway},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				sink := smtpsink.Start(t, tc.sink)
				host, port, _ := net.SplitHostPort(sink.Addr)
				c := newContainer(t, prog, a, sn)
				login := ""
				if tc.sink.User != "" {
					login = user
				}
				c.env = append(c.env, mv)
				c.env = append(c.env, relayEnv(a, tc.mode, host, port, from, login, tc.password)...)
				c.start(prog)
				defer c.stop()
				status, got := postMail(t, c.port, to, caPEM)
				if strings.Contains(got, tc.password) && tc.password != "" {
					t.Fatal("the answer holds the password")
				}
				if status != tc.status {
					t.Fatalf("POST %s: %d %s, want %d", standin.MailPath, status, got, tc.status)
				}
				if tc.status != http.StatusOK {
					if !strings.Contains(got, "535") {
						t.Errorf("the answer %s does not give the relay's refusal", got)
					}
					return
				}
				msgs, err := sink.Wait(1, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				m := msgs[0]
				if m.From != from || !slices.Equal(m.To, []string{to}) || m.User != login || m.TLS != (tc.mode != "none") {
					t.Errorf("the relay got %+v", m)
				}
				if !strings.Contains(string(m.Data), "\r\nSubject: nassella stand-in: mail from "+name+"/"+sn+"\r\n") {
					t.Errorf("the message:\n%s", m.Data)
				}
			})
		}
	}
	// The apps whose settings are plain placeholders: at least these two.
	if tested < 2 {
		t.Errorf("only %d app(s) with mail the stand-in can send", tested)
	}
}

// relayEnv is the environment the generator gives app's mail services for a relay
// (generator/render.MailEnv), the password already read from the secrets file.
func relayEnv(a *catalog.App, mode, host, port, from, user, password string) []string {
	local, domain, _ := strings.Cut(from, "@")
	fill := strings.NewReplacer("{{mail.host}}", host, "{{mail.port}}", port, "{{mail.from}}", from,
		"{{mail.from_local}}", local, "{{mail.from_domain}}", domain, "{{mail.user}}", user, "{{mail.password}}", password)
	var env []string
	add := func(m map[string]string) {
		for k, v := range m {
			env = append(env, k+"="+fill.Replace(v))
		}
	}
	add(a.Mail.Environment)
	if user != "" {
		add(a.Mail.Auth)
	}
	add(a.Mail.TLS[mode])
	return env
}

// postMail asks the stand-in on port to send mail to to; the status and answer.
func postMail(t *testing.T, port int, to, ca string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"to": []string{to}, "ca": ca})
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/nassella-standin/mail", port), "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	out, _ := json.Marshal(v)
	return resp.StatusCode, string(out)
}
