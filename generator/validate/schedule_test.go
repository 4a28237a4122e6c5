package validate

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// A daily backup starts up to 30 minutes after its time; it meets the one-hour window when
// that start can fall in the window, on either side of midnight.
func TestBackupMeetsWindow(t *testing.T) {
	for _, tc := range []struct {
		schedule, window string
		want             bool
	}{
		{"daily 03:00", "Sun 03:00", true},  // the old default
		{"daily 02:30", "Sun 03:00", true},  // may start at 03:00
		{"daily 02:29", "Sun 03:00", false}, // starts by 02:59
		{"daily 03:59", "Sun 03:00", true},  // last minute of the window
		{"daily 04:00", "Sun 03:00", false}, // the window is over
		{"daily 01:00", "Sun 03:00", false}, // the new default
		{"daily 23:45", "Mon 00:00", true},  // across midnight
		{"daily 00:30", "Sat 23:45", true},  // window across midnight
		{"daily 00:45", "Sat 23:45", false},
		{"daily 02:30", "Wed 04:00", false}, // one-app
	} {
		if got := backupMeetsWindow(tc.schedule, tc.window); got != tc.want {
			t.Errorf("backupMeetsWindow(%q, %q) = %v, want %v", tc.schedule, tc.window, got, tc.want)
		}
	}
}

// validate warns at the schedule's line, with the fix; hourly backups and backups clear
// of the window pass with a note.
func TestScheduleCheck(t *testing.T) {
	for _, tc := range []struct {
		schedule, window string
		warning, detail  string
	}{
		{"daily 03:00", "Sun 03:00", `site.yaml:23:13: backups start between 03:00 and 03:30 every day, and the weekly update window is Sun 03:00 to 04:00: on Sun an update restart waits for the backup, and the backup runs while your apps restart; move one of them: schedule: daily 04:00 (after the window), or move updates.window`, ""},
		{"daily 23:50", "Tue 00:10", `site.yaml:23:13: backups start between 23:50 and 00:20 every day, and the weekly update window is Tue 00:10 to 01:10`, ""},
		{"hourly", "Sun 03:00", "", "an update restart waits for a running backup to finish"},
		{"daily 01:00", "Sun 03:00", "", "stay clear of the update window"},
	} {
		t.Run(tc.schedule+" "+tc.window, func(t *testing.T) {
			text := skeleton(t, `schedule: "daily 01:00"`, `schedule: "`+tc.schedule+`"`, `window: "Sun 03:00"`, `window: "`+tc.window+`"`)
			l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
			if err != nil {
				t.Fatalf("the site does not load: %v", err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			c := scheduleCheck(dir, l)
			if c.Err != nil {
				t.Fatalf("a warning, never an error: %v", c.Err)
			}
			if tc.warning == "" && c.Warning != "" || !strings.HasPrefix(c.Warning, tc.warning) {
				t.Errorf("warning:\n got %q\nwant %q…", c.Warning, tc.warning)
			}
			if !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("detail %q, want it to say %q", c.Detail, tc.detail)
			}
		})
	}
}

// The delay the check assumes is the one the host's backup timer has.
func TestScheduleCheckDelayIsTheTimers(t *testing.T) {
	script, err := fs.ReadFile(sitetemplate.FS, "host/nassella-backup-settings.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("delay=%dmin", dailyDelayMin); !strings.Contains(string(script), want) {
		t.Errorf("the daily backup's RandomizedDelaySec in nassella-backup-settings.sh is not %d minutes (%q)", dailyDelayMin, want)
	}
}
