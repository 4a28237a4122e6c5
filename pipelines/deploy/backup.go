package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

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
	// HostKey checks the server's key; nil accepts any, as a freshly replaced server's
	// key is not known in advance (the command only starts a backup; it sends nothing).
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
	hk := b.HostKey
	if hk == nil {
		hk = ssh.InsecureIgnoreHostKey()
	}
	addr := b.Addr
	if addr == "" {
		addr = net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("ssh %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(b.Signer)}, HostKeyCallback: hk, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("ssh %s: %w", addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	// One buffer for both streams, guarded: the session copies them from two goroutines.
	var out syncbuf.Buffer
	sess.Stdout, sess.Stderr = &out, &out
	if err := sess.Run(Command); err != nil {
		return fmt.Errorf("%s on %s: %w\n%s", Command, host, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
