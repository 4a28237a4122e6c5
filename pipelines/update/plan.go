package update

import (
	"sort"
	"strings"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
)

// osOnly says the clone's site.yaml is on the os-only plan, which takes no catalog
// releases: the bot opens no pull request and makes no forge call for it (but one that
// moves it off a withdrawn server type: servertype.go). The note says
// so and how far behind the release the apps the lock records are. The plan is read
// alone, so a site.yaml that would not load against the new release is still skipped.
func (j *job) osOnly(lock *generator.Lock) (note string, ok bool) {
	data, err := inputfile.ReadIn(j.dir, siterepo.SiteFile)
	if err != nil || site.PlanOf(data) != site.PlanOSOnly {
		return "", false // a missing or unreadable file is reported by the full load
	}
	var moves []string
	for _, m := range generator.Moves(lock, lockedApps(lock), j.opts.Catalog) {
		moves = append(moves, m.Text())
	}
	note = "plan os-only"
	if len(moves) > 0 {
		return note + ": " + strings.Join(moves, ", "), true
	}
	return note + ": its apps have catalog " + j.opts.Catalog.Release + "'s versions", true
}

// lockedApps are the apps a lock records images of, sorted.
func lockedApps(lock *generator.Lock) []string {
	if lock == nil {
		return nil
	}
	seen := map[string]bool{}
	var apps []string
	for key := range lock.Images {
		app, _, _ := strings.Cut(key, "/")
		if !seen[app] && app != "proxy" {
			seen[app] = true
			apps = append(apps, app)
		}
	}
	sort.Strings(apps)
	return apps
}
