package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/pipelines/deploy"
)

// commitAll commits the repo's working tree, as a merge to main would.
func commitAll(t *testing.T, dir, msg string, parents ...plumbing.Hash) plumbing.Hash {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, false)
		os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(".terraform/\n*.tfstate*\n.terraform.lock.hcl\n"), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.org", When: time.Unix(1e9, 0)}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, AllowEmptyCommits: true, Parents: parents})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func tagGood(t *testing.T, repo *git.Repository, at plumbing.Hash) {
	t.Helper()
	_ = repo.DeleteTag(deploy.LastGoodTag)
	if _, err := repo.CreateTag(deploy.LastGoodTag, at, nil); err != nil {
		t.Fatal(err)
	}
}

// A last-good tag on a commit that never was on main (anyone who may push a tag can make
// one) is ignored with a warning: the rollback goes to HEAD~1 instead.
func TestLastGoodTagMustBeInHistory(t *testing.T) {
	dir := t.TempDir()
	commitSite(t, dir, "vaultwarden")
	repo, _ := git.PlainOpen(dir)
	first, _ := repo.Head()
	commitSite(t, dir, "nextcloud", "vaultwarden")
	head, _ := repo.Head()
	// A commit beside main, then main back where it was.
	stray := commitAll(t, dir, "not on main", first.Hash())
	if err := repo.Storer.SetReference(plumbing.NewHashReference(head.Name(), head.Hash())); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	env := deploy.Env{AllowUnverified: true, Dir: dir, Log: &log}

	tagGood(t, repo, stray)
	rev, c, err := env.LastGoodForTest(repo, "")
	if err != nil || rev != "HEAD~1" || c.Hash != first.Hash() {
		t.Errorf("with a stray tag the rollback goes to %s %v (%v), want HEAD~1 %s", rev, c, err, first.Hash())
	}
	if !strings.Contains(log.String(), "not in the history of HEAD") {
		t.Errorf("no warning about the stray tag: %q", log.String())
	}

	tagGood(t, repo, first.Hash())
	log.Reset()
	if rev, c, err := env.LastGoodForTest(repo, ""); err != nil || rev != deploy.LastGoodTag || c.Hash != first.Hash() || log.Len() != 0 {
		t.Errorf("with the tag on main the rollback goes to %s %v (%v), log %q", rev, c, err, log.String())
	}
}

// A commit with Terraform its lock does not list (slipped in before validate refused it)
// is not rolled back to, and the working tree stays as it was.
func TestRollbackRefusesUngeneratedFiles(t *testing.T) {
	dir := t.TempDir()
	commitSite(t, dir, "vaultwarden")
	override := filepath.Join(dir, "terraform", "zz_override.tf.json")
	os.WriteFile(override, []byte(`{"data": {"external": {"leak": {"program": ["sh"]}}}}`), 0o644)
	bad := commitAll(t, dir, "an override")
	os.Remove(override)
	commitSite(t, dir, "nextcloud", "vaultwarden")
	repo, _ := git.PlainOpen(dir)
	c, err := repo.CommitObject(bad)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if _, err := deploy.SwapInForTest(dir, c); err == nil || !strings.Contains(err.Error(), "terraform/zz_override.tf.json, which nassella did not generate") {
		t.Fatalf("rollback to a commit with an override: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "site.yaml")); string(after) != string(before) {
		t.Error("the refused rollback changed the working tree")
	}
	if _, err := os.Stat(override); !os.IsNotExist(err) {
		t.Error("the refused rollback wrote the override")
	}
}

// A rollback never takes danger_zone from the commit it rolls back to: an old commit that
// allowed destroying data (the site was moved then) does not let the rollback move the
// volume back, when the site.yaml being applied does not allow it.
func TestRollbackKeepsTheCurrentDangerZone(t *testing.T) {
	ctx := context.Background()
	bin, sim, ca, _, srv := startE2E(t, map[string]bool{"status": true}, "vault.acme.example", "status.acme.example")
	addr := strings.TrimPrefix(srv.URL, "https://")
	checks := health.Options{Resolve: map[string]string{"vault.acme.example": addr, "status.acme.example": addr},
		RootCAs: ca.Pool, Timeout: 2 * time.Second, Interval: 100 * time.Millisecond}

	dir := t.TempDir()
	var log strings.Builder
	env := deploy.Env{AllowUnverified: true, Dir: dir, Tofu: bin, Catalog: catalog.Embedded(), Log: &log}
	plan := filepath.Join(t.TempDir(), "tfplan")
	apply := func(text string) error {
		t.Helper()
		commitSiteRaw(t, dir, text)
		commitAll(t, dir, "change")
		if _, err := deploy.MakePlan(ctx, env, plan); err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		_, err := deploy.Apply(ctx, env, deploy.ApplyOptions{Plan: plan, Health: checks, SkipBackup: true})
		return err
	}
	site := func(location, danger string, apps ...string) string {
		s := strings.Replace(siteTemplate, "%s", "  "+strings.Join(apps, ": {}\n  ")+": {}", 1)
		return strings.Replace(s, "location: nbg1", "location: "+location, 1) + danger
	}
	const allow = "danger_zone: { allow_destroying_data: true }\n"

	// The site in fsn1, then moved to nbg1, both allowed to destroy data.
	if err := apply(site("fsn1", allow, "vaultwarden")); err != nil {
		t.Fatalf("first apply: %v\n%s", err, log.String())
	}
	repo, _ := git.PlainOpen(dir)
	inFsn1, _ := repo.Head()
	if err := apply(site("nbg1", allow, "vaultwarden")); err != nil {
		t.Fatalf("the move: %v\n%s", err, log.String())
	}
	moved := sim.Volumes()
	// The last good configuration is the one in fsn1; the change now applied allows
	// nothing dangerous and fails its health check.
	tagGood(t, repo, inFsn1.Hash())
	err := apply(site("nbg1", "", "uptime-kuma", "vaultwarden"))
	if err == nil || !strings.Contains(err.Error(), "rolling back") || !strings.Contains(err.Error(), "allow_destroying_data") {
		t.Fatalf("the rollback was not refused for destroying the volume: %v\n%s", err, log.String())
	}
	if v := sim.Volumes(); len(v) != 1 || v[0].ID != moved[0].ID {
		t.Errorf("the rollback replaced the volume: %+v, was %+v", v, moved)
	}
}
