package sitetemplate

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is the part of a workflow file the least-privilege rules concern.
type workflow struct {
	Permissions any `yaml:"permissions"`
	Concurrency *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Jobs map[string]struct {
		Environment any `yaml:"environment"`
		Permissions any `yaml:"permissions"`
		Steps       []struct {
			Uses string `yaml:"uses"`
			Env  map[string]string
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func workflows(t *testing.T) map[string]workflow {
	names, err := fs.Glob(FS, "workflows/*/*.yml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	out := map[string]workflow{}
	for _, n := range names {
		data, err := fs.ReadFile(FS, n)
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.Unmarshal(data, &w); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[n] = w
	}
	return out
}

// A tag of a third-party action can be moved to other code that then runs with the
// site's secrets; a full commit SHA cannot. The version goes in a comment.
var pinned = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)

func TestWorkflowsPinActionsBySHA(t *testing.T) {
	for n, w := range workflows(t) {
		for job, j := range w.Jobs {
			for _, s := range j.Steps {
				if s.Uses != "" && !strings.HasPrefix(s.Uses, "./") && !pinned.MatchString(s.Uses) {
					t.Errorf("%s job %s uses %q: pin it by full commit SHA (uses: owner/action@<40 hex> # vX.Y.Z)", n, job, s.Uses)
				}
			}
		}
	}
}

// Two applies at once would race on the state and the server: every forge's apply
// runs one at a time, to its end.
func TestApplyRunsOneAtATime(t *testing.T) {
	for _, n := range []string{"workflows/github/nassella-apply.yml", "workflows/forgejo/nassella-apply.yml"} {
		w := workflows(t)[n]
		if w.Concurrency == nil || w.Concurrency.Group != "nassella-apply" || w.Concurrency.CancelInProgress {
			t.Errorf("%s: want concurrency group nassella-apply without cancel-in-progress, have %+v", n, w.Concurrency)
		}
	}
}

// On GitHub every workflow grants nothing by default and each job only what it needs;
// the apply job, the only one that changes the site, runs in the production environment
// (whose secrets only it can read).
func TestGitHubWorkflowsLeastPrivilege(t *testing.T) {
	for n, w := range workflows(t) {
		if !strings.HasPrefix(n, "workflows/github/") {
			continue
		}
		if m, ok := w.Permissions.(map[string]any); !ok || len(m) != 0 {
			t.Errorf("%s: want permissions: {} at the top, have %v", n, w.Permissions)
		}
		for job, j := range w.Jobs {
			if j.Permissions == nil {
				t.Errorf("%s job %s: no permissions: of its own", n, job)
			}
			if prod := j.Environment == "production"; prod != (job == "apply") {
				t.Errorf("%s job %s: environment %v; only the apply job runs in production", n, job, j.Environment)
			}
		}
	}
}

// The apply workflows speak to the owner, run every hour to apply a change that waits for
// the maintenance window, can be run by hand, and open an issue when applying fails.
func TestApplyWorkflowsWaitForTheWindow(t *testing.T) {
	for _, n := range []string{"workflows/github/nassella-apply.yml", "workflows/forgejo/nassella-apply.yml"} {
		data, err := fs.ReadFile(FS, n)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Name string `yaml:"name"`
			On   struct {
				Schedule []struct {
					Cron string `yaml:"cron"`
				} `yaml:"schedule"`
				Dispatch *struct{} `yaml:"workflow_dispatch"`
			} `yaml:"on"`
			Jobs map[string]struct {
				Steps []struct {
					Name string `yaml:"name"`
					If   string `yaml:"if"`
					Run  string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &w); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if w.Name != "Apply your change" {
			t.Errorf("%s: name %q", n, w.Name)
		}
		// Once an hour: minute fixed, every hour, day, month and weekday.
		if len(w.On.Schedule) != 1 || !regexp.MustCompile(`^[0-5]?[0-9] \* \* \* \*$`).MatchString(w.On.Schedule[0].Cron) {
			t.Errorf("%s: schedule %+v, want one hourly cron", n, w.On.Schedule)
		}
		if w.On.Dispatch == nil {
			t.Errorf("%s: no workflow_dispatch: the owner cannot apply a waiting change by hand", n)
		}
		steps := map[string]string{}
		var runs strings.Builder
		for _, s := range w.Jobs["apply"].Steps {
			steps[s.Name] = s.If
			runs.WriteString(s.Run)
		}
		for _, name := range []string{"Find what is waiting", "Check your site.yaml", "Apply your change", "Remember the last good configuration"} {
			if _, ok := steps[name]; !ok {
				t.Errorf("%s: no step %q", n, name)
			}
		}
		if steps["Tell you that your change failed"] != "failure()" {
			t.Errorf("%s: no step that reports a failed apply (if: failure())", n)
		}
		for _, want := range []string{`--commit "$GITHUB_SHA"`, "refs/tags/nassella/last-tried", "nassella review apply-failed", `--sha "$GITHUB_SHA"`} {
			if !strings.Contains(runs.String(), want) {
				t.Errorf("%s: the steps never run %q", n, want)
			}
		}
	}
}
