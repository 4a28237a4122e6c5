package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// LogsHost is OpenSSH's sshd letting in one key, a logs key, with the authorized_keys
// line a server gets for admin.logs_key: its forced command is site-template's, and
// journalctl is a STUB that records its arguments and prints a recorded journal.
type LogsHost struct {
	*SSHD
	Key     ssh.Signer // the logs key
	KeyFile string     // its private half, as ssh-keygen writes it
	Args    string     // journalctl's arguments at its last run; absent before
}

// StartLogsHost starts a LogsHost whose server has apps, printing the journal file.
func StartLogsHost(t *testing.T, journal string, apps ...string) *LogsHost {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin, config := filepath.Join(dir, "bin"), filepath.Join(dir, "config")
	os.MkdirAll(bin, 0o755)
	for _, app := range apps {
		os.MkdirAll(filepath.Join(config, "apps", app), 0o755)
	}
	script, err := fs.ReadFile(sitetemplate.FS, "host/"+hostcontract.LogsCommand+".sh")
	if err != nil {
		t.Fatal(err)
	}
	forced := filepath.Join(bin, hostcontract.LogsCommand)
	os.WriteFile(forced, script, 0o755)
	journal, _ = filepath.Abs(journal)
	h := &LogsHost{Args: filepath.Join(dir, "journalctl.args"), KeyFile: filepath.Join(dir, "logs_key")}
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte(fmt.Sprintf("#!/bin/sh\n# journalctl STUB: records its arguments, prints a recorded journal.\necho \"$@\" > %q\ncat %q\n", h.Args, journal)), 0o755)
	h.SSHD = StartSSHD(t, fmt.Sprintf("SetEnv PATH=%s:/usr/bin:/bin NASSELLA_CONFIG=%s\n", bin, config))
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(h.KeyFile, pem.EncodeToMemory(block), 0o600)
	h.Key, _ = ssh.NewSignerFromKey(priv)
	line := hostcontract.AuthorizedLogsKey(string(ssh.MarshalAuthorizedKey(h.Key.PublicKey())))
	os.WriteFile(h.AuthorizedKeys, []byte(strings.Replace(line, hostcontract.LogsScript, forced, 1)+"\n"), 0o600)
	return h
}
