package validate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/nassella/nassella/generator/render/workflows"
)

// actionlintCheck lints every workflow of the site repo, ours and the owner's own.
func actionlintCheck(dir string) Check {
	c := Check{Name: "actionlint"}
	var files []string
	for _, d := range workflows.Dirs {
		for _, ext := range []string{"*.yml", "*.yaml"} {
			m, _ := filepath.Glob(filepath.Join(dir, d, ext))
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		c.Err = fmt.Errorf("no workflows in %s; run nassella generate", strings.Join([]string{".github/workflows", ".forgejo/workflows"}, " or "))
		return c
	}
	errs, err := LintWorkflows(files)
	if err != nil {
		c.Err = err
		return c
	}
	if len(errs) > 0 {
		c.Err = fmt.Errorf("%s", strings.Join(errs, "\n"))
		return c
	}
	c.Detail = fmt.Sprintf("%d workflows", len(files))
	return c
}

// LintWorkflows runs actionlint on files and returns its findings as file:line:col lines.
func LintWorkflows(files []string) ([]string, error) {
	// Forgejo runners are picked by the "docker" label.
	cfg, err := os.CreateTemp("", "actionlint-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(cfg.Name())
	if _, err := cfg.WriteString("self-hosted-runner:\n  labels: [docker]\n"); err != nil {
		return nil, err
	}
	cfg.Close()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{ConfigFile: cfg.Name()})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		found, err := l.Lint(f, data, nil)
		if err != nil {
			return nil, fmt.Errorf("actionlint %s: %w", f, err)
		}
		for _, e := range found {
			out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind))
		}
	}
	return out, nil
}
