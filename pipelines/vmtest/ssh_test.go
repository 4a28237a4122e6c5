package vmtest

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer is an SSH server on 127.0.0.1 standing in for the VM's sshd: it knows only
// the run's client key, shows hostKey, and answers "echo WORDS", "fail" and "sleep".
func sshServer(t *testing.T, keys *Keys, hostKey ssh.Signer) string {
	t.Helper()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == "core" && string(k.Marshal()) == string(keys.Client.PublicKey().Marshal()) {
				return nil, nil
			}
			return nil, ssh.ErrNoAuth
		},
	}
	cfg.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveSSH(c, cfg)
		}
	}()
	return l.Addr().String()
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for r := range creqs {
				if r.Type != "exec" {
					r.Reply(false, nil)
					continue
				}
				r.Reply(true, nil)
				cmd := string(r.Payload[4:])
				status := uint32(0)
				switch {
				case strings.HasPrefix(cmd, "echo "):
					ch.Write([]byte(strings.TrimPrefix(cmd, "echo ") + "\n"))
				case cmd == "fail":
					ch.Stderr().Write([]byte("it went wrong\n"))
					status = 3
				case cmd == "sleep":
					time.Sleep(10 * time.Second)
				}
				b := make([]byte, 4)
				binary.BigEndian.PutUint32(b, status)
				ch.SendRequest("exit-status", false, b)
				return
			}
		}()
	}
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
