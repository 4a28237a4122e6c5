package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH is a connection to a test VM as user core.
type SSH struct {
	client *ssh.Client
}

// DialSSH logs in to addr as core with the run's client key, accepting only the host key
// the run injected; it retries until ctx ends, as sshd comes up late in a boot.
func DialSSH(ctx context.Context, addr string, keys *Keys) (*SSH, error) {
	cfg := &ssh.ClientConfig{
		User:            "core",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(keys.Client)},
		HostKeyCallback: ssh.FixedHostKey(keys.Host.PublicKey()),
		Timeout:         15 * time.Second,
	}
	var last error
	for {
		c, err := dialSSH(ctx, addr, cfg)
		if err == nil {
			return &SSH{client: c}, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh core@%s: %w (last try: %v)", addr, context.Cause(ctx), last)
		case <-time.After(2 * time.Second):
		}
	}
}

func dialSSH(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake has its own deadline: a forwarded port accepts even while the
	// guest's sshd is not up, and then says nothing.
	conn.SetDeadline(time.Now().Add(cfg.Timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// Run runs a shell command on the VM and returns its output (stdout, then stderr). A
// command that fails returns its output too, with the error.
func (s *SSH) Run(ctx context.Context, cmd string) (string, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return "", fmt.Errorf("ssh: %w", err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		select {
		case <-done:
			return stdout.String() + stderr.String(), fmt.Errorf("ssh %q: %w", cmd, context.Cause(ctx))
		case <-time.After(5 * time.Second):
			return "", fmt.Errorf("ssh %q: %w (the connection hangs)", cmd, context.Cause(ctx))
		}
	}
	out := stdout.String() + stderr.String()
	if err != nil {
		return out, fmt.Errorf("ssh %q: %v: %s", cmd, err, lastLines(out, 5))
	}
	return out, nil
}

// Close ends the connection.
func (s *SSH) Close() error { return s.client.Close() }

// lastLines is the end of a command's output, for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
