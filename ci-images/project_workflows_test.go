package ciimages

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// The project's own workflows (GitHub and Forgejo) pass actionlint with the Forgejo runner
// labels they assume declared, and on GitHub and Forgejo alike the workflow run on every
// push and pull request has a job that calls .ci/run.
func TestProjectWorkflows(t *testing.T) {
	l := projectLinter(t)
	for _, dir := range []string{"../.github/workflows", "../.forgejo/workflows"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no workflows in %s (%v)", dir, err)
		}
		found, err := l.LintFiles(files, nil)
		if err != nil {
			t.Fatalf("actionlint %s: %v", dir, err)
		}
		for _, e := range found {
			t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
		}
		callsRun := false
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// A file that does not parse was reported by actionlint above.
			if w, errs := actionlint.Parse(data); len(errs) == 0 && onPushAndPR(w) && runsCIScript(w) {
				callsRun = true
			}
		}
		if !callsRun {
			t.Errorf("%s: no workflow on push and pull_request has a job that runs .ci/run", dir)
		}
	}
}

func onPushAndPR(w *actionlint.Workflow) bool {
	seen := map[string]bool{}
	for _, e := range w.On {
		if h, ok := e.(*actionlint.WebhookEvent); ok && h.Hook != nil {
			seen[h.Hook.Value] = true
		}
	}
	return seen["push"] && seen["pull_request"]
}

func runsCIScript(w *actionlint.Workflow) bool {
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil && strings.Contains(r.Run.Value, ".ci/run") {
				return true
			}
		}
	}
	return false
}

// projectLinter declares the Forgejo runner labels the workflows assume, and checks the
// run scripts with shellcheck where it is installed (it is in CI).
func projectLinter(t *testing.T) *actionlint.Linter {
	opts := &actionlint.LinterOptions{ConfigFile: filepath.Join(t.TempDir(), "actionlint.yaml")}
	labels := "self-hosted-runner:\n  labels: [docker, docker-engine, vmtest]\n"
	if err := os.WriteFile(opts.ConfigFile, []byte(labels), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Shellcheck, _ = exec.LookPath("shellcheck")
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
