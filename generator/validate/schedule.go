package validate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/strictyaml"
)

// ScheduleCheck is the check that the daily backup and the weekly update window are apart.
const ScheduleCheck = "backup and update times"

// The backup timer starts a backup up to this long after the schedule's time (its
// RandomizedDelaySec, written by timer_dropin in site-template/host/nassella-backup-settings.sh;
// a test keeps them equal), and the update window is an hour long (LOCKSMITHD_REBOOT_WINDOW_LENGTH
// in the host's update.conf).
const (
	dailyDelayMin = 30
	windowMin     = 60
	dayMin        = 24 * 60
)

// clock is "HH:MM" as minutes after midnight.
func clock(hhmm string) int {
	h, _ := strconv.Atoi(hhmm[:2])
	m, _ := strconv.Atoi(hhmm[3:5])
	return h*60 + m
}

func hhmm(min int) string {
	min = ((min % dayMin) + dayMin) % dayMin
	return fmt.Sprintf("%02d:%02d", min/60, min%60)
}

// backupMeetsWindow reports whether a daily backup scheduled at "daily HH:MM" can start
// inside the update window "Day HH:MM" (both valid, as site.yaml loaded), or start before
// it and still be starting when it opens. Backups run every day, so only the times count.
func backupMeetsWindow(schedule, window string) bool {
	start := clock(strings.TrimPrefix(schedule, "daily "))
	_, w, _ := strings.Cut(window, " ")
	open := clock(w)
	for _, day := range []int{-dayMin, 0, dayMin} { // the window may span midnight
		s := start + day
		if s < open+windowMin && open <= s+dailyDelayMin {
			return true
		}
	}
	return false
}

// scheduleCheck warns, at backups.schedule in site.yaml, when a backup can run in the update
// window. Nothing breaks then (the backup holds a reboot off until it is done, see
// render/butane backupInhibit), but the update waits, and the backup runs while apps restart
// after the update.
func scheduleCheck(dir string, s *site.Loaded) Check {
	c := Check{Name: ScheduleCheck}
	sched, window := s.Backups.Schedule, s.Updates.Window
	if sched == "hourly" {
		c.Detail = "hourly backups always meet the weekly update window; an update restart waits for a running backup to finish"
		return c
	}
	if !backupMeetsWindow(sched, window) {
		c.Detail = fmt.Sprintf("backups (%s) stay clear of the update window (%s)", sched, window)
		return c
	}
	start := clock(strings.TrimPrefix(sched, "daily "))
	day, w, _ := strings.Cut(window, " ")
	msg := fmt.Sprintf("backups start between %s and %s every day, and the weekly update window is %s %s to %s: on %s an update restart waits for the backup, and the backup runs while your apps restart",
		hhmm(start), hhmm(start+dailyDelayMin), day, w, hhmm(clock(w)+windowMin), day)
	fix := fmt.Sprintf("move one of them: schedule: daily %s (after the window), or move updates.window", hhmm(clock(w)+windowMin))
	data, err := inputfile.ReadIn(dir, "site.yaml")
	if err != nil {
		c.Warning = msg + "; " + fix
		return c
	}
	doc, _ := strictyaml.Decode(s.File, data, &site.Site{})
	c.Warning = doc.At("backups.schedule", msg, fix).Error()
	return c
}
