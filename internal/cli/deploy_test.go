package cli_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/cli"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), errb.String(), code
}

// The owner's view: init a site, plan it, apply it, then plan a change and read what it
// does, through the CLI with real OpenTofu against the Hetzner Cloud API simulator.
func TestPlanAndApplyCLI(t *testing.T) {
	testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	hcloudsim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")
	for _, v := range []string{"CI", "GITHUB_ACTIONS", "GITEA_ACTIONS", "FORGEJO_ACTIONS"} {
		t.Setenv(v, "") // an apply on the owner's machine, where a local state is kept
	}

	tmp := t.TempDir()
	key := filepath.Join(tmp, "key.pub")
	os.WriteFile(key, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@acme\n"), 0o644)
	repo := filepath.Join(tmp, "acme")
	if out, errs, code := run(t, "init", "--local-state", "--domain", "acme.example", "--email", "ops@acme.example", "--ssh-key-file", key, repo); code != 0 {
		t.Fatalf("init: %s%s", out, errs)
	}
	plan := filepath.Join(tmp, "tfplan")
	md := filepath.Join(tmp, "plan.md")
	out, errs, code := run(t, "plan", "--allow-unverified", "--out", plan, "--markdown", md, repo)
	if code != 0 {
		t.Fatalf("plan: %s%s", out, errs)
	}
	for _, want := range []string{"Plan: ", "Your server will be created", "Add the A and AAAA records of https://vault.acme.example at your DNS host", "plan saved to"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if data, _ := os.ReadFile(md); !bytes.HasPrefix(data, []byte("<!-- nassella-plan -->")) {
		t.Errorf("markdown:\n%s", data)
	}

	// Caddy's stand-in: HTTPS with a test CA, vaultwarden healthy.
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "vault.acme.example")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	caFile := filepath.Join(tmp, "ca.pem")
	os.WriteFile(caFile, pemCA(t, ca), 0o644)
	out, errs, code = run(t, "apply", "--plan", plan, "--ca-file", caFile, "--health-timeout", "5s",
		"--resolve", "vault.acme.example="+strings.TrimPrefix(srv.URL, "https://"), repo)
	if code != 0 {
		t.Fatalf("apply: %s%s", out, errs)
	}
	if !strings.Contains(out, "healthy    vaultwarden") || !strings.Contains(out, "every app is healthy") {
		t.Errorf("apply output:\n%s", out)
	}

	// The owner adds an app: the plan says the server is rebuilt and the data stays.
	data, _ := os.ReadFile(filepath.Join(repo, "site.yaml"))
	os.WriteFile(filepath.Join(repo, "site.yaml"), bytes.Replace(data, []byte("  vaultwarden: {}"), []byte("  vaultwarden: {}\n  uptime-kuma: {}"), 1), 0o644)
	if out, errs, code := run(t, "generate", "--out", repo); code != 0 {
		t.Fatalf("generate: %s%s", out, errs)
	}
	out, errs, code = run(t, "plan", "--allow-unverified", "--out", plan, repo)
	if code != 0 {
		t.Fatalf("plan: %s%s", out, errs)
	}
	for _, want := range []string{"The server will be rebuilt", "Your data volume and IP addresses stay", "If this change adds an app, add the A and AAAA records"} {
		if !strings.Contains(out, want) {
			t.Errorf("change plan lacks %q:\n%s", want, out)
		}
	}
	// Without a backup key the rebuild is refused before anything changes.
	out, errs, code = run(t, "apply", "--plan", plan, repo)
	if code != 1 || !strings.Contains(errs, "no backup can be taken first") {
		t.Errorf("apply without a backup key: code %d\n%s%s", code, out, errs)
	}
}

func pemCA(t *testing.T, ca *testca.CA) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CertDER()})
}
