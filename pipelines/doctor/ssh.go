package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/sshx"
)

// SSHStatus reads the host's backup status record with the backup key: its forced command
// prints the record when asked for hostcontract.StatusCommand, and does nothing else. A nil
// hostKey trusts the server's key on first use: the key reads a status only, and nothing
// secret is sent.
func SSHStatus(addr, user string, signer ssh.Signer, hostKey ssh.HostKeyCallback) func(context.Context) (*hostcontract.Status, error) {
	return func(ctx context.Context) (*hostcontract.Status, error) {
		hk, unpinned := sshx.Verified(hostKey), ""
		if hostKey == nil {
			hk = sshx.TrustOnFirstUse(func(fp string) { unpinned = " (host key " + fp + ", not pinned)" })
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: signer, HostKey: hk})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		out, err := c.Run(ctx, hostcontract.StatusCommand)
		if err != nil {
			if strings.Contains(string(out.Stderr), "No such file") {
				return nil, ErrNoStatus
			}
			return nil, fmt.Errorf("reading the backup status on %s%s: %v: %s", addr, unpinned, err, strings.TrimSpace(string(out.Stderr)))
		}
		return hostcontract.ParseStatus(out.Stdout)
	}
}
