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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

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
	return StartWith(t, Options{})
}

// Options are what a job needs beyond the forge: a catalog release whose artefacts are
// pinned (nassella plan builds no server from any other), a name server and a CA, as a
// customer's runner has the internet's and Debian's.
type Options struct {
	// Catalog is a catalog folder the image's nassella carries instead of the checkout's
	// (PinnedCatalog).
	Catalog string
	// DNS is the job containers' name server, an address on 127.0.0.0/8 at port 53
	// (dnssim.StartAt), which their /etc/resolv.conf names instead of the machine's.
	DNS string
	// CACert is a PEM certificate the image trusts besides Debian's CAs, e.g. testca's
	// for the test's HTTPS servers. It is added the Debian way (update-ca-certificates).
	CACert []byte
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Runner {
	t.Helper()
	act := testtool.Require(t, "NASSELLA_ACT", ".ci/tools-act.sh")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	var do dockertest.Options
	if o.DNS != "" {
		do.DNS = []string{o.DNS}
	}
	d := dockertest.StartWith(t, do)
	src := root
	if o.Catalog != "" {
		src = moduleWithCatalog(t, root, o.Catalog)
	}
	buildImage(t, d, src, Image)
	if o.CACert != nil {
		trustCA(t, d, Image, o.CACert)
	}
	return &Runner{act: act, daemon: d, root: root, home: t.TempDir()}
}

// BuildImage builds the CI image from this checkout with ci-images/build.sh in d, tagged
// tag.
func BuildImage(t testing.TB, d *dockertest.Daemon, tag string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	buildImage(t, d, filepath.Join(filepath.Dir(file), "..", "..", ".."), tag)
}

// buildImage runs the build.sh of the module at root. Its own limit: a new machine
// compiles nassella with an empty build cache.
func buildImage(t testing.TB, d *dockertest.Daemon, root, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "bash", filepath.Join(root, "ci-images", "build.sh"), tag)
	build.Env = append(os.Environ(), d.Env()...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("ci-images/build.sh: %v\n%s", err, out)
	}
}

// trustCA adds cert to image's CA store as a layer on top, under the same tag.
func trustCA(t testing.TB, d *dockertest.Daemon, image string, cert []byte) {
	t.Helper()
	dir := t.TempDir()
	dockerfile := "FROM " + image + "\n" +
		"COPY nassella-test-ca.crt /usr/local/share/ca-certificates/\n" +
		"RUN update-ca-certificates\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nassella-test-ca.crt"), cert, 0o644); err != nil {
		t.Fatal(err)
	}
	// The daemon has no default bridge; the RUN step needs no network.
	build := exec.Command("docker", "build", "--network", "none", "--tag", image, dir)
	build.Env = append(os.Environ(), d.Env()...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("adding the test CA to %s: %v\n%s", image, err, out)
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
	// Env are variables every step sees besides the workflow's own, as a runner's
	// environment: e.g. TF_VAR_hcloud_endpoint for a simulator. Never secrets.
	Env map[string]string
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
	// Secrets go in a file, never on a command line another process could read. act reads
	// a .yml secret file as YAML (cmd/root.go readEnvsEx), so a value may span lines, as a
	// private key does.
	secrets, err := yaml.Marshal(j.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(work, "secrets.yml")
	if err := os.WriteFile(secretFile, secrets, 0o600); err != nil {
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
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		args = append(args, "--env", k+"="+j.Env[k])
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
