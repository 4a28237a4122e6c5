package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// SSHD is OpenSSH's sshd on 127.0.0.1, run by the test's user with its own config.
type SSHD struct {
	Addr string
	User string // the test's user, the only one let in
	// AuthorizedKeys is the file of client keys let in, read at every login; empty at first.
	AuthorizedKeys string
	HostKey        ssh.PublicKey
	KnownHosts     string // a known_hosts file listing Addr with HostKey
}

// StartSSHD starts sshd until the test ends; config is added to its sshd_config (a
// SetEnv line, say). Without sshd (NASSELLA_SSHD) the test is skipped, or fails in CI.
func StartSSHD(t *testing.T, config string) *SSHD {
	t.Helper()
	sshd := testtool.Require(t, "NASSELLA_SSHD", ".ci/tools-backup.sh")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "host_key"), pem.EncodeToMemory(block), 0o600)
	host, _ := ssh.NewSignerFromKey(priv)
	s := &SSHD{AuthorizedKeys: filepath.Join(dir, "authorized_keys"), HostKey: host.PublicKey(), KnownHosts: filepath.Join(dir, "known_hosts"), User: os.Getenv("USER")}
	os.WriteFile(s.AuthorizedKeys, nil, 0o600)
	if s.User == "" {
		s.User = "root"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(s.Addr)
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %s
HostKey %s/host_key
AuthorizedKeysFile %s
PidFile %s/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowUsers %s
%s`, port, dir, s.AuthorizedKeys, dir, s.User, config)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation folder
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd:\n%s", log.String())
		}
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("sshd did not start:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.WriteFile(s.KnownHosts, []byte(knownhosts.Line([]string{s.Addr}, s.HostKey)+"\n"), 0o600)
	return s
}

// Authorize lets key in.
func (s *SSHD) Authorize(t testing.TB, key ssh.PublicKey) {
	f, err := os.OpenFile(s.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.Write(ssh.MarshalAuthorizedKey(key))
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}
