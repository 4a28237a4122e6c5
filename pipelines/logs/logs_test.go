package logs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/internal/testenv/golden"
	"github.com/nassella/nassella/internal/testenv/sshtest"
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
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	journal, _ := filepath.Abs("testdata/journal.json")
	stub := fmt.Sprintf("#!/bin/sh\n# journalctl STUB: records its arguments, prints a recorded journal.\necho \"$@\" > %s/journalctl.args\ncat %s\n", dir, journal)
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte(stub), 0o755)
	sshd := sshtest.StartSSHD(t, fmt.Sprintf("SetEnv PATH=%s:/usr/bin:/bin\n", bin))
	client := sshtest.NewKey(t)
	sshd.Authorize(t, client.PublicKey())
	addr, me, kh := sshd.Addr, sshd.User, sshd.KnownHosts
	hk, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	r := logs.Remote{Addr: addr, User: me, Signer: client, HostKey: hk}
	if err := logs.Stream(context.Background(), r, logs.Query{App: "vaultwarden", Since: "today"}, &out, logs.Options{Location: time.UTC}); err != nil {
		t.Fatal(err)
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
	if err := logs.Stream(context.Background(), r, logs.Query{}, &out, logs.Options{}); err == nil {
		t.Error("an unknown host key was accepted")
	}
}
