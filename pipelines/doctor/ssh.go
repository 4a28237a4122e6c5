package doctor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/pipelines/backup"
)

// SSHStatus reads the host's backup status record with the backup key: its forced command
// prints the record when asked for butane.StatusCommand, and does nothing else.
func SSHStatus(addr, user string, signer ssh.Signer, hostKey ssh.HostKeyCallback) func(context.Context) (*backup.Status, error) {
	return func(ctx context.Context) (*backup.Status, error) {
		if hostKey == nil {
			hostKey = ssh.InsecureIgnoreHostKey() // the key reads a status only; nothing secret is sent
		}
		var d net.Dialer
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: %w", addr, err)
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		c, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKey})
		if err != nil {
			return nil, fmt.Errorf("ssh %s: %w", addr, err)
		}
		client := ssh.NewClient(c, chans, reqs)
		defer client.Close()
		sess, err := client.NewSession()
		if err != nil {
			return nil, err
		}
		defer sess.Close()
		var out, errb bytes.Buffer
		sess.Stdout, sess.Stderr = &out, &errb
		if err := sess.Run(butane.StatusCommand); err != nil {
			if strings.Contains(errb.String(), "No such file") {
				return nil, ErrNoStatus
			}
			return nil, fmt.Errorf("reading the backup status on %s: %v: %s", addr, err, strings.TrimSpace(errb.String()))
		}
		return backup.ParseStatus(out.Bytes())
	}
}
