package deploy_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/deploy"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// settingsHost is the host side of the backup key, for real: OpenSSH's sshd with the
// authorized_keys line the Ignition writes (forced command, restrict), the host scripts
// from site-template, and stubs for sudo (which maps /opt/nassella/bin to the scripts)
// and systemctl (which records what it was asked).
type settingsHost struct {
	dir, config, systemctl string
	backup                 deploy.SSHBackup
}

func startSettingsHost(t *testing.T) settingsHost {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	h := settingsHost{dir: dir, config: filepath.Join(dir, "etc"), systemctl: filepath.Join(dir, "systemctl.log")}
	hostBin, stubs := filepath.Join(dir, "opt"), filepath.Join(dir, "stubs")
	for _, d := range []string{hostBin, stubs, h.config} {
		os.MkdirAll(d, 0o755)
	}
	for _, name := range []string{"nassella-backup-now", "nassella-backup-settings"} {
		body, err := fs.ReadFile(sitetemplate.FS, "host/"+name+".sh")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(hostBin, name), body, 0o755)
	}
	os.WriteFile(filepath.Join(stubs, "sudo"), []byte(fmt.Sprintf("#!/bin/bash\n# sudo STUB: runs the command, the host's script folder mapped to the test's.\n"+
		"[ \"$1\" = -n ] && shift\ncase $1 in %s/*) set -- %q/\"${1##*/}\" \"${@:2}\" ;; esac\nexec \"$@\"\n", hostcontract.BinDir, hostBin)), 0o755)
	os.WriteFile(filepath.Join(stubs, "systemctl"), []byte(fmt.Sprintf("#!/bin/sh\n# systemctl STUB\necho \"$*\" >> %q\n", h.systemctl)), 0o755)
	os.WriteFile(filepath.Join(h.config, "backup-settings.env"), []byte(settingsOf(t, "daily 03:00")), 0o644)

	sshd := sshtest.StartSSHD(t, fmt.Sprintf("SetEnv PATH=%s:/usr/bin:/bin NASSELLA_CONFIG=%s\n", stubs, h.config))
	client := sshtest.NewKey(t)
	line := hostcontract.AuthorizedBackupKey(string(ssh.MarshalAuthorizedKey(client.PublicKey())))
	line = strings.Replace(line, hostcontract.BackupNowScript, filepath.Join(hostBin, "nassella-backup-now"), 1)
	os.WriteFile(sshd.AuthorizedKeys, []byte(line+"\n"), 0o600)
	h.backup = deploy.SSHBackup{Signer: client, User: sshd.User, Addr: sshd.Addr, HostKey: sshd.HostKey}
	return h
}

// settingsOf is the generated host/backup-settings.env of a site backed up on schedule.
func settingsOf(t *testing.T, schedule string) string {
	t.Helper()
	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", []byte(strings.Replace(fmt.Sprintf(siteTemplate, "  vaultwarden: {}"), "daily 03:00", schedule, 1)), cat)
	if err != nil {
		t.Fatal(err)
	}
	return butane.BackupSettingsFile(render.Input{Site: l, Catalog: cat, Version: "test"})
}

func (h settingsHost) read(t *testing.T, name string) string {
	data, _ := os.ReadFile(filepath.Join(h.dir, name))
	return string(data)
}

// New backup settings reach the running server through the backup key's forced command;
// the timer is restarted with them and nothing else happens.
func TestSettingsOverSSH(t *testing.T) {
	h := startSettingsHost(t)
	ctx := context.Background()
	settings := "NASSELLA_SCHEDULE=hourly\nNASSELLA_KEEP_DAILY=14\nNASSELLA_KEEP_WEEKLY=0\nNASSELLA_KEEP_MONTHLY=12\nNASSELLA_HEARTBEAT_URL=https://hc-ping.com/abc-123?x=1&y=2\n"
	if err := h.backup.SendSettings(ctx, "203.0.113.7", []byte(settings)); err != nil {
		t.Fatal(err)
	}
	got := h.read(t, "etc/backup-settings.env")
	if !strings.HasSuffix(got, settings) || !strings.HasPrefix(got, "# ") {
		t.Errorf("the host wrote:\n%s\nwant the settings:\n%s", got, settings)
	}
	if log := h.read(t, "systemctl.log"); log != "daemon-reload\nrestart "+hostcontract.BackupTimer+"\n" {
		t.Errorf("systemctl was asked:\n%s", log)
	}
}

// The settings verb runs as root on the host with what CI sends: anything but the known
// keys with values of their pattern is refused before anything is written or run.
func TestSettingsRefuseHostileValues(t *testing.T) {
	h := startSettingsHost(t)
	before := h.read(t, "etc/backup-settings.env")
	pwned := filepath.Join(h.dir, "pwned")
	good := map[string]string{"NASSELLA_SCHEDULE": "daily 03:00", "NASSELLA_KEEP_DAILY": "7", "NASSELLA_KEEP_WEEKLY": "4", "NASSELLA_KEEP_MONTHLY": "6", "NASSELLA_HEARTBEAT_URL": ""}
	with := func(key, value string) string {
		var b strings.Builder
		for _, k := range hostcontract.SettingsKeys {
			v := good[k]
			if k == key {
				v = value
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, settings, why string
	}{
		{"command after the schedule", with("NASSELLA_SCHEDULE", "daily 03:00; touch "+pwned), "not allowed"},
		{"command substitution in the heartbeat", with("NASSELLA_HEARTBEAT_URL", "https://x.example/$(touch "+pwned+")"), "not allowed"},
		{"backticks in the heartbeat", with("NASSELLA_HEARTBEAT_URL", "https://x.example/`touch "+pwned+"`"), "not allowed"},
		{"a quote in the heartbeat", with("NASSELLA_HEARTBEAT_URL", "https://x.example/'"), "not allowed"},
		{"plain http", with("NASSELLA_HEARTBEAT_URL", "http://x.example/"), "not allowed"},
		{"a negative count", with("NASSELLA_KEEP_DAILY", "-1"), "not allowed"},
		{"a huge count", with("NASSELLA_KEEP_DAILY", "99999999"), "not allowed"},
		{"an unknown key", with("", "") + "BASH_ENV=" + pwned + "\n", "unknown setting"},
		{"PATH", "PATH=/tmp\n" + with("", ""), "unknown setting"},
		{"a key twice", with("", "") + "NASSELLA_KEEP_DAILY=8\n", "given twice"},
		{"a key missing", strings.Replace(with("", ""), "NASSELLA_KEEP_MONTHLY=6\n", "", 1), "NASSELLA_KEEP_MONTHLY is missing"},
		{"no KEY=VALUE", "rm -rf /\n", "not KEY=VALUE"},
	} {
		err := h.backup.SendSettings(context.Background(), "203.0.113.7", []byte(c.settings))
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.why)
		}
		if strings.Contains(fmt.Sprint(err), "touch") {
			t.Errorf("%s: the refused value is printed back: %v", c.name, err)
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("a hostile value ran a command on the host")
	}
	if got := h.read(t, "etc/backup-settings.env"); got != before {
		t.Errorf("refused settings were written:\n%s", got)
	}
	if log := h.read(t, "systemctl.log"); log != "" {
		t.Errorf("refused settings restarted the timer: %s", log)
	}
	// A server showing another host key is never sent anything.
	other := h.backup
	other.HostKey = sshtest.NewKey(t).PublicKey()
	if err := other.SendSettings(context.Background(), "203.0.113.7", []byte(with("", ""))); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
}

// The systemd generator gives the backup timer the schedule from the settings file, the
// same OnCalendar expression the site's schedule stands for.
func TestScheduleGenerator(t *testing.T) {
	script, err := fs.ReadFile(sitetemplate.FS, "host/nassella-backup-settings.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ schedule, calendar, delay string }{
		{"daily 03:00", "*-*-* 03:00:00", "30min"},
		{"daily 23:45", "*-*-* 23:45:00", "30min"},
		{"hourly", "hourly", "5min"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "backup-settings.env"), []byte(settingsOf(t, c.schedule)), 0o644)
		out := filepath.Join(dir, "generator")
		cmd := exec.Command("bash", "-c", string(script), "nassella-backup-settings", "timer", out, out+".early", out+".late")
		cmd.Env = append(os.Environ(), "NASSELLA_CONFIG="+dir)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c.schedule, err, msg)
		}
		got, _ := os.ReadFile(filepath.Join(out, hostcontract.ScheduleDropIn))
		want := "[Timer]\nOnCalendar=" + c.calendar + "\nRandomizedDelaySec=" + c.delay + "\n"
		if !strings.HasSuffix(string(got), want) {
			t.Errorf("%s: the drop-in is\n%s\nwant\n%s", c.schedule, got, want)
		}
		s := &site.Site{Backups: site.Backups{Schedule: c.schedule}}
		if s.BackupOnCalendar() != c.calendar {
			t.Errorf("%s: the site's OnCalendar is %s, the host's %s", c.schedule, s.BackupOnCalendar(), c.calendar)
		}
	}
}

// The plan summary's words for the backup settings.
func TestSetupLine(t *testing.T) {
	settings := deploy.Change{Address: deploy.SettingsAddress, Type: "terraform_data", Action: "update"}
	setup := deploy.Change{Address: deploy.SetupAddress, Type: "terraform_data", Action: "update"}
	if got := deploy.SetupLine(plan(settings), settings); got != deploy.SettingsLine {
		t.Errorf("settings only: %q", got)
	}
	for _, p := range []*deploy.Plan{plan(settings, rebuild, setup), plan(settings, create)} {
		if got := deploy.SetupLine(p, settings); got != "" {
			t.Errorf("with a new server: %q", got)
		}
	}
	if got := deploy.SetupLine(plan(setup, rebuild), setup); got != "" {
		t.Errorf("the server's setup: %q", got)
	}
}

// A server set up before the settings verb existed runs a backup for any command: its
// answer is not taken as the settings applied.
func TestSettingsToAnOlderServer(t *testing.T) {
	ci := sshtest.NewKey(t)
	old := sshtest.Start(t, sshtest.Options{Allow: []ssh.PublicKey{ci.PublicKey()}, Handle: func(e sshtest.Exec) uint32 {
		fmt.Fprintln(e.Stdout, `{"result": "ok"}`)
		return 0
	}})
	b := deploy.SSHBackup{Signer: ci, Addr: old.Addr, HostKey: old.HostKey.PublicKey()}
	if err := b.SendSettings(context.Background(), "203.0.113.7", []byte(settingsOf(t, "hourly"))); err == nil || !strings.Contains(err.Error(), "rebuild it once") {
		t.Errorf("an older server: %v", err)
	}
}
