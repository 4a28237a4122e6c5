package console

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/cmdline"
)

func TestConsoleFlags(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	key := filepath.Join(dir, "key")
	badKey := filepath.Join(dir, "bad-key")
	os.WriteFile(secret, []byte("from-file\n"), 0o600)
	os.WriteFile(key, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	os.WriteFile(badKey, []byte("short"), 0o600)
	env := map[string]string{ClientSecretEnv: "from-env"}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{name: "defaults", args: []string{"--forge", "https://codeberg.org", "--client-id", "abc"}, check: func(t *testing.T, o Options) {
			if o.Listen != "127.0.0.1:8470" || o.Config.PublicURL != "http://127.0.0.1:8470" || o.Config.ClientSecret != "from-env" || o.Config.SessionKey != nil || len(o.Config.Bots) != 0 {
				t.Errorf("%+v", o)
			}
		}},
		{name: "github names its workflow bot", args: []string{"--forge", "https://github.com", "--client-id", "abc"}, check: func(t *testing.T, o Options) {
			if len(o.Config.Bots) != 1 || o.Config.Bots[0] != "github-actions[bot]" {
				t.Errorf("bots %v", o.Config.Bots)
			}
		}},
		{name: "files and lists", args: []string{"--forge", "https://git.example", "--client-id", "abc", "--client-secret-file", secret,
			"--session-key-file", key, "--bot", "ci-bot, other", "--listen", "0.0.0.0:9000", "--public-url", "https://console.example"},
			check: func(t *testing.T, o Options) {
				if o.Config.ClientSecret != "from-file" || len(o.Config.SessionKey) != 32 || strings.Join(o.Config.Bots, "|") != "ci-bot|other" ||
					o.Listen != "0.0.0.0:9000" || o.Config.PublicURL != "https://console.example" {
					t.Errorf("%+v", o.Config)
				}
			}},
		{name: "no forge", args: []string{"--client-id", "abc"}, wantErr: "--forge is required"},
		{name: "no client id", args: []string{"--forge", "https://codeberg.org"}, wantErr: "--client-id is required"},
		{name: "a secret on the command line", args: []string{"--forge", "https://codeberg.org", "--client-id", "a", "--client-secret", "s"}, wantErr: "not defined"},
		{name: "bad listen", args: []string{"--forge", "https://codeberg.org", "--client-id", "a", "--listen", "8470"}, wantErr: "not HOST:PORT"},
		{name: "bad key", args: []string{"--forge", "https://codeberg.org", "--client-id", "a", "--session-key-file", badKey}, wantErr: "32 random bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := ParseFlags(cmdline.Streams{Out: &stderr, Err: &stderr}, "nassella console", c.args, getenv)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, o)
		})
	}
}
