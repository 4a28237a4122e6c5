package deploy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/pipelines/deploy"
)

// The state lives encrypted in a real S3 server (versitygw) and is locked with a lock
// file: a second run while the first holds the lock is refused at once.
func TestStateInS3IsEncryptedAndLocked(t *testing.T) {
	bin := tofu(t)
	s3 := s3test.Start(t)
	bucket := s3.Bucket(t, "acme-state")
	for _, kv := range s3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	sim := hcloudsim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")

	dir := t.TempDir()
	commitSiteRaw(t, dir, strings.Replace(siteTemplate, "%s", "  vaultwarden: {}", 1)+
		"state:\n  s3: { endpoint: \"https://s3.example\", bucket: acme-state }\n")
	env := deploy.Env{AllowUnverified: true, Dir: dir, Tofu: bin, Catalog: catalog.Embedded(), BackendConfig: []string{s3.BackendFile(t)}}
	ctx := context.Background()
	plan := filepath.Join(t.TempDir(), "tfplan")
	if _, err := deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatal(err)
	}
	// The apps cannot answer here: a one-second health timeout, then a rollback that finds
	// no earlier configuration; the state is what this test is about.
	sim.SetActionDelay(1500 * time.Millisecond) // keeps the first apply holding the lock
	done := make(chan error, 1)
	go func() {
		_, err := deploy.Apply(ctx, env, deploy.ApplyOptions{Plan: plan, Health: health.Options{Timeout: time.Second}})
		done <- err
	}()
	stateKey := filepath.Join(bucket, "nassella", "acme", "terraform.tfstate")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(stateKey + ".tflock"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first apply never took the lock")
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	_, err := deploy.MakePlan(ctx, env, filepath.Join(t.TempDir(), "second"))
	if err == nil || !strings.Contains(err.Error(), "lock") {
		t.Errorf("a second run while the lock is held: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the second run waited %s instead of failing at once", d)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "unhealthy") {
		t.Fatalf("first apply: %v", err)
	}
	state, err := os.ReadFile(stateKey)
	if err != nil {
		t.Fatalf("no state in the bucket: %v", err)
	}
	if bytes.Contains(state, []byte("hcloud_server")) || bytes.Contains(state, []byte("NASSELLA_DATA_DEVICE")) || !bytes.Contains(state, []byte("encrypted_data")) {
		t.Errorf("the state in S3 is not encrypted:\n%.300s", state)
	}
	if _, err := os.Stat(stateKey + ".tflock"); !os.IsNotExist(err) {
		t.Error("the lock was not released")
	}
	// With the wrong passphrase the state cannot be read.
	t.Setenv("TF_VAR_state_passphrase", "another passphrase entirely")
	if _, err := deploy.MakePlan(ctx, env, filepath.Join(t.TempDir(), "third")); err == nil {
		t.Error("the state was read with the wrong passphrase")
	}
}
