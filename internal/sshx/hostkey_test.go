package sshx_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/internal/sshx"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

func TestHostKeyPolicies(t *testing.T) {
	client := sshtest.NewKey(t)
	s := server(t, client)
	s.Listen()
	other := sshtest.NewKey(t).PublicKey()
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(knownhosts.Line([]string{s.Addr}, s.HostKey.PublicKey())+"\n"), 0o600)
	wrong := filepath.Join(dir, "wrong_hosts")
	os.WriteFile(wrong, []byte(knownhosts.Line([]string{s.Addr}, other)+"\n"), 0o600)
	var reported []string
	for _, tc := range []struct {
		name    string
		hk      sshx.HostKey
		wantErr string // "" connects
	}{
		{"pinned", sshx.Pinned(other, s.HostKey.PublicKey()), ""},
		{"another pinned key", sshx.Pinned(other), "host key mismatch"},
		{"known_hosts", sshx.KnownHosts(known), ""},
		{"known_hosts with another key", sshx.KnownHosts(wrong), "key mismatch"},
		{"no known_hosts file", sshx.KnownHosts(filepath.Join(dir, "none")), "ssh-keyscan"},
		{"the caller's check", sshx.Verified(ssh.FixedHostKey(s.HostKey.PublicKey())), ""},
		{"trust on first use", sshx.TrustOnFirstUse(func(fp string) { reported = append(reported, fp) }), ""},
		{"no policy", sshx.HostKey{}, "no host key policy"},
		{"no pinned key", sshx.Pinned(), "no host key policy"},
		{"no callback", sshx.Verified(nil), "no host key policy"},
	} {
		c, err := sshx.Dial(context.Background(), s.Addr, config(client, tc.hk))
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if ssh.FingerprintSHA256(c.HostKey()) != ssh.FingerprintSHA256(s.HostKey.PublicKey()) {
				t.Errorf("%s: the client holds another host key", tc.name)
			}
			c.Close()
		} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	if want := ssh.FingerprintSHA256(s.HostKey.PublicKey()); len(reported) != 1 || reported[0] != want {
		t.Errorf("trust on first use reported %q, want [%s]", reported, want)
	}
}

// A refused host key is never logged in with: the server runs nothing.
func TestWrongHostKeyRunsNothing(t *testing.T) {
	client := sshtest.NewKey(t)
	s := server(t, client)
	s.Listen()
	if _, err := sshx.Dial(context.Background(), s.Addr, config(client, sshx.Pinned(client.PublicKey()))); err == nil {
		t.Fatal("a server showing another key was logged in to")
	}
	if got := s.Commands(); len(got) != 0 {
		t.Errorf("commands run: %q", got)
	}
}
