package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/deploy"
)

func TestSSHBackup(t *testing.T) {
	ci := sshtest.NewKey(t)
	backups := startBackupServer(t, ci.PublicKey(), nil)
	b := deploy.SSHBackup{Signer: ci, Addr: backups.Addr, HostKey: backups.HostKey.PublicKey()}
	if err := b.Backup(context.Background(), "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if got := backups.Commands(); len(got) != 1 || got[0] != deploy.Command {
		t.Errorf("commands run: %q", got)
	}

	// A failed backup says why.
	backups.fail.Store(true)
	if err := b.Backup(context.Background(), "203.0.113.7"); err == nil || !strings.Contains(err.Error(), "repository is locked") {
		t.Errorf("err = %v", err)
	}
	backups.fail.Store(false)
}

// A server showing another key than the pinned one (a machine that took the address, a
// man in the middle) is never logged in to: it could fake a backup and let the rebuild
// destroy the only copy of the data.
func TestSSHBackupRefusesAnotherHostKey(t *testing.T) {
	ci := sshtest.NewKey(t)
	backups := startBackupServer(t, ci.PublicKey(), nil)
	b := deploy.SSHBackup{Signer: ci, Addr: backups.Addr, HostKey: sshtest.NewKey(t).PublicKey()}
	if err := b.Backup(context.Background(), "203.0.113.7"); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
	// Without a host key nothing is dialled, and the error says how to give one.
	b.HostKey = nil
	err := b.Backup(context.Background(), "203.0.113.7")
	if !errors.Is(err, deploy.ErrNoHostKey) || !strings.Contains(err.Error(), "NASSELLA_HOST_KEY") || !strings.Contains(err.Error(), "--host-key") {
		t.Errorf("no host key: %v", err)
	}
	if n := backups.count(); n != 0 {
		t.Errorf("%d commands run, want none", n)
	}
}
