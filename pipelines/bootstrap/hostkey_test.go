package bootstrap

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/sshx"
)

// Bootstrap makes the site's host key when none is given and stores it with the other
// secrets; a key it made never replaces the one the forge has (even with
// --replace-secrets), as the running server carries that one.
func TestHostKeyMadeAndKept(t *testing.T) {
	gh, api := startGitHubSecrets(t)
	l, _ := loadSite(t)
	var out bytes.Buffer
	run := func(replace bool) *runner {
		secrets := testSecrets()
		delete(secrets, HostKeySecret)
		r := &runner{cfg: Config{Site: l, Secrets: secrets, Out: &out,
			Forge: &Forge{Kind: "github", URL: "https://github.com", API: api, Owner: "coop", Repo: "site", Token: "gh-test-token", ReplaceSecrets: replace}}, rep: &Report{}}
		r.defaults()
		r.ensureHostKey()
		r.ensureForge(context.Background())
		return r
	}
	r := run(false)
	if s := r.rep.Step("server host key"); s.Status != Done || !strings.Contains(s.Detail, "SHA256:") {
		t.Errorf("host key step: %+v", s)
	}
	stored := gh.secrets[HostKeySecret]
	key, err := sshx.ParseHostKey([]byte(stored))
	if err != nil || key.Type() != "ssh-ed25519" || !strings.HasPrefix(stored, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Fatalf("stored host key: %v", err)
	}
	if s := r.rep.Step("secret " + HostKeySecret); s.Status != Done {
		t.Errorf("storing the host key: %+v", s)
	}
	r = run(true)
	if gh.secrets[HostKeySecret] != stored {
		t.Error("a second run with --replace-secrets replaced the server's host key")
	}
	if s := r.rep.Step("secret " + HostKeySecret); s.Status != AlreadyThere || !strings.Contains(s.Detail, "dropped") {
		t.Errorf("second run: %+v", s)
	}
	if strings.Contains(out.String(), stored) || strings.Contains(out.String(), "PRIVATE KEY") {
		t.Fatalf("the private host key was printed:\n%s", out.String())
	}

	// A given key that is not a private ed25519 key is refused before anything is stored.
	r = &runner{cfg: Config{Site: l, Secrets: map[string]string{HostKeySecret: string(gh.secrets["BACKUP_SSH_KEY"][:20])}}, rep: &Report{}}
	r.ensureHostKey()
	if s := r.rep.Step("server host key"); s.Status != Failed || !strings.Contains(s.Fix, "ssh-keygen -t ed25519") {
		t.Errorf("a broken host key: %+v", s)
	}
}
