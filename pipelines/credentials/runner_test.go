package credentials_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/pipelines/credentials"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// The host's real claim runner, with every app's real claim file, answers in the form
// Parse reads: each app's state from the claims folder, its login, and the password from
// its secrets file (none for an app whose owner chooses it).
func TestRealRunnerAnswers(t *testing.T) {
	script, err := sitetemplate.FS.ReadFile("host/nassella-claim.sh")
	if err != nil {
		t.Fatal(err)
	}
	s := everyApp(t)
	in := render.Input{Site: s, Catalog: catalog.Embedded(), Version: "test"}
	root := t.TempDir()
	data, config := filepath.Join(root, "data"), filepath.Join(root, "config")
	passwords := map[string]string{}
	for _, d := range []string{"claims", "secrets"} {
		os.MkdirAll(filepath.Join(data, d), 0o700)
	}
	for _, app := range s.Apps {
		os.MkdirAll(filepath.Join(config, "apps", app.Name), 0o700)
		os.WriteFile(filepath.Join(config, "apps", app.Name, hostcontract.ClaimFile), []byte(butane.ClaimFile(in, app)), 0o600)
		var env strings.Builder
		for i, sec := range app.Spec.Secrets {
			v := fmt.Sprintf("%s%d%s", strings.ReplaceAll(app.Name, "-", ""), i, secret)
			fmt.Fprintf(&env, "%s=%s\n", sec.Name, v)
			if app.Spec.Claim != nil && sec.Name == app.Spec.Claim.Password {
				passwords[app.Name] = v
			}
		}
		os.WriteFile(filepath.Join(data, "secrets", app.Name+hostcontract.EnvSuffix), []byte(env.String()), 0o600)
	}
	os.WriteFile(filepath.Join(data, "claims", "audiobookshelf"), nil, 0o600)
	os.WriteFile(filepath.Join(data, "claims", "vaultwarden"), nil, 0o600)
	os.WriteFile(filepath.Join(data, "claims", "forgejo.failed"), []byte("step 1 (forgejo in server) exited with status 1\n"), 0o600)
	runner := filepath.Join(root, "nassella-claim")
	os.WriteFile(runner, script, 0o700)

	run := func(args ...string) ([]byte, string, error) {
		cmd := exec.Command("bash", append([]string{runner, "credentials"}, args...)...)
		cmd.Env = append(os.Environ(), "NASSELLA_DATA="+data, "NASSELLA_CONFIG="+config)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return out, stderr.String(), err
	}
	out, stderr, err := run()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	entries, err := credentials.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(s.Apps) {
		t.Fatalf("%d lines for %d apps", len(entries), len(s.Apps))
	}
	for i, e := range entries {
		app := s.Apps[i]
		want := credentials.Pending
		switch app.Name {
		case "audiobookshelf", "vaultwarden":
			want = credentials.Claimed
		case "forgejo":
			want = credentials.Failed
		}
		if e.App != app.Name || e.State != want || e.Login == "" || e.Password != passwords[app.Name] {
			t.Errorf("line %d: %s %s login %q, want %s %s and the password of its secret %q", i+1, e.App, e.State, e.Login, app.Name, want, app.Spec.Claim.Password)
		}
	}
	if entries[1].Reason != "step 1 (forgejo in server) exited with status 1" {
		t.Errorf("forgejo's reason: %q", entries[1].Reason)
	}

	// One app; an app the server has not is exit status 2, as Fetch expects.
	if out, stderr, err := run("vaultwarden"); err != nil || !strings.HasPrefix(string(out), "vaultwarden\tclaimed\t") {
		t.Errorf("%v: %s%s", err, out, stderr)
	}
	_, stderr, err = run("gitea")
	if e, ok := err.(*exec.ExitError); !ok || e.ExitCode() != 2 || strings.TrimSpace(stderr) != "no app gitea on this server" {
		t.Errorf("an unknown app: %v: %s", err, stderr)
	}
}
