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
	status := doctor.SSHStatus(s.Addr, "core", key, s.HostKey.PublicKey())
	if _, err := status(context.Background()); !errors.Is(err, doctor.ErrNoStatus) {
		t.Errorf("before the first backup: %v", err)
	}
	written.Store(true)
	st, err := status(context.Background())
	if err != nil || st.Result != "ok" || st.Snapshot != "1a2b3c" {
		t.Errorf("status %+v, %v", st, err)
	}
	n := len(s.Commands())

	// A server showing another host key is not asked: it could fake a fresh backup.
	other := sshtest.NewKey(t).PublicKey()
	if _, err := doctor.SSHStatus(s.Addr, "core", key, other)(context.Background()); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
	// Without a host key nothing is dialled, and the error says how to give one.
	_, err = doctor.SSHStatus(s.Addr, "core", key, nil)(context.Background())
	if !errors.Is(err, doctor.ErrNoHostKey) || !strings.Contains(err.Error(), "NASSELLA_HOST_KEY") || !strings.Contains(err.Error(), "--host-key") {
		t.Errorf("no host key: %v", err)
	}
	if got := s.Commands(); len(got) != n {
		t.Errorf("commands run without the right host key: %q", got[n:])
	}
	// The doctor's finding says what to give.
	f := doctor.Run(context.Background(), doctor.Options{Schedule: "daily", Status: doctor.SSHStatus(s.Addr, "core", key, nil)})
	if text := doctor.Text(f); !strings.Contains(text, "no host key given") || !strings.Contains(text, "NASSELLA_HOST_KEY") {
		t.Errorf("findings without a host key:\n%s", text)
	}
}
