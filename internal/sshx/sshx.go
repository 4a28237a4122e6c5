// Package sshx is how nassella speaks SSH: dial with a timeout and bounded retries,
// always checking the server's host key against a policy the caller names, then run a
// command (its output captured) or stream one (stdin from a reader, output to writers).
package sshx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/syncbuf"
)

// Config is who logs in and how the server is checked.
type Config struct {
	User    string
	Signer  ssh.Signer
	HostKey HostKey
	// Timeout bounds one attempt: the TCP connection and the SSH handshake (30 s when 0).
	// A forwarded port may accept while nothing answers behind it.
	Timeout time.Duration
	// Wait is how long to keep trying after a failed attempt, for a server still booting;
	// 0 tries once. The context bounds it too.
	Wait time.Duration
}

// Client is a logged-in connection.
type Client struct {
	ssh     *ssh.Client
	hostKey ssh.PublicKey
}

// The pause between attempts doubles from firstPause up to maxPause.
const (
	firstPause = 100 * time.Millisecond
	maxPause   = 2 * time.Second
)

// Dial logs in to addr (host:port), retrying within c.Wait.
func Dial(ctx context.Context, addr string, c Config) (*Client, error) {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	who := c.User + "@" + addr
	if _, err := c.HostKey.check(new(ssh.PublicKey)); err != nil {
		return nil, fmt.Errorf("ssh %s: %w", who, err)
	}
	deadline := time.Now().Add(c.Wait)
	pause := firstPause
	for tries := 1; ; tries++ {
		client, err := dialOnce(ctx, addr, c)
		if err == nil {
			return client, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh %s: %w (last try: %v)", who, context.Cause(ctx), err)
		}
		if !time.Now().Add(pause).Before(deadline) {
			if tries > 1 {
				return nil, fmt.Errorf("ssh %s: %w (%d tries in %s)", who, err, tries, c.Wait)
			}
			return nil, fmt.Errorf("ssh %s: %w", who, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: %w (last try: %v)", who, context.Cause(ctx), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

func dialOnce(ctx context.Context, addr string, c Config) (*Client, error) {
	var seen ssh.PublicKey
	check, err := c.HostKey.check(&seen)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: c.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(c.Timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User:              c.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(c.Signer)},
		HostKeyCallback:   check,
		HostKeyAlgorithms: c.HostKey.algos,
		Timeout:           c.Timeout,
	})
	if !stop() || err != nil {
		conn.Close()
		if err == nil {
			err = context.Cause(ctx)
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	if c.HostKey.accepted != nil {
		c.HostKey.accepted(ssh.FingerprintSHA256(seen))
	}
	return &Client{ssh: ssh.NewClient(cc, chans, reqs), hostKey: seen}, nil
}

// HostKey is the key the server showed, as the policy accepted it.
func (c *Client) HostKey() ssh.PublicKey { return c.hostKey }

// Close ends the connection.
func (c *Client) Close() error { return c.ssh.Close() }

// Output is what a command printed.
type Output struct {
	Stdout, Stderr []byte
	Combined       []byte // both, in the order they arrived
}

// Run runs cmd and captures its output. Its error is the session's: an *ssh.ExitError
// for a non-zero exit status (the output is returned too), or the context's cause when
// ctx ends first, which kills the command.
func (c *Client) Run(ctx context.Context, cmd string) (Output, error) {
	var stdout, stderr bytes.Buffer
	var combined syncbuf.Buffer // the session writes the two streams from two goroutines
	ended, err := c.stream(ctx, cmd, nil, io.MultiWriter(&stdout, &combined), io.MultiWriter(&stderr, &combined))
	if !ended {
		return Output{}, err // the buffers may still be written to
	}
	return Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Combined: combined.Bytes()}, err
}

// Stream runs cmd with stdin (none when nil) and copies its output to stdout and stderr
// as it comes. A writer given as both must be safe for two goroutines (syncbuf.Buffer).
// Errors are as Run's.
func (c *Client) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	_, err := c.stream(ctx, cmd, stdin, stdout, stderr)
	return err
}

// hangTime is how long a killed command may take to end before the connection is
// dropped, and then before it is given up.
const hangTime = 5 * time.Second

// stream is Stream; ended says the session has stopped writing to stdout and stderr.
func (c *Client) stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (ended bool, err error) {
	sess, err := c.ssh.NewSession()
	if err != nil {
		return true, fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	sess.Stdout, sess.Stderr = stdout, stderr
	if stdin != nil {
		// Through a pipe of our own: a command that exits without reading all of its
		// input (an older host's forced command) closes the channel under the copy, and
		// x/crypto/ssh's Session.Wait reports that write's io.EOF as the session's error
		// when the command exited 0. Whether a command worked is its exit status.
		pipe, err := sess.StdinPipe()
		if err != nil {
			return true, fmt.Errorf("opening the session's input: %w", err)
		}
		go func() {
			_, _ = io.Copy(pipe, stdin)
			_ = pipe.Close()
		}()
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err := <-done:
		return true, err
	case <-ctx.Done():
	}
	sess.Signal(ssh.SIGKILL)
	sess.Close()
	if !endsWithin(done, hangTime) {
		c.ssh.Close() // the server does not end the session: drop the connection
		if !endsWithin(done, hangTime) {
			return false, fmt.Errorf("%w (the connection hangs)", context.Cause(ctx))
		}
	}
	return true, context.Cause(ctx)
}

func endsWithin(done <-chan error, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// Quote makes s one word for the remote shell, whatever it holds.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
