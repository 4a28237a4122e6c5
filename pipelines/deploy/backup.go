package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
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
		return fmt.Errorf("%s on %s: %w", Command, host, ErrNoHostKey)
	}
	addr := b.Addr
	if addr == "" {
		addr = net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: b.Signer, HostKey: sshx.Pinned(b.HostKey)})
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := c.Run(ctx, Command)
	if err != nil {
		return fmt.Errorf("%s on %s: %w\n%s", Command, host, err, bytes.TrimSpace(out.Combined))
	}
	return nil
}
