// Package smtpsink is a mail server for tests: it takes every message an SMTP client
// sends (net/smtp, or an app in a container pointed at it) and keeps it for the test to
// read, delivering nothing. It speaks what mail relays ask of apps (RFC 5321): EHLO or
// HELO, STARTTLS or TLS from the start when given a certificate, AUTH PLAIN and LOGIN checked against one
// user, MAIL, RCPT, DATA, RSET, NOOP and QUIT.
package smtpsink

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a sink; the zero value takes mail from anyone, without TLS.
type Options struct {
	// Addr is where it listens: 127.0.0.1:0 (a free port) when empty.
	Addr string
	// TLS, when set, is offered as STARTTLS (and required before AUTH, as relays do).
	TLS *tls.Config
	// ImplicitTLS makes the sink speak TLS from the first byte (SMTPS, port 465) with TLS
	// instead of offering STARTTLS.
	ImplicitTLS bool
	// User and Password, when User is set, are the only login taken; mail is then refused
	// before a login.
	User, Password string
}

// Message is one message the sink took.
type Message struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	Data []byte   // the message as sent, headers and body, with CRLF line ends
	User string   // who logged in to send it; "" without a login
	TLS  bool     // it came over a connection STARTTLS had encrypted
}

// Sink is a running SMTP server.
type Sink struct {
	Addr string // host:port it listens on

	opt  Options
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	wg   sync.WaitGroup
}

// Start starts a sink and stops it at cleanup.
func Start(t testing.TB, opt Options) *Sink {
	t.Helper()
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.ImplicitTLS && opt.TLS == nil {
		t.Fatal("smtpsink: ImplicitTLS needs TLS")
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		t.Fatalf("smtpsink: %v", err)
	}
	if opt.ImplicitTLS {
		ln = tls.NewListener(ln, opt.TLS)
	}
	s := &Sink{Addr: ln.Addr().String(), opt: opt, ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Messages returns what the sink has taken so far, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first n messages once the sink has taken them, or an error after
// timeout: apps send their mail in the background.
func (s *Sink) Wait(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m[:n], nil
		} else if time.Now().After(deadline) {
			return m, fmt.Errorf("smtpsink: %d message(s) after %v, want %d", len(m), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Sink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			_, implicit := c.(*tls.Conn)
			(&session{sink: s, conn: c, tls: implicit}).run()
		}()
	}
}

// session is one client's connection.
type session struct {
	sink *Sink
	conn net.Conn
	tp   *textproto.Conn
	tls  bool
	user string
	from string
	to   []string
	mail bool // MAIL FROM was given
}

func (c *session) reply(code int, lines ...string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		c.tp.PrintfLine("%d%s%s", code, sep, l)
	}
}

func (c *session) run() {
	c.tp = textproto.NewConn(c.conn)
	c.reply(220, "smtpsink ready")
	for {
		c.conn.SetDeadline(time.Now().Add(time.Minute))
		line, err := c.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"smtpsink", "8BITMIME", "AUTH PLAIN LOGIN"}
			if c.sink.opt.TLS != nil && !c.tls {
				ext = append(ext, "STARTTLS")
			}
			c.reply(250, ext...)
		case "HELO":
			c.reply(250, "smtpsink")
		case "STARTTLS":
			if c.sink.opt.TLS == nil || c.tls {
				c.reply(502, "no STARTTLS here")
				continue
			}
			c.reply(220, "go ahead")
			tc := tls.Server(c.conn, c.sink.opt.TLS)
			if tc.Handshake() != nil {
				return
			}
			c.conn, c.tls, c.user = tc, true, ""
			c.tp = textproto.NewConn(tc)
			c.reset()
		case "AUTH":
			c.auth(arg)
		case "MAIL":
			switch addr, ok := address(arg, "FROM:"); {
			case c.sink.opt.User != "" && c.user == "":
				c.reply(530, "log in first")
			case !ok:
				c.reply(501, "MAIL FROM:<address>")
			default:
				c.reset()
				c.from, c.mail = addr, true
				c.reply(250, "ok")
			}
		case "RCPT":
			switch addr, ok := address(arg, "TO:"); {
			case !c.mail:
				c.reply(503, "MAIL first")
			case !ok || addr == "":
				c.reply(501, "RCPT TO:<address>")
			default:
				c.to = append(c.to, addr)
				c.reply(250, "ok")
			}
		case "DATA":
			if !c.mail || len(c.to) == 0 {
				c.reply(503, "MAIL and RCPT first")
				continue
			}
			c.reply(354, "end with <CRLF>.<CRLF>")
			data, err := c.tp.ReadDotBytes()
			if err != nil {
				return
			}
			data = []byte(strings.ReplaceAll(string(data), "\n", "\r\n"))
			c.sink.mu.Lock()
			c.sink.msgs = append(c.sink.msgs, Message{From: c.from, To: c.to, Data: data, User: c.user, TLS: c.tls})
			c.sink.mu.Unlock()
			c.reset()
			c.reply(250, "kept")
		case "RSET":
			c.reset()
			c.reply(250, "ok")
		case "NOOP":
			c.reply(250, "ok")
		case "QUIT":
			c.reply(221, "bye")
			return
		default:
			c.reply(502, "not implemented")
		}
	}
}

func (c *session) reset() { c.from, c.to, c.mail = "", nil, false }

// auth handles AUTH PLAIN (with or without the initial response) and AUTH LOGIN.
func (c *session) auth(arg string) {
	opt := c.sink.opt
	if opt.TLS != nil && !c.tls {
		c.reply(538, "STARTTLS first")
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	var err error
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			if initial, err = c.challenge(""); err != nil {
				return
			}
		}
		var b []byte
		if b, err = base64.StdEncoding.DecodeString(initial); err == nil {
			parts := strings.Split(string(b), "\x00")
			if len(parts) != 3 {
				err = errors.New("PLAIN needs authzid, user and password")
			} else {
				user, pass = parts[1], parts[2]
			}
		}
	case "LOGIN":
		if initial == "" {
			initial, err = c.challenge("Username:")
		}
		if err == nil {
			var u, p []byte
			if u, err = base64.StdEncoding.DecodeString(initial); err == nil {
				var enc string
				if enc, err = c.challenge("Password:"); err == nil {
					p, err = base64.StdEncoding.DecodeString(enc)
				}
			}
			user, pass = string(u), string(p)
		}
	default:
		c.reply(504, "PLAIN or LOGIN")
		return
	}
	switch {
	case err != nil:
		c.reply(501, "cannot read the login")
	case opt.User != "" && (user != opt.User || pass != opt.Password):
		c.reply(535, "wrong user or password")
	default:
		c.user = user
		c.reply(235, "logged in")
	}
}

// challenge sends a 334 with prompt (base64) and reads the client's answer.
func (c *session) challenge(prompt string) (string, error) {
	c.reply(334, base64.StdEncoding.EncodeToString([]byte(prompt)))
	line, err := c.tp.ReadLine()
	if err != nil {
		return "", err
	}
	if line == "*" {
		return "", errors.New("the client gave up")
	}
	return line, nil
}

// address reads "FROM:<a@b> SIZE=…" (or "TO:…"), case-insensitively; <> is the empty
// sender.
func address(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		a, _, _ := strings.Cut(rest, " ")
		return a, a != ""
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}
