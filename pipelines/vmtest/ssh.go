package vmtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nassella/nassella/internal/sshx"
)

// SSH is a connection to a test VM as user core.
type SSH struct {
	client *sshx.Client
}

// DialSSH logs in to addr as core with the run's client key, accepting only the host key
// the run injected; it retries until ctx ends, as sshd comes up late in a boot.
func DialSSH(ctx context.Context, addr string, keys *Keys) (*SSH, error) {
	c, err := sshx.Dial(ctx, addr, sshx.Config{
		User:    "core",
		Signer:  keys.Client,
		HostKey: sshx.Pinned(keys.Host.PublicKey()),
		Timeout: 15 * time.Second,
		Wait:    time.Hour, // ctx bounds it
	})
	if err != nil {
		return nil, err
	}
	return &SSH{client: c}, nil
}

// Run runs a shell command on the VM and returns its output (stdout, then stderr). A
// command that fails returns its output too, with the error.
func (s *SSH) Run(ctx context.Context, cmd string) (string, error) {
	res, err := s.client.Run(ctx, cmd)
	out := string(res.Stdout) + string(res.Stderr)
	if ctx.Err() != nil && err != nil {
		return out, fmt.Errorf("ssh %q: %w", cmd, err)
	}
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
