package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
)

// A change that restarts the server (a rebuild, or a resize) and that the update bot merged
// by itself waits for the site's maintenance window: updates.window, one hour from
// "Day HH:MM" in updates.timezone, the same hour the host may reboot for OS updates
// (LOCKSMITHD_REBOOT_WINDOW_LENGTH=1h). A person's merge, a direct push, a run of the
// workflow by hand and a change that restarts nothing apply at once. The apply workflow
// also runs every hour and applies a waiting change once the window is open.

// WindowLength is how long the maintenance window lasts.
const WindowLength = time.Hour

// Window is a site's weekly maintenance window.
type Window struct {
	Day          time.Weekday
	Hour, Minute int
	Loc          *time.Location
}

var weekdays = map[string]time.Weekday{"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday,
	"Wed": time.Wednesday, "Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday}

// ParseWindow reads updates.window and updates.timezone (site.yaml's checks made sure of
// their form already).
func ParseWindow(u site.Updates) (Window, error) {
	var day string
	var w Window
	if _, err := fmt.Sscanf(u.Window, "%3s %02d:%02d", &day, &w.Hour, &w.Minute); err != nil || w.Hour > 23 || w.Minute > 59 {
		return w, fmt.Errorf("updates.window %q is not a weekday and a 24-hour time, like Sun 03:00", u.Window)
	}
	d, ok := weekdays[day]
	if !ok {
		return w, fmt.Errorf("updates.window %q does not start with a weekday (Mon … Sun)", u.Window)
	}
	w.Day = d
	loc, err := time.LoadLocation(u.Timezone)
	if err != nil || u.Timezone == "" {
		return w, fmt.Errorf("updates.timezone %q is not a known timezone, like Europe/Berlin", u.Timezone)
	}
	w.Loc = loc
	return w, nil
}

// String is the window as site.yaml names it, e.g. "Sun 03:00 Europe/Berlin".
func (w Window) String() string {
	return fmt.Sprintf("%s %02d:%02d %s", w.Day.String()[:3], w.Hour, w.Minute, w.Loc)
}

// Next is the start of the window t is in (open is true) or else of the next one. On the
// day the clocks change, a start in the skipped hour moves an hour later and one in the
// repeated hour is its second occurrence (time.Date's normalisation); the window lasts
// WindowLength of real time either way.
func (w Window) Next(t time.Time) (start time.Time, open bool) {
	lt := t.In(w.Loc)
	// A window t is in started on t's date or the day before (one crossing midnight).
	for off := -1; ; off++ {
		noon := time.Date(lt.Year(), lt.Month(), lt.Day()+off, 12, 0, 0, 0, w.Loc)
		if noon.Weekday() != w.Day {
			continue
		}
		s := time.Date(noon.Year(), noon.Month(), noon.Day(), w.Hour, w.Minute, 0, 0, w.Loc)
		if !t.Before(s) && t.Before(s.Add(WindowLength)) {
			return s, true
		}
		if s.After(t) {
			return s, false
		}
	}
}

// Merge says how the commit being applied reached main.
type Merge struct {
	PR int    // the pull request that merged it; 0 for a direct push
	By string // the login that merged it
	// Bot is true when the update bot merged its own pull request (auto-merge): a pull
	// request from a bot branch of the repo itself, merged by the login that opened it,
	// as the bot tells its own pull requests apart (pipelines/update, botPRs). Anything
	// else was a person's decision.
	Bot bool
}

// WhoMerged finds how commit sha reached main in repo (OWNER/NAME) on the forge: the
// newest pull request it belongs to, and who merged that.
func WhoMerged(ctx context.Context, c forge.Client, repo, sha string) (Merge, error) {
	prs, err := c.PRsOfCommit(ctx, sha)
	if err != nil || len(prs) == 0 {
		return Merge{}, err
	}
	m, err := c.MergedBy(ctx, slices.Max(prs))
	if err != nil {
		return Merge{}, err
	}
	return Merge{PR: m.Number, By: m.By, Bot: m.By != "" && strings.EqualFold(m.By, m.Author) &&
		forge.FromUpdateBranch(m.Head, m.HeadRepo, repo)}, nil
}

// Restarts says the plan may restart the server: it rebuilds, removes or changes it (a
// new server type restarts it; the plan does not say which attribute changes, so any
// change counts). Creating the first server restarts nothing.
func Restarts(p *Plan) bool {
	for _, c := range p.Changes {
		if c.Kind() == KindServer && c.Action != "create" {
			return true
		}
	}
	return false
}

// Wait says whether the change must wait for the window, and until when.
func Wait(p *Plan, m Merge, w Window, now time.Time) (until time.Time, wait bool) {
	if !m.Bot || !Restarts(p) {
		return time.Time{}, false
	}
	start, open := w.Next(now)
	return start, !open
}

// Timing is the plan comment's sentence on when a merged change applies ("" when the
// plan knows no site).
func Timing(p *Plan) string {
	if p.Site == nil {
		return ""
	}
	if !Restarts(p) {
		return "Applied as soon as it is merged."
	}
	w, err := ParseWindow(p.Site.Updates)
	if err != nil || !p.Site.Updates.Automerge {
		return "Applied as soon as you merge it."
	}
	return fmt.Sprintf("Merged by you: applied at once. Merged automatically by the update bot: applied in the next maintenance window, %s.", w)
}

// waiting is Apply's check: the message when the change waits for the window, else "".
func (e Env) waiting(opt ApplyOptions, p *Plan, s *site.Loaded) (string, error) {
	if !opt.Merge.Bot || !Restarts(p) {
		return "", nil
	}
	w, err := ParseWindow(s.Updates)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if opt.Now != nil {
		now = opt.Now()
	}
	start, wait := Wait(p, opt.Merge, w, now)
	if !wait {
		e.logf("the maintenance window (%s) is open: applying the update merged by %s\n", w, opt.Merge.By)
		return "", nil
	}
	return fmt.Sprintf("The change waits for the maintenance window: %s, in %s. The update bot merged it (pull request #%d) and it restarts the server, so nothing was changed now; the next run in the window applies it. To apply it sooner, run the workflow %q by hand.",
		w, inWords(start.Sub(now)), opt.Merge.PR, ApplyWorkflow), nil
}

// ApplyWorkflow is the apply workflow's name, as the forge shows it.
const ApplyWorkflow = "Apply your change"

// inWords is a duration as "2 days 5 hours", "3 hours 20 minutes" or "40 minutes".
func inWords(d time.Duration) string {
	mins := int((d + time.Minute - 1) / time.Minute) // rounded up: never "in 0 minutes"
	unit := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	days, hours, minutes := mins/(24*60), mins/60%24, mins%60
	switch {
	case days > 0 && hours > 0:
		return unit(days, "day") + " " + unit(hours, "hour")
	case days > 0:
		return unit(days, "day")
	case hours > 0 && minutes > 0:
		return unit(hours, "hour") + " " + unit(minutes, "minute")
	case hours > 0:
		return unit(hours, "hour")
	}
	return unit(minutes, "minute")
}
