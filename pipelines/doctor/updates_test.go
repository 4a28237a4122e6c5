package doctor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/doctor"
)

// The doctor says which plan the site is on and how far its apps are behind the newest
// catalog release it knows, per app, and how to switch plans; being behind is never a
// problem.
func TestUpdates(t *testing.T) {
	newest := catalog.Embedded()
	vw := newest.Apps["vaultwarden"]
	now, _ := vw.AppVersion()
	// A site on an older release, whose lock records an older Vaultwarden.
	old := &generator.Lock{Catalog: "2020.01.0", Images: map[string]string{"vaultwarden/server": vw.Services["server"].Image.Image + ":1.0.0-alpine"}}
	current := &generator.Lock{Catalog: newest.Release, Images: map[string]string{"vaultwarden/server": vw.Services["server"].Image.Ref()}}
	behind := "Vaultwarden 1.0.0 here, " + now + " available (catalog " + newest.Release + ")"
	for _, tc := range []struct {
		name string
		plan string
		lock *generator.Lock
		want []string // in this order in the terminal's line
	}{
		{"os-only behind", site.PlanOSOnly, old, []string{"ok       updates      your plan is os-only (operating system updates only",
			"your apps are on catalog 2020.01.0: " + behind, "change `plan: os-only` to `plan: full` under `updates:` in your site.yaml; the next update run opens a pull request"}},
		{"full behind", site.PlanFull, old, []string{"your plan is full (all updates", behind, "the update's pull request brings them"}},
		{"left out is full", "", old, []string{"your plan is full (all updates"}},
		{"os-only current", site.PlanOSOnly, current, []string{"your plan is os-only", "your apps are on catalog " + newest.Release + ", the newest this check knows"}},
		{"newer than this nassella", site.PlanFull, &generator.Lock{Catalog: "2099.01.0", Images: old.Images}, []string{"your apps are on catalog 2099.01.0, the newest this check knows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t)
			l := &site.Loaded{Site: &site.Site{Updates: site.Updates{Plan: tc.plan}}, Apps: []site.App{{Name: "vaultwarden", Spec: vw}}}
			o.Updates = doctor.UpdatesOf(l, tc.lock, newest)
			fs := doctor.Run(context.Background(), o)
			if p := problems(fs); p != "" {
				t.Fatalf("problems:\n%s", p)
			}
			txt := doctor.Text(fs)
			line := ""
			for _, l := range strings.Split(txt, "\n") {
				if strings.Contains(l, "updates ") {
					line = l
				}
			}
			rest := line
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q missing or out of order in:\n%s", w, txt)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	// A site never generated has no lock: nothing is said.
	if u := doctor.UpdatesOf(&site.Loaded{Site: &site.Site{}}, nil, newest); u != nil {
		t.Errorf("updates without a lock: %+v", u)
	}
}
