package hostcontract_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The logs key's forced command, run by bash for real with each request a client could
// send: the grammar's requests reach journalctl as the filters `nassella logs` uses, and
// everything else is refused before anything runs. journalctl is a STUB that prints its
// arguments, one a line.
func TestLogsCommandGrammar(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "nassella-logs")
	os.WriteFile(script, []byte(hostScripts(t)["nassella-logs.sh"]), 0o755)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(filepath.Join(dir, "config", "apps", "nextcloud"), 0o755)
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte("#!/bin/sh\n# journalctl STUB\nprintf '%s\\n' \"$@\"\n"), 0o755)
	const head = "--output=json --no-pager --quiet "
	for _, tc := range []struct {
		request string
		want    string // journalctl's arguments, space-joined; "" when refused
		refusal string // what stderr says when refused
	}{
		{"logs", head + "--lines=200", ""},
		{"logs --app nextcloud --lines 50 --follow", head + "--lines=50 --follow SYSLOG_IDENTIFIER=nextcloud + _SYSTEMD_UNIT=nassella-app-nextcloud.service", ""},
		{"logs --app proxy --since '1 hour ago'", head + "--since=1 hour ago SYSLOG_IDENTIFIER=proxy + _SYSTEMD_UNIT=nassella-proxy.service", ""},
		{"logs --app backup --lines 10000", head + "--lines=10000 SYSLOG_IDENTIFIER=backup + _SYSTEMD_UNIT=nassella-backup.service", ""},
		{"logs --since '2026-11-03 03:00' --follow", head + "--since=2026-11-03 03:00 --follow", ""},
		{"logs --lines 5 --since '-1h'", head + "--since=-1h --lines=5", ""},
		{"logs --since '@1700000000'", head + "--since=@1700000000", ""},

		{"", "", "may only read logs"}, // a login without a command: no shell
		{"bash", "", "may only read logs"},
		{"journalctl --output=json", "", "may only read logs"},
		{"logs ", "", "may only read logs"},
		{"logs --app nextcloud; cat /etc/shadow", "", "may only read logs"},
		{"logs --app nextcloud\nbash", "", "may only read logs"},
		{"logs --app ../../etc", "", "may only read logs"},
		{"logs --app Nextcloud", "", "may only read logs"},
		{"logs --lines 10001", "", "may only read logs"},
		{"logs --lines 0", "", "may only read logs"},
		{"logs --lines 012", "", "may only read logs"},
		{"logs --follow --app nextcloud", "", "may only read logs"}, // out of order
		{"logs --since '$(reboot)'", "", "may only read logs"},
		{"logs --since '`id`'", "", "may only read logs"},
		{"logs --since 'today' --since 'x'", "", "may only read logs"},
		{"logs --since 'a very long time ago, longer than forty characters'", "", "may only read logs"},
		{"logs --app ghost", "", "there is no app ghost on this server"},
	} {
		cmd := exec.Command("bash", script)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "NASSELLA_CONFIG=" + filepath.Join(dir, "config"), "SSH_ORIGINAL_COMMAND=" + tc.request}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		got := strings.Join(strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"), " ")
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("%q: journalctl %q (%v, %s), want %q", tc.request, got, err, stderr.String(), tc.want)
			}
			continue
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.refusal) {
			t.Errorf("%q: not refused: %v, stdout %q, stderr %q", tc.request, err, stdout.String(), stderr.String())
		}
	}
}
