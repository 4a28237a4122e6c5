package readme_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/generator/render/readme"
)

// The README says which plan the site is on, what reaches the server by itself and the
// one line that switches plans.
func TestUpdatesSection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edits     []string
		want, not []string
	}{
		{"left out", nil,
			[]string{"**Your plan: all updates** (`plan: full` under `updates:`", "restarts in your maintenance window (Wed 04:00, Europe/Helsinki time), whatever your plan",
				"Your apps run the versions listed above", "set `plan: os-only` under `updates:`"},
			[]string{"os-only` to `plan: full"}},
		{"os-only", []string{"updates:\n", "updates:\n  plan: os-only\n"},
			[]string{"**Your plan: operating system updates only** (`plan: os-only`", "installs its own updates, security fixes included",
				"do not reach your server", "its update run notes which ones your site is missing, app by app", "ask your co-op for that list", "change `plan: os-only` to `plan: full` in `site.yaml` (a one-line pull request)"},
			[]string{"all updates**"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, tc.edits...)
			md, err := readme.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			got := string(md)
			if sec := readme.UpdatesSection(in.Site); !strings.Contains(got, sec) {
				t.Fatalf("the README lacks its updates section:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("README lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("README has %q", n)
				}
			}
		})
	}
}
