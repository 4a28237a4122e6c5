// Package actrunner runs a site repo's workflows for real in tests: under nektos/act (a
// GitHub Actions runner; .ci/tools-act.sh builds it), in the CI image built from this
// checkout by ci-images/build.sh, on a private Docker daemon (dockertest).
//
// The job containers share the machine's network (act's default, --network host), so a
// workflow reaches the forge, the simulators and the S3 server the test runs on 127.0.0.1.
//
// Third-party actions cannot be fetched here: each one the site workflows use is replaced
// by a stand-in under ci-images/testdata/standin-actions (act --local-repository), which
// does the same job with the same tools; StandIns lists them. Nothing else is changed: the
// workflow files are the generated ones.
package actrunner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// Image is what the site workflows name as their container (site-template/workflows).
var Image = "ghcr.io/nassella/ci:" + generator.Version

// StandIns maps each action the site workflows use, as they pin it, to its stand-in's
// folder under ci-images/testdata/standin-actions.
var StandIns = map[string]string{
	"actions/checkout@11d5960a326750d5838078e36cf38b85af677262": "checkout",
}

// Runner is act with the CI image on a private Docker daemon.
type Runner struct {
	act    string
	daemon *dockertest.Daemon
	root   string // the module's root
	home   string // act's HOME (its cache and ~/.actrc), empty
}

// Start starts a Docker daemon and builds the CI image in it (a few minutes the first
// time a machine builds its base; about one after).
func Start(t testing.TB) *Runner {
	t.Helper()
	act := testtool.Require(t, "NASSELLA_ACT", ".ci/tools-act.sh")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	d := dockertest.Start(t, nil)
	BuildImage(t, d, Image)
	return &Runner{act: act, daemon: d, root: root, home: t.TempDir()}
}

// BuildImage builds the CI image from this checkout with ci-images/build.sh in d, tagged
// tag. Its own limit: a new machine compiles nassella with an empty build cache.
func BuildImage(t testing.TB, d *dockertest.Daemon, tag string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "ci-images", "build.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "bash", script, tag)
	build.Env = append(os.Environ(), d.Env()...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("ci-images/build.sh: %v\n%s", err, out)
	}
}

// Job is one workflow run.
type Job struct {
	// Dir is a clone of the site repo: act reads the workflow from it and takes the
	// repository's name from its origin remote (which must be on ServerURL's host).
	Dir string
	// Workflow is the workflow file, relative to Dir (.github/workflows/nassella-plan.yml).
	Workflow string
	// Event is the event's name (pull_request, push, schedule, workflow_dispatch) and
	// Payload its webhook payload, as the forge sends it.
	Event   string
	Payload any
	// ServerURL is the forge's address (github.server_url) and APIURL its REST API's
	// (github.api_url; GitHub workflows read it, Forgejo's build theirs on ServerURL).
	ServerURL, APIURL string
	// Secrets are the repo's Actions secrets; GITHUB_TOKEN is also github.token.
	Secrets map[string]string
}

// Result is what the run printed and how it ended.
type Result struct {
	Log    string
	Failed bool
}

// Run runs the job's workflow under act and returns its log; an act that cannot run the
// workflow at all (a parse error, a missing image) fails the test.
func (r *Runner) Run(t testing.TB, j Job) Result {
	t.Helper()
	work := t.TempDir()
	payload, err := json.Marshal(j.Payload)
	if err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(work, "event.json")
	if err := os.WriteFile(event, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	// Secrets go in a file, never on a command line another process could read.
	var secrets bytes.Buffer
	names := make([]string, 0, len(j.Secrets))
	for k := range j.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := j.Secrets[k]
		if strings.ContainsAny(v, "\n\"") {
			t.Fatalf("secret %s: the test's secrets are one line without quotes", k)
		}
		fmt.Fprintf(&secrets, "%s=%q\n", k, v)
	}
	secretFile := filepath.Join(work, "secrets")
	if err := os.WriteFile(secretFile, secrets.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(j.ServerURL, "http://"), "https://")
	args := []string{j.Event,
		"--workflows", filepath.Join(j.Dir, j.Workflow), "--no-recurse",
		"--directory", j.Dir,
		"--eventpath", event,
		"--secret-file", secretFile, "--env-file", filepath.Join(work, "no.env"),
		"--github-instance", host,
		"--env", "GITHUB_SERVER_URL=" + j.ServerURL,
		"--platform", "ubuntu-latest=" + Image, "--platform", "docker=" + Image,
		"--pull=false", "--action-offline-mode", "--no-skip-checkout",
		// The jobs get no Docker socket: a site's workflow never needs one.
		"--container-daemon-socket", "-",
		"--network", "host",
		"--rm",
	}
	if j.APIURL != "" {
		args = append(args, "--env", "GITHUB_API_URL="+j.APIURL)
	}
	for uses, dir := range StandIns {
		args = append(args, "--local-repository", uses+"="+filepath.Join(r.root, "ci-images", "testdata", "standin-actions", dir))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.act, args...)
	cmd.Dir = j.Dir
	cmd.Env = append(os.Environ(), r.daemon.Env()...)
	cmd.Env = append(cmd.Env, "HOME="+r.home, "XDG_CACHE_HOME="+filepath.Join(r.home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(r.home, ".config"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	res := Result{Log: out.String()}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
			t.Fatalf("act: %v\n%s", err, res.Log)
		}
		res.Failed = true
	}
	if strings.Contains(res.Log, "Skipping unsupported platform") || !strings.Contains(res.Log, "🏁  Job ") {
		t.Fatalf("act ran no job of %s:\n%s", j.Workflow, res.Log)
	}
	return res
}
