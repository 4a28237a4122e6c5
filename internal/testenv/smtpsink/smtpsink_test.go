package smtpsink_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/testenv/smtpsink"
	"github.com/nassella/nassella/internal/testenv/testca"
)

const msg = "From: apps@acme.example\r\nTo: owner@acme.example\r\nSubject: Reset your password\r\n\r\nFollow this link.\r\n.leading dot\r\n"

// net/smtp.SendMail delivers to the sink as to a relay: plainly, logged in, and over
// STARTTLS; the sink keeps each message as sent, with its envelope.
func TestSendMail(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("localhost")
	if err != nil {
		t.Fatal(err)
	}
	pool := ca.Pool

	for _, tt := range []struct {
		name    string
		opt     smtpsink.Options
		auth    smtp.Auth
		wantTLS bool
	}{
		{"open relay", smtpsink.Options{}, nil, false},
		{"login", smtpsink.Options{User: "apps@acme.example", Password: "s3cret"}, smtp.PlainAuth("", "apps@acme.example", "s3cret", "127.0.0.1"), false},
		// AUTH LOGIN, Nextcloud's default (SMTP_AUTHTYPE).
		{"login mechanism", smtpsink.Options{User: "apps@acme.example", Password: "s3cret"}, loginAuth{"apps@acme.example", "s3cret"}, false},
		{"starttls and login", smtpsink.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, User: "apps@acme.example", Password: "s3cret"},
			smtp.PlainAuth("", "apps@acme.example", "s3cret", "127.0.0.1"), true},
		// TLS from the first byte, as on port 465.
		{"tls and login", smtpsink.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, ImplicitTLS: true, User: "apps@acme.example", Password: "s3cret"},
			smtp.PlainAuth("", "apps@acme.example", "s3cret", "127.0.0.1"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := smtpsink.Start(t, tt.opt)
			if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
				t.Fatalf("the sink listens on %s, want 127.0.0.1", s.Addr)
			}
			if tt.wantTLS {
				send(t, s.Addr, "127.0.0.1", pool, tt.auth, tt.opt.ImplicitTLS)
			} else if err := smtp.SendMail(s.Addr, tt.auth, "apps@acme.example", []string{"owner@acme.example", "second@acme.example"}, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Wait(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			m := got[0]
			wantTo := []string{"owner@acme.example", "second@acme.example"}
			if tt.wantTLS {
				wantTo = wantTo[:1]
			}
			if m.From != "apps@acme.example" || !slices.Equal(m.To, wantTo) || m.TLS != tt.wantTLS || m.User != tt.opt.User {
				t.Errorf("envelope %+v", m)
			}
			if string(m.Data) != msg {
				t.Errorf("data %q, want %q", m.Data, msg)
			}
			parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
			if err != nil || parsed.Header.Get("Subject") != "Reset your password" {
				t.Errorf("the kept message does not read as mail: %v", err)
			}
		})
	}
}

// send is SendMail over STARTTLS, or TLS from the start when implicit, with the test CA.
func send(t *testing.T, addr, host string, pool *x509.CertPool, auth smtp.Auth, implicit bool) {
	t.Helper()
	cfg := &tls.Config{ServerName: host, RootCAs: pool}
	var c *smtp.Client
	if implicit {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c, err = smtp.NewClient(conn, host); err != nil {
			t.Fatal(err)
		}
	} else {
		var err error
		if c, err = smtp.Dial(addr); err != nil {
			t.Fatal(err)
		}
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok == implicit {
		t.Fatalf("STARTTLS offered: %v; want it only without TLS from the start", ok)
	}
	if !implicit {
		if err := c.StartTLS(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Auth(auth); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("apps@acme.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("owner@acme.example"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// A relay that wants a login refuses a wrong one, and mail without one; nothing is kept.
func TestRefusals(t *testing.T) {
	s := smtpsink.Start(t, smtpsink.Options{User: "apps@acme.example", Password: "s3cret"})
	if err := smtp.SendMail(s.Addr, smtp.PlainAuth("", "apps@acme.example", "wrong", "127.0.0.1"), "apps@acme.example", []string{"owner@acme.example"}, []byte(msg)); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("a wrong password: %v, want 535", err)
	}
	if err := smtp.SendMail(s.Addr, nil, "apps@acme.example", []string{"owner@acme.example"}, []byte(msg)); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("no login: %v, want 530", err)
	}
	if _, err := s.Wait(1, 100*time.Millisecond); err == nil {
		t.Errorf("the sink kept %v", s.Messages())
	}
}

// loginAuth is AUTH LOGIN, which net/smtp does not have: the user, then the password,
// each answering a 334 prompt.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(prompt []byte, more bool) ([]byte, error) {
	switch {
	case !more:
		return nil, nil
	case string(prompt) == "Username:":
		return []byte(a.user), nil
	default:
		return []byte(a.pass), nil
	}
}
