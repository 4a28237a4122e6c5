package deploy

import (
	"bytes"
	"context"
	"encoding/json"
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
	// HostKey checks the server's key; nil trusts the key on first use, as a freshly
	// replaced server's key is not known in advance (the command only starts a backup; it
	// sends nothing). Its fingerprint is then named in a failure.
	HostKey ssh.HostKeyCallback
}

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
	hk, unpinned := sshx.Verified(b.HostKey), ""
	if b.HostKey == nil {
		hk = sshx.TrustOnFirstUse(func(fp string) { unpinned = " (its host key " + fp + " was not pinned)" })
	}
	addr := b.Addr
	if addr == "" {
		addr = net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: b.Signer, HostKey: hk})
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := c.Run(ctx, Command)
	if err != nil {
		return fmt.Errorf("%s on %s%s: %w\n%s", Command, host, unpinned, err, bytes.TrimSpace(out.Combined))
	}
	return nil
}
