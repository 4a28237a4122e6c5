package console

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/cmdline"
)

// The flags of the console's Logs, Sign-ins and prices.
func TestConsoleToolFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := func(name string) (string, ssh.PublicKey) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
		signer, _ := ssh.NewSignerFromKey(priv)
		return path, signer.PublicKey()
	}
	logsKey, logsPub := keyFile("logs")
	adminKey, adminPub := keyFile("admin")
	token := filepath.Join(dir, "hcloud")
	os.WriteFile(token, []byte("from-file\n"), 0o600)
	known := filepath.Join(dir, "known_hosts")
	base := []string{"--forge", "https://git.example", "--client-id", "abc"}
	for _, c := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{name: "off by default", check: func(t *testing.T, o Options) {
			if o.Config.Servers != nil || o.Config.HcloudToken != "" || o.Config.HcloudEndpoint != "" {
				t.Errorf("%+v", o.Config)
			}
		}},
		{name: "logs only", args: []string{"--logs-key", logsKey, "--known-hosts", known}, check: func(t *testing.T, o Options) {
			sv := o.Config.Servers
			if sv == nil || sv.AdminKey != nil || sv.KnownHosts != known || !bytes.Equal(sv.LogsKey.PublicKey().Marshal(), logsPub.Marshal()) {
				t.Errorf("%+v", sv)
			}
		}},
		{name: "logs and sign-ins", args: []string{"--logs-key", logsKey, "--admin-key", adminKey, "--known-hosts", known}, check: func(t *testing.T, o Options) {
			if sv := o.Config.Servers; sv == nil || !bytes.Equal(sv.AdminKey.PublicKey().Marshal(), adminPub.Marshal()) {
				t.Errorf("%+v", sv)
			}
		}},
		{name: "prices from the environment", env: map[string]string{HcloudTokenEnv: "from-env"}, args: []string{"--hcloud-endpoint", "http://127.0.0.1:1/v1"},
			check: func(t *testing.T, o Options) {
				if o.Config.HcloudToken != "from-env" || o.Config.HcloudEndpoint != "http://127.0.0.1:1/v1" {
					t.Errorf("%+v", o.Config)
				}
			}},
		{name: "prices from a file", env: map[string]string{HcloudTokenEnv: "from-env"}, args: []string{"--hcloud-token-file", token}, check: func(t *testing.T, o Options) {
			if o.Config.HcloudToken != "from-file" {
				t.Errorf("token %q", o.Config.HcloudToken)
			}
		}},
		{name: "a key without known hosts", args: []string{"--admin-key", adminKey}, wantErr: "--known-hosts is required"},
		{name: "not a key", args: []string{"--logs-key", token, "--known-hosts", known}, wantErr: "--logs-key " + token + " is not a private SSH key"},
		{name: "no key file", args: []string{"--logs-key", filepath.Join(dir, "none"), "--known-hosts", known}, wantErr: "--logs-key"},
		{name: "no token file", args: []string{"--hcloud-token-file", filepath.Join(dir, "none")}, wantErr: "--hcloud-token-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			o, err := ParseFlags(cmdline.Streams{Out: &out, Err: &out}, "nassella console", append(append([]string{}, base...), c.args...), func(k string) string { return c.env[k] })
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want one with %q", err, c.wantErr)
			case c.wantErr == "" && err != nil:
				t.Error(err)
			case c.wantErr == "":
				c.check(t, o)
			}
		})
	}
}
