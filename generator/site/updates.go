package site

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// The update plans the co-op sells (its founding notes): a one-off site gets the OS
// updates Flatcar installs by itself; a subscription also gets every tested catalog
// release (apps, proxy, backup tool, compose plugin) through the update bot. The plan
// changes nothing on the host: Flatcar's update_engine downloads every update of its
// channel as it is published and locksmithd reboots into it in the window set in
// /etc/flatcar/update.conf ("updates are always downloaded to the passive partition when
// they become available", flatcar.org/docs/latest/setup/releases/update-strategies), on
// both plans. Catalog pieces are not split off for os-only sites: a site pins one whole
// release (nassella.lock), and the seed says the one-off "may not include automatic
// updates for the platform".
const (
	PlanFull   = "full"
	PlanOSOnly = "os-only"
)

// PlanName is the site's update plan: updates.plan, full when left out.
func (u Updates) PlanName() string {
	if u.Plan == "" {
		return PlanFull
	}
	return u.Plan
}

// OSOnly says the site takes no catalog releases: the update bot leaves it alone and only
// Flatcar updates the server.
func (u Updates) OSOnly() bool { return u.Plan == PlanOSOnly }

// PlanWords is what the plan means, for the README and the doctor.
func (u Updates) PlanWords() string {
	if u.OSOnly() {
		return "operating system updates only: the server's operating system updates itself, your apps keep their versions"
	}
	return "all updates: the server's operating system updates itself, and each tested release of your apps comes as a pull request"
}

// SwitchPlan is the one-line change to site.yaml that moves the site to the other plan.
func (u Updates) SwitchPlan() string {
	if u.OSOnly() {
		return "to get every update, change `plan: os-only` to `plan: full` under `updates:` in your site.yaml; the next update run opens a pull request that brings your apps up to date"
	}
	return "to keep your apps as they are and get only the operating system's updates, set `plan: os-only` under `updates:` in your site.yaml"
}

// plan checks updates.plan: left out means full.
func (c *checker) plan(u Updates) {
	const p = "updates.plan"
	if !c.doc.Has(p) || c.doc.Bad[p] || u.Plan == PlanFull || u.Plan == PlanOSOnly {
		return
	}
	fix := "use full (every update) or os-only (only the server's operating system updates itself)"
	if s := suggest(u.Plan, []string{PlanFull, PlanOSOnly}, ""); s != "" {
		fix = s + " The plans are full and os-only"
	}
	c.add(p, fmt.Sprintf("plan %q is unknown", u.Plan), fix)
}

// PlanOf reads only updates.plan of a site.yaml that may not load against the catalog at
// hand: the update bot decides from it before loading the site against a new release. An
// unreadable file or a missing plan is full, so the full load reports what is wrong.
func PlanOf(data []byte) string {
	var doc struct {
		Updates struct {
			Plan string `yaml:"plan"`
		} `yaml:"updates"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return PlanFull
	}
	return Updates{Plan: doc.Updates.Plan}.PlanName()
}
