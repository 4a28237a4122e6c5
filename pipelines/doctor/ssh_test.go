package doctor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/doctor"
)

// The backup key's forced command prints the status record, or fails as cat does before
// the first backup wrote one.
func TestSSHStatus(t *testing.T) {
	key := sshtest.NewKey(t)
	var written atomic.Bool
	s := sshtest.Start(t, sshtest.Options{User: "core", Allow: []ssh.PublicKey{key.PublicKey()}, Handle: func(e sshtest.Exec) uint32 {
		if e.Command != hostcontract.StatusCommand {
			return 1
		}
		if !written.Load() {
			fmt.Fprintln(e.Stderr, "cat: /var/lib/nassella/backup-status.json: No such file or directory")
			return 1
		}
		fmt.Fprintln(e.Stdout, `{"result": "ok", "snapshot": "1a2b3c"}`)
		return 0
	}})
	// No host key given: the server's is trusted on first use, as before.
	status := doctor.SSHStatus(s.Addr, "core", key, nil)
	if _, err := status(context.Background()); !errors.Is(err, doctor.ErrNoStatus) {
		t.Errorf("before the first backup: %v", err)
	}
	written.Store(true)
	st, err := status(context.Background())
	if err != nil || st.Result != "ok" || st.Snapshot != "1a2b3c" {
		t.Errorf("status %+v, %v", st, err)
	}

	// A host key given is checked.
	other := sshtest.NewKey(t).PublicKey()
	if _, err := doctor.SSHStatus(s.Addr, "core", key, ssh.FixedHostKey(other))(context.Background()); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
}
