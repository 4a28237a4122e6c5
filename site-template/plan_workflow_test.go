package sitetemplate

import (
	"io/fs"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// planWorkflow is the part of nassella-plan.yml the owner's path through a pull request
// depends on.
type planWorkflow struct {
	Name string `yaml:"name"`
	Jobs map[string]struct {
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// The owner edits only site.yaml: on both forges the plan workflow first checks out the
// pull request's own branch without keeping a token, lets the bot commit the generated
// files with its own token (so the push runs the check again), and only then checks and
// previews; every step an owner sees is named in their words.
func TestPlanWorkflowRegeneratesFirst(t *testing.T) {
	for _, forge := range []string{"github", "forgejo"} {
		n := "workflows/" + forge + "/nassella-plan.yml"
		data, err := fs.ReadFile(FS, n)
		if err != nil {
			t.Fatal(err)
		}
		var w planWorkflow
		if err := yaml.Unmarshal(data, &w); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if w.Name != "Check and preview your change" {
			t.Errorf("%s: name %q", n, w.Name)
		}
		job := w.Jobs["plan"]
		var names []string
		for _, s := range job.Steps {
			names = append(names, s.Name)
		}
		want := []string{"", "Update the generated files", "Check your site.yaml", "Preview what changes on your server", "Post the preview"}
		if strings.Join(names, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: steps %q, want %q", n, names, want)
		}
		co := job.Steps[0]
		if !strings.HasPrefix(co.Uses, "actions/checkout@") || co.With["ref"] != "${{ github.head_ref }}" ||
			co.With["repository"] != "${{ github.event.pull_request.head.repo.full_name }}" || co.With["persist-credentials"] != "false" {
			t.Errorf("%s: checkout %+v; want the head branch, without credentials", n, co)
		}
		regen := job.Steps[1]
		if !strings.HasPrefix(regen.Run, "nassella review regenerate --forge "+forge+" ") || !strings.Contains(regen.Run, `--pr "$PR"`) ||
			regen.Env["NASSELLA_FORGE_TOKEN"] != "${{ secrets.NASSELLA_FORGE_TOKEN }}" {
			t.Errorf("%s: the regenerate step %+v", n, regen)
		}
		if forge == "github" && (len(job.Permissions) != 2 || job.Permissions["contents"] != "read" || job.Permissions["pull-requests"] != "write") {
			t.Errorf("%s: permissions %v; want contents: read and pull-requests: write only (the bot pushes with its own token)", n, job.Permissions)
		}
	}
}
