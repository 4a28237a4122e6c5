package cli_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/testenv/claimhost"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// The owner asks for the sign-in of their apps: the verb reads the site repo, logs in
// with their key, checks the server's key against the one given, and prints what the
// host's claim runner answered.
func TestCredentialsCLI(t *testing.T) {
	for _, v := range []string{"NASSELLA_HOST_KEY", "TF_VAR_ssh_host_key"} {
		t.Setenv(v, "")
	}
	h := claimhost.Start(t,
		"audiobookshelf\tclaimed\tadmin\tAbs0pen1\t",
		"forgejo\tfailed\tadmin\tFgj0pen2\tstep 1 (forgejo admin user create) exited 1",
		"vaultwarden\tclaimed\tops@everything.example\t\t")
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "everything")
	os.Mkdir(repo, 0o755)
	data, _ := examples.Get("every-app")
	os.WriteFile(filepath.Join(repo, "site.yaml"), data, 0o644)
	// The owner's key, in a file as ssh-keygen writes it.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	identity := filepath.Join(tmp, "id_ed25519")
	os.WriteFile(identity, pem.EncodeToMemory(block), 0o600)
	owner, _ := ssh.NewSignerFromKey(priv)
	h.Authorize(t, owner.PublicKey())
	hostKey := filepath.Join(tmp, "host_key.pub")
	os.WriteFile(hostKey, ssh.MarshalAuthorizedKey(h.HostKey), 0o644)
	login := []string{"--dir", repo, "--host", h.Addr, "--user", h.User, "--identity", identity}

	for _, tc := range []struct {
		name       string
		args       []string
		hostKeyEnv string // NASSELLA_HOST_KEY
		code       int
		out, err   string
	}{
		{"one app", []string{"audiobookshelf", "--host-key", hostKey}, "", 0,
			"Audiobookshelf  https://audiobooks.everything.example\n  Sign in as:  admin\n  Password:    Abs0pen1\n", ""},
		{"json", []string{"vaultwarden", "--json"}, string(ssh.MarshalAuthorizedKey(h.HostKey)), 0,
			`"password": ""`, ""},
		{"every app", []string{"--host-key", hostKey}, "", 1,
			"Sign up at https://vault.everything.example with ops@everything.example", "setting up forgejo failed on the server"},
		{"another server's key", []string{"audiobookshelf"}, string(ssh.MarshalAuthorizedKey(sshtest.NewKey(t).PublicKey())), 1,
			"", "ssh: handshake failed"},
		{"an app the site has not", []string{"gitea", "--host-key", hostKey}, "", 2,
			"", `nassella credentials: no app "gitea" in`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NASSELLA_HOST_KEY", tc.hostKeyEnv)
			out, errs, code := run(t, append(append([]string{"credentials"}, tc.args...), login...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			if tc.out == "" && out != "" {
				t.Errorf("printed:\n%s", out)
			}
			if strings.Contains(errs, "0pen") {
				t.Errorf("a password on stderr:\n%s", errs)
			}
		})
	}
}
