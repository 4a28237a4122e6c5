package deploy_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/deploy"
)

func TestSSHBackup(t *testing.T) {
	ci := sshtest.NewKey(t)
	backups := startBackupServer(t, ci.PublicKey())
	b := deploy.SSHBackup{Signer: ci, Addr: backups.Addr}
	if err := b.Backup(context.Background(), "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if got := backups.Commands(); len(got) != 1 || got[0] != deploy.Command {
		t.Errorf("commands run: %q", got)
	}

	// A failed backup says why, and which host key was trusted on first use.
	backups.fail.Store(true)
	err := b.Backup(context.Background(), "203.0.113.7")
	if fp := ssh.FingerprintSHA256(backups.HostKey.PublicKey()); err == nil || !strings.Contains(err.Error(), "repository is locked") || !strings.Contains(err.Error(), fp) {
		t.Errorf("err = %v", err)
	}

	// A host key given is checked: another server runs nothing.
	b.HostKey = ssh.FixedHostKey(ci.PublicKey())
	if err := b.Backup(context.Background(), "203.0.113.7"); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
	if n := backups.count(); n != 2 {
		t.Errorf("%d commands run, want 2", n)
	}
}
