package doctor

import (
	"fmt"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
)

// Updates is what the doctor knows of the site's update plan: the catalog release the
// site is on (its lock) and the newest one this nassella knows, to say how far behind its
// apps are. Being behind is never a problem: on the os-only plan it is what the owner
// chose, on the full plan the update bot's pull request is waiting for them.
type Updates struct {
	Plan   site.Updates
	Lock   *generator.Lock  // what the server runs
	Apps   []string         // the site's apps
	Newest *catalog.Release // the release to compare with
}

// UpdatesOf compares the site's lock with newest (this nassella's catalog, or the one given
// to the doctor); nil when the site was never generated.
func UpdatesOf(l *site.Loaded, lock *generator.Lock, newest *catalog.Release) *Updates {
	if lock == nil || newest == nil {
		return nil
	}
	return &Updates{Plan: l.Updates, Lock: lock, Apps: l.AppNames(), Newest: newest}
}

func checkUpdates(opt Options) []Finding {
	u := opt.Updates
	if u == nil {
		return nil
	}
	f := Finding{Check: "updates", Subject: "apps", OK: true}
	var moves []string
	if generator.NewerRelease(u.Newest.Release, u.Lock.Catalog) {
		for _, m := range generator.Moves(u.Lock, u.Apps, u.Newest) {
			moves = append(moves, m.Text())
		}
	}
	plan := fmt.Sprintf("your plan is %s (%s)", u.Plan.PlanName(), u.Plan.PlanWords())
	switch {
	case len(moves) == 0:
		f.What = fmt.Sprintf("%s; your apps are on catalog %s, the newest this check knows", plan, u.Lock.Catalog)
	case u.Plan.OSOnly():
		f.What = fmt.Sprintf("%s; your apps are on catalog %s: %s (catalog %s); %s",
			plan, u.Lock.Catalog, strings.Join(moves, ", "), u.Newest.Release, u.Plan.SwitchPlan())
	default:
		f.What = fmt.Sprintf("%s; your apps are on catalog %s: %s (catalog %s); the update's pull request brings them, merge it when it suits you",
			plan, u.Lock.Catalog, strings.Join(moves, ", "), u.Newest.Release)
	}
	return []Finding{f}
}
