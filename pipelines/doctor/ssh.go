package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/sshx"
)

// ErrNoHostKey is the status check's error when no host key was given to check the server.
var ErrNoHostKey = errors.New("the server's SSH host key was not given, so the backup status was not read: set NASSELLA_HOST_KEY to the site's host key secret (nassella bootstrap made it), or pass --host-key FILE with its public key or known_hosts line")

// SSHStatus reads the host's backup status record with the backup key: its forced command
// prints the record when asked for hostcontract.StatusCommand, and does nothing else. Only
// the server showing hostKey is asked: another could fake a fresh backup and hide a
// failing one; without hostKey nothing is dialled.
func SSHStatus(addr, user string, signer ssh.Signer, hostKey ssh.PublicKey) func(context.Context) (*hostcontract.Status, error) {
	return func(ctx context.Context) (*hostcontract.Status, error) {
		if hostKey == nil {
			return nil, ErrNoHostKey
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: signer, HostKey: sshx.Pinned(hostKey)})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		out, err := c.Run(ctx, hostcontract.StatusCommand)
		if err != nil {
			if strings.Contains(string(out.Stderr), "No such file") {
				return nil, ErrNoStatus
			}
			return nil, fmt.Errorf("reading the backup status on %s: %v: %s", addr, err, strings.TrimSpace(string(out.Stderr)))
		}
		return hostcontract.ParseStatus(out.Stdout)
	}
}
