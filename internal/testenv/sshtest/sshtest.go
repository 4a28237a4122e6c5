// Package sshtest runs SSH servers on 127.0.0.1 for tests: Server, in this process
// (x/crypto/ssh), whose commands a Go function answers; and SSHD, OpenSSH's own server
// with its own config, for tests that need a real shell behind the login.
package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Exec is one command a client asked the server to run.
type Exec struct {
	User, Command  string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Options set up a Server.
type Options struct {
	HostKey ssh.Signer // a new ed25519 key when nil
	// MoreHostKeys are offered beside HostKey, as a real host offers several types.
	MoreHostKeys []ssh.Signer
	User         string          // the only user let in; any when empty
	Allow        []ssh.PublicKey // the client keys let in
	// Handle answers a command and returns its exit status; every command exits 0 with
	// no output when nil.
	Handle func(Exec) uint32
	// Addr is where to listen, e.g. a server's own loopback address at port 22 (root);
	// a free port of 127.0.0.1 when empty.
	Addr string
}

// Server is an SSH server in this process.
type Server struct {
	Addr    string
	HostKey ssh.Signer
	t       testing.TB
	cfg     *ssh.ServerConfig
	handle  func(Exec) uint32
	mu      sync.Mutex
	cmds    []string
}

// Start starts a server listening on 127.0.0.1 (or o.Addr).
func Start(t testing.TB, o Options) *Server {
	s := New(t, o)
	s.Listen()
	return s
}

// New makes a server with an address that nothing listens on until Listen, for a test
// of a client waiting for a server to come up.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.HostKey == nil {
		o.HostKey = NewKey(t)
	}
	s := &Server{HostKey: o.HostKey, t: t, handle: o.Handle}
	s.cfg = &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if o.User != "" && c.User() != o.User {
			return nil, ssh.ErrNoAuth
		}
		for _, a := range o.Allow {
			if bytes.Equal(a.Marshal(), k.Marshal()) {
				return &ssh.Permissions{}, nil
			}
		}
		return nil, ssh.ErrNoAuth
	}}
	s.cfg.AddHostKey(o.HostKey)
	for _, k := range o.MoreHostKeys {
		s.cfg.AddHostKey(k)
	}
	if o.Addr != "" {
		s.Addr = o.Addr
		return s
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	return s
}

// Listen starts serving on s.Addr until the test ends.
func (s *Server) Listen() {
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		s.t.Errorf("sshtest: %v", err)
		return
	}
	s.t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
}

// Commands are the commands run so far, in order.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.session(conn.User(), ch, creqs)
	}
}

// session answers the first exec request of a session and closes it.
func (s *Server) session(user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for r := range reqs {
		if r.Type != "exec" || len(r.Payload) < 4 {
			r.Reply(false, nil)
			continue
		}
		r.Reply(true, nil)
		cmd := string(r.Payload[4:])
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		s.mu.Unlock()
		status := uint32(0)
		if s.handle != nil {
			status = s.handle(Exec{User: user, Command: cmd, Stdin: ch, Stdout: ch, Stderr: ch.Stderr()})
		}
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, status)
		ch.SendRequest("exit-status", false, b)
		return
	}
}

// NewKey makes an ed25519 key pair.
func NewKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
