package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
	"github.com/nassella/nassella/internal/syncbuf"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// SSHBackup triggers `nassella-backup-now` on the host over SSH with a key that the host
// restricts to that one command (a forced command in authorized_keys), so the CI secret
// can do nothing else.
type SSHBackup struct {
	Signer  ssh.Signer
	User    string        // default core
	Port    string        // default 22
	Addr    string        // overrides host:port (tests)
	Timeout time.Duration // default 30 min
	// HostKey is the server's public host key, the only one accepted. Terraform writes
	// it to every server it makes (the NASSELLA_HOST_KEY secret), so it is known before
	// the server exists. Without it nothing is dialled: another machine on the address
	// could fake a backup and let the rebuild destroy the only copy of the data.
	HostKey ssh.PublicKey
}

// ErrNoHostKey is returned when no host key was given to check the server with.
var ErrNoHostKey = errors.New("the server's SSH host key was not given, so it cannot be checked: set NASSELLA_HOST_KEY to the site's host key secret (nassella bootstrap made it), or pass --host-key FILE with its public key or known_hosts line")

// Command is what the host's forced command runs; the client asks for it by name too.
const Command = "nassella-backup-now"

// Backup runs the backup and returns its output in the error when it fails.
func (b SSHBackup) Backup(ctx context.Context, host string) error {
	out, err := b.run(ctx, host, Command, nil)
	return commandError(Command, host, err, out)
}

// commandError is err of command on host with what it printed, or nil.
func commandError(command, host string, err error, out []byte) error {
	switch {
	case err == nil:
		return nil
	case len(out) == 0:
		return fmt.Errorf("%s on %s: %w", command, host, err)
	}
	return fmt.Errorf("%s on %s: %w\n%s", command, host, err, out)
}

// run runs command on host with stdin (none when nil); its error comes with what the
// command printed.
func (b SSHBackup) run(ctx context.Context, host, command string, stdin []byte) ([]byte, error) {
	user, port, timeout := b.User, b.Port, b.Timeout
	if user == "" {
		user = "core"
	}
	if port == "" {
		port = "22"
	}
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	if b.HostKey == nil {
		return nil, ErrNoHostKey
	}
	addr := b.Addr
	if addr == "" {
		addr = net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: b.Signer, HostKey: sshx.Pinned(b.HostKey)})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	var out syncbuf.Buffer // the session writes both streams from two goroutines
	err = c.Stream(ctx, command, in, &out, &out)
	return bytes.TrimSpace(out.Bytes()), err
}
