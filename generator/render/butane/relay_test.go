package butane_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/nassella/nassella/internal/hostcontract"
)

// The secrets script gives the apps that log in to the mail relay its password from the
// file Terraform writes, in a form Compose reads back exactly (its own env-file parser),
// renews it at every boot, and refuses one it could not pass on, without printing it.
func TestSecretsScriptGivesTheRelayPassword(t *testing.T) {
	_, files := renderedHost(t)
	script := files[hostcontract.SecretsScript]
	if !strings.Contains(script, "\nrelay nextcloud\n") || strings.Contains(script, "\nrelay jellyfin\n") || strings.Contains(script, "\nrelay immich\n") {
		t.Fatalf("the script gives the password to the wrong apps:\n%s", script)
	}
	dir := t.TempDir()
	secrets, mail := filepath.Join(dir, "secrets"), filepath.Join(dir, "mail.env")
	// The host's paths, moved into the test's folder.
	script = strings.Replace(script, "dir="+hostcontract.SecretsDir+"\n", "dir="+secrets+"\n", 1)
	script = strings.Replace(script, "mail="+hostcontract.MailEnv+"\n", "mail="+mail+"\n", 1)
	path := filepath.Join(dir, "nassella-secrets")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	boot := func(password string) (map[string]string, string) {
		t.Helper()
		if err := os.WriteFile(mail, []byte("SMTP_PASSWORD="+password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("bash", path).CombinedOutput()
		if err != nil {
			t.Fatalf("the secrets script failed: %v\n%s", err, out)
		}
		env, err := dotenv.Read(filepath.Join(secrets, "nextcloud"+hostcontract.EnvSuffix))
		if err != nil {
			t.Fatalf("compose cannot read nextcloud's secrets: %v", err)
		}
		return env, string(out)
	}

	first := `a $b ${C} "d" #e \f ü`
	env, _ := boot(first)
	if env[hostcontract.MailPasswordVar] != first {
		t.Errorf("compose reads the password as %q, want %q", env[hostcontract.MailPasswordVar], first)
	}
	dbPassword := env["DB_PASSWORD"]
	if len(dbPassword) != 32 {
		t.Errorf("nextcloud's own secret is %q", dbPassword)
	}

	env, _ = boot("second-password")
	if env[hostcontract.MailPasswordVar] != "second-password" || env["DB_PASSWORD"] != dbPassword {
		t.Errorf("after a new password: %v", env)
	}
	raw, _ := os.ReadFile(filepath.Join(secrets, "nextcloud"+hostcontract.EnvSuffix))
	if n := strings.Count(string(raw), hostcontract.MailPasswordVar+"="); n != 1 {
		t.Errorf("the secrets file holds %d password lines, want 1", n)
	}
	if fi, _ := os.Stat(filepath.Join(secrets, "nextcloud"+hostcontract.EnvSuffix)); fi.Mode().Perm() != 0o600 {
		t.Errorf("the secrets file's mode is %v", fi.Mode().Perm())
	}

	for _, bad := range []string{"it's-secret", `ends-with\`} {
		env, out := boot(bad)
		if env[hostcontract.MailPasswordVar] != "" {
			t.Errorf("%q was passed on as %q; want none", bad, env[hostcontract.MailPasswordVar])
		}
		if !strings.Contains(out, "SMTP_PASSWORD") || strings.Contains(out, bad) {
			t.Errorf("the script said %q about a password it cannot pass on", out)
		}
	}
}
