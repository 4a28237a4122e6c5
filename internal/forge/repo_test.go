package forge

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// TestGitHubRepoAndSecrets: against the simulator the client creates a private repo in an
// organisation and one for the token's user, and stores Actions secrets as sealed boxes
// that open to the exact values, telling a new secret from a replaced one.
func TestGitHubRepoAndSecrets(t *testing.T) {
	const token = "ghp_simulatedtokensimulatedtoken0003"
	sim, err := githubsim.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	for _, owner := range []string{"coop", sim.Login} {
		c, err := New(KindGitHub, sim.URL+"/api/v3/", owner, "site", token, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Repo(ctx); Status(err) != http.StatusNotFound {
			t.Fatalf("%s: a missing repo: %v, want 404", owner, err)
		}
		created, err := c.CreateRepo(ctx, NewRepo{Description: "a site", Private: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Repo(ctx)
		if err != nil || got != created || !got.Private || got.CloneURL != sim.URL+"/"+owner+"/site.git" {
			t.Fatalf("%s: repo %+v (created %+v), %v", owner, got, created, err)
		}
	}
	if calls := sim.Calls(); calls["POST /api/v3/orgs/coop/repos"] != 1 || calls["POST /api/v3/user/repos"] != 1 {
		t.Errorf("repos created with %v, want one in the organisation and one for the user", calls)
	}
	c, _ := New(KindGitHub, sim.URL+"/api/v3/", "coop", "site", token, Options{})
	values := map[string]string{"STATE_PASSPHRASE": "correct horse", "HCLOUD_TOKEN": "hc-secret-value"}
	for name, v := range values {
		if isNew, err := c.SetSecret(ctx, name, v); err != nil || !isNew {
			t.Fatalf("storing %s: created %v, %v", name, isNew, err)
		}
	}
	values["STATE_PASSPHRASE"] = "battery staple"
	if isNew, err := c.SetSecret(ctx, "STATE_PASSPHRASE", values["STATE_PASSPHRASE"]); err != nil || isNew {
		t.Fatalf("replacing: created %v, %v", isNew, err)
	}
	if got := sim.Secrets("coop", "site"); len(got) != 2 || got["STATE_PASSPHRASE"] != values["STATE_PASSPHRASE"] || got["HCLOUD_TOKEN"] != values["HCLOUD_TOKEN"] {
		t.Errorf("the sealed boxes open to other values (%d secrets)", len(got))
	}
	names, err := c.SecretNames(ctx)
	if err != nil || !slices.Equal(names, []string{"HCLOUD_TOKEN", "STATE_PASSPHRASE"}) {
		t.Fatalf("secrets %v, %v", names, err)
	}
	// The key is read once per client.
	if n := sim.Calls()["GET ^/api/v3/repos/([^/]+)/([^/]+)/actions/secrets/public-key$"]; n != 1 {
		t.Errorf("the public key was read %d times, want once", n)
	}
}

// TestGiteaRepoAndSecrets: on a real Gitea the client finds a repo missing, creates it
// private with main as default branch in an organisation, and stores an Actions secret,
// telling a new one from a replaced one; only names come back.
func TestGiteaRepoAndSecrets(t *testing.T) {
	g := giteatest.Start(t)
	ctx := context.Background()
	if err := g.CreateOrg(ctx, "riverside"); err != nil {
		t.Fatal(err)
	}
	c, err := New(KindGitea, g.URL+"/api/v1/", "riverside", "site", g.Token, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Repo(ctx); Status(err) != http.StatusNotFound {
		t.Fatalf("a missing repo: %v (status %d), want 404", err, Status(err))
	}
	if login, err := c.User(ctx); err != nil || login != giteatest.AdminUser {
		t.Fatalf("user %q, %v", login, err)
	}
	created, err := c.CreateRepo(ctx, NewRepo{Description: "a site", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Repo(ctx)
	if err != nil || got != created || !got.Private || got.DefaultBranch != "main" || !strings.HasSuffix(got.CloneURL, "/riverside/site.git") {
		t.Fatalf("repo %+v (created %+v), %v", got, created, err)
	}
	for i, want := range []bool{true, false} {
		isNew, err := c.SetSecret(ctx, "STATE_PASSPHRASE", "value-"+string(rune('a'+i)))
		if err != nil || isNew != want {
			t.Fatalf("storing the secret, time %d: created %v, %v", i+1, isNew, err)
		}
	}
	names, err := c.SecretNames(ctx)
	if err != nil || !slices.Equal(names, []string{"STATE_PASSPHRASE"}) {
		t.Fatalf("secrets %v, %v", names, err)
	}
}
