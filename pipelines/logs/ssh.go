package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// Remote is how to reach the server's journal.
type Remote struct {
	Addr    string // host:port
	User    string // core when empty
	Signer  ssh.Signer
	HostKey ssh.HostKeyCallback // required: logs are only read from the server that is known
}

// Stream runs the query on the server and copies its entries to w until it ends (or, with
// Follow, until ctx is cancelled).
func (r Remote) Stream(ctx context.Context, q Query, w io.Writer, opt Options) error {
	if r.HostKey == nil {
		return errors.New("the server's host key is unknown: pass --known-hosts FILE (ssh-keyscan HOST >> FILE)")
	}
	cmd, err := q.Command()
	if err != nil {
		return err
	}
	user := r.User
	if user == "" {
		user = "core"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("ssh %s: %w", r.Addr, err)
	}
	defer conn.Close()
	c, chans, reqs, err := ssh.NewClientConn(conn, r.Addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(r.Signer)}, HostKeyCallback: r.HostKey, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("ssh %s@%s: %w (is your key in admin.ssh_keys?)", user, r.Addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	errOut, err := sess.StderrPipe()
	if err != nil {
		return err
	}
	stderr := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(io.LimitReader(errOut, 64*1024)); stderr <- b }()
	if err := sess.Start(cmd); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	copyErr := Copy(ctx, out, w, opt)
	waitErr := sess.Wait()
	msg := <-stderr
	if ctx.Err() != nil {
		return nil // the reader stopped following
	}
	if copyErr != nil {
		return copyErr
	}
	if waitErr != nil {
		return fmt.Errorf("journalctl on %s: %v: %s", r.Addr, waitErr, msg)
	}
	return nil
}
