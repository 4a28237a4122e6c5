package sshx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
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
		{"a nil pinned key", sshx.Pinned(nil), "no host key policy"},
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

// A host offers several key types (Flatcar makes ECDSA and RSA keys beside the pinned
// ed25519 one); the client must ask for the pinned type, not the one it prefers.
func TestPinnedAmongSeveralHostKeys(t *testing.T) {
	client := sshtest.NewKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ssh.NewSignerFromKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	s := sshtest.Start(t, sshtest.Options{User: "core", Allow: []ssh.PublicKey{client.PublicKey()}, MoreHostKeys: []ssh.Signer{ec}})
	c, err := sshx.Dial(context.Background(), s.Addr, config(client, sshx.Pinned(s.HostKey.PublicKey())))
	if err != nil {
		t.Fatalf("the pinned ed25519 key among an ECDSA one: %v", err)
	}
	c.Close()
}

func TestParseHostKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	host, _ := ssh.NewSignerFromKey(priv)
	want := ssh.FingerprintSHA256(host.PublicKey())
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"private key": string(pem.EncodeToMemory(block)),
		"public key":  string(ssh.MarshalAuthorizedKey(host.PublicKey())),
		"known_hosts": knownhosts.Line([]string{"203.0.113.7"}, host.PublicKey()) + "\n",
	} {
		key, err := sshx.ParseHostKey([]byte(text))
		if err != nil || ssh.FingerprintSHA256(key) != want {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := sshx.ParseHostKey([]byte("not a key")); err == nil || !strings.Contains(err.Error(), "known_hosts line") {
		t.Errorf("garbage: %v", err)
	}
}
