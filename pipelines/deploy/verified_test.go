package deploy_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/pipelines/deploy"
)

// A site whose catalog release has artefacts without a digest or hash is never planned
// for a server: the refusal lists each one and says how to go on. The built-in release
// has such artefacts until the catalog pipeline pins them. With AllowUnverified the plan
// goes on (here to the missing OpenTofu) and its summary warns.
func TestPlanRefusesUnverifiedArtefacts(t *testing.T) {
	dir := t.TempDir()
	commitSite(t, dir, "vaultwarden")
	env := deploy.Env{Dir: dir, Tofu: filepath.Join(t.TempDir(), "no-tofu"), Catalog: catalog.Embedded()}
	_, err := deploy.MakePlan(context.Background(), env, filepath.Join(t.TempDir(), "tfplan"))
	if err == nil {
		t.Fatal("planned a site built from unverified artefacts")
	}
	for _, want := range []string{"nobody has verified yet", "host/docker-compose sysext " + catalog.Embedded().Compose.Version, "vaultwarden/server docker.io/vaultwarden/server:", "nassella catalog lock", "--allow-unverified"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%v", want, err)
		}
	}

	env.AllowUnverified = true
	if _, err := deploy.MakePlan(context.Background(), env, filepath.Join(t.TempDir(), "tfplan")); err == nil || strings.Contains(err.Error(), "nobody has verified") {
		t.Fatalf("with AllowUnverified: %v, want it to reach OpenTofu", err)
	}
	p := &deploy.Plan{Changes: []deploy.Change{{Address: "hcloud_server.host", Type: "hcloud_server", Action: "create"}}, Unverified: []string{"host/docker-compose sysext " + catalog.Embedded().Compose.Version}}
	if md := deploy.Summarize(p).Markdown(p); !strings.Contains(md, "made with --allow-unverified") || !strings.Contains(md, "never merge it for a real site") {
		t.Errorf("the summary does not warn:\n%s", md)
	}
}
