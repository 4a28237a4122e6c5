package vmtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// sshServer is an SSH server on 127.0.0.1 standing in for the VM's sshd: it knows only
// the run's client key, shows hostKey, and answers "echo WORDS", "fail" and "sleep".
func sshServer(t *testing.T, keys *Keys, hostKey ssh.Signer) string {
	t.Helper()
	s := sshtest.Start(t, sshtest.Options{HostKey: hostKey, User: "core", Allow: []ssh.PublicKey{keys.Client.PublicKey()}, Handle: func(e sshtest.Exec) uint32 {
		switch {
		case strings.HasPrefix(e.Command, "echo "):
			fmt.Fprintln(e.Stdout, strings.TrimPrefix(e.Command, "echo "))
		case e.Command == "fail":
			fmt.Fprintln(e.Stderr, "it went wrong")
			return 3
		case e.Command == "sleep":
			time.Sleep(10 * time.Second)
		}
		return 0
	}})
	return s.Addr
}

func TestSSHToTheVM(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	addr := sshServer(t, keys, keys.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := DialSSH(ctx, addr, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := s.Run(ctx, "echo docker ps"); err != nil || out != "docker ps\n" {
		t.Errorf("echo: %q, %v", out, err)
	}
	out, err := s.Run(ctx, "fail")
	if err == nil || !strings.Contains(err.Error(), "exited with status 3") || !strings.Contains(err.Error(), "it went wrong") || out != "it went wrong\n" {
		t.Errorf("fail: %q, %v", out, err)
	}
	short, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, err = s.Run(short, "sleep")
	scancel()
	if err == nil || time.Since(start) > 6*time.Second {
		t.Errorf("a command past its deadline: %v after %s", err, time.Since(start))
	}
}

// A server showing another host key is not the VM the run booted: never logged in to,
// retried until the deadline.
func TestSSHRefusesAnotherHost(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	addr := sshServer(t, keys, other.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = DialSSH(ctx, addr, keys)
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("err = %v", err)
	}
}
