package site_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
)

// updates.plan is full when left out; anything but full or os-only is refused at its line,
// naming both plans.
func TestPlan(t *testing.T) {
	data, _ := examples.Get("one-app")
	base := string(data)
	if !strings.Contains(base, "updates:\n") || strings.Contains(base, "plan:") {
		t.Fatal("the one-app example changed: it must have updates: and no plan:")
	}
	line := strings.Count(base[:strings.Index(base, "updates:\n")], "\n") + 2 // the line after updates:
	for _, tc := range []struct {
		name, plan string // plan "" leaves the line out
		want       string
		osOnly     bool
		err        string
	}{
		{name: "left out", want: "full"},
		{name: "full", plan: "full", want: "full"},
		{name: "os-only", plan: "os-only", want: "os-only", osOnly: true},
		{name: "typo", plan: "os_only", err: `:9: plan "os_only" is unknown; did you mean "os-only"? The plans are full and os-only`},
		{name: "other word", plan: "subscription", err: `:9: plan "subscription" is unknown; use full (every update) or os-only (only the server's operating system updates itself)`},
		{name: "empty", plan: `""`, err: `:9: plan "" is unknown; use full`},
		{name: "capitals", plan: "Full", err: `:9: plan "Full" is unknown; did you mean "full"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := base
			if tc.plan != "" {
				text = strings.Replace(base, "updates:\n", "updates:\n  plan: "+tc.plan+"\n", 1)
			}
			l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
			if tc.err != "" {
				want := "site.yaml:" + strconv.Itoa(line) + tc.err
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("error %v\nwant it to start with %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Updates.PlanName(); got != tc.want {
				t.Errorf("PlanName() = %q, want %q", got, tc.want)
			}
			if got := l.Updates.OSOnly(); got != tc.osOnly {
				t.Errorf("OSOnly() = %v, want %v", got, tc.osOnly)
			}
		})
	}
}

// The update bot reads the plan alone, from files that may not load as a whole.
func TestPlanOf(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"updates: { plan: os-only }\napps: { gone-from-the-catalog: {} }\n", "os-only"},
		{"updates: { plan: full }\n", "full"},
		{"updates: { channel: stable }\n", "full"},
		{"updates: [\n", "full"},
		{"updates: { plan: os_only }\n", "os_only"},
	} {
		if got := site.PlanOf([]byte(tc.yaml)); got != tc.want {
			t.Errorf("PlanOf(%q) = %q, want %q", tc.yaml, got, tc.want)
		}
	}
}
