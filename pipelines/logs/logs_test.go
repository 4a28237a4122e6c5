package logs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/internal/testenv/golden"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/logs"
)

func TestFormatRecordedJournal(t *testing.T) {
	in, err := os.ReadFile("testdata/journal.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := logs.Copy(context.Background(), bytes.NewReader(in), &out, logs.Options{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/journal.txt", out.Bytes())

	// Colour on a terminal: errors red, warnings yellow.
	out.Reset()
	logs.Copy(context.Background(), bytes.NewReader(in), &out, logs.Options{Location: time.UTC, Color: true})
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[1], "\x1b[31merror") || !strings.Contains(lines[3], "\x1b[33mwarn") {
		t.Errorf("levels are not coloured:\n%q", lines[:4])
	}

	// --json passes each entry through unchanged.
	out.Reset()
	logs.Copy(context.Background(), bytes.NewReader(in), &out, logs.Options{JSON: true})
	if out.String() != string(in) {
		t.Errorf("--json changed the entries:\n%s", out.String())
	}
}

func TestQueryCommand(t *testing.T) {
	got, err := logs.Query{App: "nextcloud", Since: "1 hour ago", Follow: true}.Command()
	if err != nil {
		t.Fatal(err)
	}
	want := "journalctl --output=json --no-pager --quiet --since='1 hour ago' --follow SYSLOG_IDENTIFIER=nextcloud + _SYSTEMD_UNIT=nassella-app-nextcloud.service"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := (logs.Query{App: "x; rm -rf /"}).Command(); err == nil {
		t.Error("an app name with shell characters was accepted")
	}
}

// A real sshd on 127.0.0.1 with its own config, host key and authorized_keys, and a
// journalctl STUB on the session's PATH that prints the recorded journal.
func TestLogsOverSSH(t *testing.T) {
	sshd := testtool.Require(t, "NASSELLA_SSHD", ".ci/tools-backup.sh")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	keygen := func(name string) ssh.Signer {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600)
		s, _ := ssh.NewSignerFromKey(priv)
		return s
	}
	hostKey := keygen("host_key")
	client := keygen("client_key")
	os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	journal, _ := filepath.Abs("testdata/journal.json")
	stub := fmt.Sprintf("#!/bin/sh\n# journalctl STUB: records its arguments, prints a recorded journal.\necho \"$@\" > %s/journalctl.args\ncat %s\n", dir, journal)
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte(stub), 0o755)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	me := os.Getenv("USER")
	if me == "" {
		me = "root"
	}
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %s
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowUsers %s
SetEnv PATH=%s:/usr/bin:/bin
`, port, dir, dir, dir, me, bin)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation folder
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var sshdLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sshdLog, &sshdLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("sshd did not start:\n%s", sshdLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{addr}, hostKey.PublicKey())+"\n"), 0o600)
	hk, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	r := logs.Remote{Addr: addr, User: me, Signer: client, HostKey: hk}
	if err := r.Stream(context.Background(), logs.Query{App: "vaultwarden", Since: "today"}, &out, logs.Options{Location: time.UTC}); err != nil {
		t.Fatalf("%v\nsshd: %s", err, sshdLog.String())
	}
	want, _ := os.ReadFile("testdata/journal.txt")
	if out.String() != string(want) {
		t.Errorf("over SSH got:\n%s\nwant:\n%s", out.String(), want)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "journalctl.args"))
	if got := strings.TrimSpace(string(args)); got != "--output=json --no-pager --quiet --since=today SYSLOG_IDENTIFIER=vaultwarden + _SYSTEMD_UNIT=nassella-app-vaultwarden.service" {
		t.Errorf("journalctl ran with %q", got)
	}

	// A server whose key is not the known one is refused.
	other, _ := knownhosts.New(kh + ".none")
	os.WriteFile(kh+".none", nil, 0o600)
	other, _ = knownhosts.New(kh + ".none")
	r.HostKey = other
	if err := r.Stream(context.Background(), logs.Query{}, &out, logs.Options{}); err == nil {
		t.Error("an unknown host key was accepted")
	}
}
