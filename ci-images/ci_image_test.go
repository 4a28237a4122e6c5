package ciimages

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
	"mvdan.cc/sh/v3/syntax"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/testenv/actrunner"
	"github.com/nassella/nassella/internal/testenv/dockertest"
)

const ciTag = "nassella-ci:test"

// The CI image, built by build.sh in a private Docker daemon from a debootstrapped root
// (nothing pulled), holds every command the site workflows call, and does a site's whole
// offline job in a container without a network: for an example site of each platform,
// `nassella demo` generates the repo and validates it with OpenTofu, which installs that
// platform's providers from the image's mirror.
func TestCIImage(t *testing.T) {
	d := dockertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	began := time.Now()
	actrunner.BuildImage(t, d, ciTag)
	size, _, err := d.Run(ctx, nil, "docker", "image", "inspect", "--format", "{{.Size}}", ciTag)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build.sh took %s; the image weighs %s bytes", time.Since(began).Round(time.Second), strings.TrimSpace(string(size)))
	// run runs a bash script in a fresh container of the image, without a network as a
	// runner's job would have none to the registries.
	run := func(t *testing.T, script string) string {
		t.Helper()
		out, stderr, err := d.Run(ctx, nil, "docker", "run", "--rm", "--network", "none", ciTag, "bash", "-euo", "pipefail", "-c", script)
		if err != nil {
			t.Fatalf("%s\n%s", err, stderr)
		}
		return string(out)
	}

	t.Run("every command the workflows call is there, at the versions the scripts build", func(t *testing.T) {
		tofu := regexp.MustCompile(`TOFU_VERSION=([0-9.]+)`).FindStringSubmatch(readFile(t, "../.ci/tools.sh"))
		if tofu == nil {
			t.Fatal(".ci/tools.sh has no TOFU_VERSION")
		}
		for _, c := range []struct{ cmd, want string }{
			{"nassella version", generator.Version},
			{"tofu version", "OpenTofu v" + tofu[1]},
			{"git --version", "git version 2."},
			{"jq --version", "jq-1."},
			{"curl --version", "curl 7."},
			{"ssh -V 2>&1", "OpenSSH_"},
			// A runner runs JavaScript actions (actions/checkout) with the job container's node.
			{"node --version", "v18."},
			{"bash --version", "GNU bash"},
			{"tee --version && sed --version && mktemp --version", "GNU coreutils"},
			// An HTTPS call from a step checks the forge's certificate against these.
			{"ls /etc/ssl/certs/ca-certificates.crt", "ca-certificates.crt"},
		} {
			if out := run(t, c.cmd); !strings.Contains(out, c.want) {
				t.Errorf("%s printed %q, want %q in it", c.cmd, out, c.want)
			}
		}
	})

	t.Run("the workflows' commands are on the image's PATH", func(t *testing.T) {
		// Each command word that starts a line of a run: script in the site workflows.
		words := map[string]bool{}
		for _, cmd := range workflowCommands(t) {
			words[cmd] = true
		}
		if !words["nassella"] || !words["git"] {
			t.Fatalf("found only %v in the workflows: the parse missed nassella and git", words)
		}
		script := ""
		for w := range words {
			script += "command -v " + w + " >/dev/null || echo missing: " + w + "\n"
		}
		if out := run(t, script); out != "" {
			t.Errorf("the image lacks what the workflows call:\n%s", out)
		}
	})

	for _, example := range []string{"small-office", "own-hardware", "openstack-cloud"} {
		t.Run("offline demo of "+example, func(t *testing.T) {
			out := run(t, "cd /tmp && nassella demo --example "+example+" site")
			if !strings.Contains(out, "files written") || !strings.Contains(out, "ok    opentofu validate") || !strings.Contains(out, "site is valid") {
				t.Errorf("nassella demo --example %s:\n%s", example, out)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// workflowCommands returns the commands the site workflows' run: scripts call (each simple
// command's first word, parsed as bash parses it), besides the shell's own builtins.
func workflowCommands(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../site-template/workflows/*/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no site workflows (%v)", err)
	}
	// ${{ }} is the runner's, replaced before bash sees the script.
	expr := regexp.MustCompile(`\$\{\{[^}]*\}\}`)
	seen := map[string]bool{}
	for _, f := range files {
		w, errs := actionlint.Parse([]byte(readFile(t, f)))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs[0])
		}
		for _, j := range w.Jobs {
			for _, s := range j.Steps {
				r, ok := s.Exec.(*actionlint.ExecRun)
				if !ok || r.Run == nil {
					continue
				}
				prog, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(expr.ReplaceAllString(r.Run.Value, "x")), f)
				if err != nil {
					t.Fatalf("%s: a run: script bash cannot parse: %v", f, err)
				}
				syntax.Walk(prog, func(n syntax.Node) bool {
					if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 {
						if word := c.Args[0].Lit(); word != "" && !isBuiltin(word) {
							seen[word] = true
						}
					}
					return true
				})
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// isBuiltin says whether bash runs word itself, whatever the image holds.
func isBuiltin(word string) bool {
	switch word {
	case "echo", "printf", "set", "export", "umask", "cd", "exit", "return", "local", "read",
		"test", "[", "true", "false", "shift", "trap", ":", "command", "declare", "unset", "wait":
		return true
	}
	return false
}
