package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// `nassella logs --logs-key FILE` logs in with admin.logs_key and asks its forced command
// in the command's grammar; without the flag the server's forced command refuses the
// journalctl line an admin key sends.
func TestLogsKeyCLI(t *testing.T) {
	t.Setenv("NASSELLA_LOGS_SSH_KEY_FILE", "")
	tmp := t.TempDir()
	journal := `{"__REALTIME_TIMESTAMP":"1764720000000000","PRIORITY":"6","CONTAINER_TAG":"vaultwarden","MESSAGE":"Rocket has launched"}` + "\n"
	os.WriteFile(filepath.Join(tmp, "journal.json"), []byte(journal), 0o644)
	h := sshtest.StartLogsHost(t, filepath.Join(tmp, "journal.json"), "vaultwarden")
	hostKey := filepath.Join(tmp, "host_key.pub")
	os.WriteFile(hostKey, ssh.MarshalAuthorizedKey(h.HostKey), 0o644)
	login := []string{"--host", h.Addr, "--user", h.User, "--host-key", hostKey, "--json"}

	out, errs, code := run(t, append([]string{"logs", "vaultwarden", "--since", "today", "--logs-key", h.KeyFile}, login...)...)
	if code != 0 || out != journal {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	args, _ := os.ReadFile(h.Args)
	if got := strings.TrimSpace(string(args)); got != "--output=json --no-pager --quiet --since=today SYSLOG_IDENTIFIER=vaultwarden + _SYSTEMD_UNIT=nassella-app-vaultwarden.service" {
		t.Errorf("journalctl ran with %q", got)
	}

	out, errs, code = run(t, append([]string{"logs", "vaultwarden", "--identity", h.KeyFile}, login...)...)
	if code == 0 || out != "" || !strings.Contains(errs, "this key may only read logs") {
		t.Errorf("the logs key sent a journalctl line: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
