package butane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Quote quotes s for bash.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// backupFiles are the host's backup: restic, run from the catalog's pinned image, backs the
// data volume up to the site's S3 target on a timer. Everything it needs besides the
// outside secrets (RESTIC_PASSWORD and the S3 keys in outside.env) and the settings that
// change in place (BackupSettingsFile) is written here: the scripts from site-template/host,
// the site's repository and hooks rendered.
func backupFiles(in render.Input) []File {
	return []File{
		{Path: hostcontract.BackupEnv, Contents: BackupEnvFile(in), Mode: 0o644},
		{Path: hostcontract.BackupHooks, Contents: BackupHooksFile(in), Mode: 0o644},
		{Path: hostcontract.BackupScript, Contents: backupScript, Mode: 0o755},
		{Path: hostcontract.BackupNowScript, Contents: backupNowScript, Mode: 0o755},
		{Path: hostcontract.SettingsScript, Contents: settingsScript, Mode: 0o755},
		{Path: hostcontract.ScheduleGenerator, Contents: scheduleGenerator, Mode: 0o755},
		{Path: LogindDropIn, Contents: logindConf, Mode: 0o644},
	}
}

// A reboot for an OS update never cuts a backup short. locksmithd reboots through logind
// (flatcar/locksmith locksmithctl/daemon.go, rebootAndSleep: login1 Reboot(false), as
// root), so the backup holds a logind inhibitor lock while it runs (backupInhibit). A
// "block" lock does not do: logind lets root past it up to systemd 256, and from 257 on,
// where it refuses, locksmithd ignores the refusal and sleeps a week before it tries
// again. A "delay" lock holds every caller's shutdown, root's included, until the lock is
// released or InhibitDelayMaxSec passes (systemd-inhibit(1) --mode=, logind.conf(5);
// src/login/logind-dbus.c, bus_manager_shutdown_or_sleep_now_or_later checks delay locks
// for any caller), so the update reboot follows right after the backup. The limit is the
// backup's own TimeoutStartSec: no backup outlives it anyway. (A manual reboot waits too;
// systemctl stop nassella-backup ends the wait.)
const (
	// LogindDropIn raises logind's limit for delay locks to the backup's longest run.
	LogindDropIn  = "/etc/systemd/logind.conf.d/10-nassella-backup.conf"
	backupTimeout = "6h"
	logindConf    = "# A reboot waits for a running backup (nassella-backup.service), at most as long as it may run.\n[Login]\nInhibitDelayMaxSec=" + backupTimeout + "\n"
	backupInhibit = "/usr/bin/systemd-inhibit --what=shutdown --mode=delay --who=nassella-backup \"--why=A backup is running\" "
)

// scheduleGenerator is the systemd generator that gives the backup timer its schedule
// from the settings file, at boot before the units load and at every daemon-reload
// (systemd.generator(7): /etc/systemd/system-generators/, called with the output folders).
const scheduleGenerator = "#!/bin/bash\nexec " + hostcontract.SettingsScript + " timer \"$1\"\n"

// SettingsPath is where the site repo keeps the backup settings that change on a running
// server. Terraform writes the file to the host at first boot beside the Ignition, not in
// it, so a change replaces no server; nassella apply sends it to a running one.
const SettingsPath = "host/backup-settings.env"

// BackupSettingsFile is SettingsPath: schedule, retention and heartbeat, one KEY=VALUE a
// line, unquoted (site.yaml's checks keep quotes, spaces and $ out of them, and the host
// reads the lines, never runs them).
func BackupSettingsFile(in render.Input) string {
	bk := in.Site.Backups
	values := map[string]string{
		"NASSELLA_SCHEDULE":      bk.Schedule,
		"NASSELLA_KEEP_DAILY":    fmt.Sprint(bk.Keep.Daily),
		"NASSELLA_KEEP_WEEKLY":   fmt.Sprint(bk.Keep.Weekly),
		"NASSELLA_KEEP_MONTHLY":  fmt.Sprint(bk.Keep.Monthly),
		"NASSELLA_HEARTBEAT_URL": bk.HeartbeatURL,
	}
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("# Backup settings (backups in site.yaml), in " + hostcontract.BackupSettings + " on the server.\n" +
		"# A change here changes the running server in place; nothing restarts.\n")
	for _, k := range hostcontract.SettingsKeys {
		fmt.Fprintf(&b, "%s=%s\n", k, values[k])
	}
	return b.String()
}

// BackupEnvFile is /etc/nassella/backup.env: what the backup script knows about the site.
// No secret is in it.
func BackupEnvFile(in render.Input) string {
	s := in.Site
	var excludes []string
	for _, app := range s.Apps {
		for _, v := range app.Spec.Backup.Exclude {
			excludes = append(excludes, "apps/"+app.Name+"/"+v)
		}
	}
	sort.Strings(excludes)
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("# Read by " + hostcontract.BackupScript + "; the secrets are in " + hostcontract.OutsideEnv + ".\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, Quote(v)) }
	kv("NASSELLA_SITE", s.Name)
	t := s.Backups.Target.S3
	kv("RESTIC_REPOSITORY", hostcontract.Repository(t.Endpoint, t.Bucket, s.Name))
	kv("NASSELLA_S3_REGION", t.Region)
	kv("NASSELLA_RESTIC_IMAGE", in.Catalog.Backup.Ref())
	fmt.Fprintf(&b, "NASSELLA_EXCLUDE=(")
	for i, e := range excludes {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(Quote(e))
	}
	b.WriteString(")\n")
	return b.String()
}

// BackupHooksFile is /etc/nassella/backup-hooks.sh: one `hook` line per catalog backup hook
// of the site's apps, run before every backup.
func BackupHooksFile(in render.Input) string {
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	b.WriteString("# Sourced by " + hostcontract.BackupScript + ": hook APP SERVICE OUTPUT COMMAND... runs the command in the\n# app's service and keeps what it prints as apps/APP/dumps/OUTPUT.\n")
	for _, app := range in.Site.Apps {
		for _, h := range app.Spec.Backup.Hooks {
			words := []string{"hook", Quote(app.Name), Quote(h.Service), Quote(h.Output)}
			for _, w := range h.Command {
				words = append(words, Quote(render.Fill(w, in, app)))
			}
			b.WriteString(strings.Join(words, " ") + "\n")
		}
	}
	return b.String()
}

// backupUnits are the backup's units; the site's schedule is not in them (see
// scheduleGenerator).
func backupUnits(render.Input) []unit {
	return []unit{
		{Name: hostcontract.BackupUnit, Contents: `[Unit]
Description=Back up the nassella data volume with restic
Requires=docker.service var-lib-nassella.mount
After=docker.service var-lib-nassella.mount network-online.target
Wants=network-online.target
[Service]
Type=oneshot
TimeoutStartSec=` + backupTimeout + `
Nice=10
IOSchedulingClass=idle
ExecStart=` + backupInhibit + hostcontract.BackupScript + ` run
`},
		// The schedule comes from the settings file, as the drop-in schedule.conf the
		// generator writes, so it changes without a rebuild.
		{Name: hostcontract.BackupTimer, Enabled: enabled(), Contents: `[Unit]
Description=Back up the nassella data volume (schedule: ` + hostcontract.BackupSettings + `)
[Timer]
Persistent=true
[Install]
WantedBy=timers.target
`},
		{Name: hostcontract.BackupCheckUnit, Contents: `[Unit]
Description=Check the nassella backup repository with restic
Requires=docker.service var-lib-nassella.mount
After=docker.service var-lib-nassella.mount network-online.target
Wants=network-online.target
[Service]
Type=oneshot
TimeoutStartSec=12h
Nice=10
IOSchedulingClass=idle
ExecStart=` + hostcontract.BackupScript + ` check
`},
		{Name: hostcontract.BackupCheckTimer, Enabled: enabled(), Contents: `[Unit]
Description=Check the nassella backup repository every week
[Timer]
OnCalendar=Sun *-*-* 05:30:00
Persistent=true
RandomizedDelaySec=1h
[Install]
WantedBy=timers.target
`},
	}
}
