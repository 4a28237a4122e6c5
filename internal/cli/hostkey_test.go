package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The host key comes from --host-key, $NASSELLA_HOST_KEY or $TF_VAR_ssh_host_key; two
// sources naming different keys are refused rather than one picked.
func TestHostKeyFlag(t *testing.T) {
	newKey := func() (string, ssh.PublicKey) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, _ := ssh.MarshalPrivateKey(priv, "")
		signer, _ := ssh.NewSignerFromKey(priv)
		return string(pem.EncodeToMemory(block)), signer.PublicKey()
	}
	secret, pub := newKey()
	_, other := newKey()
	pubFile := filepath.Join(t.TempDir(), "host.pub")
	os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(pub), 0o644)
	otherFile := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(otherFile, ssh.MarshalAuthorizedKey(other), 0o644)

	t.Setenv("NASSELLA_HOST_KEY", "")
	t.Setenv("TF_VAR_ssh_host_key", "")
	if k, err := (hostKeyFlag{}).key(); k != nil || err != nil {
		t.Errorf("nothing given: %v, %v", k, err)
	}
	t.Setenv("TF_VAR_ssh_host_key", secret)
	for _, h := range []hostKeyFlag{{}, {file: pubFile}} {
		if k, err := h.key(); err != nil || k == nil || ssh.FingerprintSHA256(k) != ssh.FingerprintSHA256(pub) {
			t.Errorf("%+v: %v", h, err)
		}
	}
	if _, err := (hostKeyFlag{file: otherFile}).key(); err == nil || !strings.Contains(err.Error(), "different host keys") {
		t.Errorf("two different keys: %v", err)
	}
}
