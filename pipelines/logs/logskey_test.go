package logs_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/logs"
)

func TestLogsKeyRequest(t *testing.T) {
	for _, tc := range []struct {
		q       logs.Query
		want    string
		wantErr string
	}{
		{logs.Query{}, "logs --lines 200", ""},
		{logs.Query{App: "nextcloud", Since: "1 hour ago", Follow: true}, "logs --app nextcloud --since '1 hour ago' --follow", ""},
		{logs.Query{App: "proxy", Lines: 50}, "logs --app proxy --lines 50", ""},
		{logs.Query{Lines: 20000}, "", "reads 1 to 10000"},
		{logs.Query{Since: "it's late"}, "", "at most 40 letters"},
		{logs.Query{App: "x; rm -rf /"}, "", "not an app name"},
	} {
		tc.q.LogsKey = true
		got, err := tc.q.Command()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: %q, %v; want an error saying %q", tc.q, got, err, tc.wantErr)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.q, got, err, tc.want)
		}
	}
}

// OpenSSH's sshd lets admin.logs_key in with the authorized_keys line the server gets,
// so the forced command runs whatever the client asks: a request in its grammar reads the
// journal (journalctl is a STUB printing the recorded journal), a journalctl command line
// or anything else is refused and nothing runs.
func TestLogsKeyOverSSH(t *testing.T) {
	h := sshtest.StartLogsHost(t, "testdata/journal.json", "vaultwarden")
	r := logs.Remote{Addr: h.Addr, User: h.User, Signer: h.Key, Pinned: h.HostKey}
	args := h.Args
	ctx := context.Background()

	var out bytes.Buffer
	if err := logs.Stream(ctx, r, logs.Query{App: "vaultwarden", Since: "today", LogsKey: true}, &out, logs.Options{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/journal.txt")
	if out.String() != string(want) {
		t.Errorf("through the logs key got:\n%s\nwant:\n%s", out.String(), want)
	}
	got, _ := os.ReadFile(args)
	if s := strings.TrimSpace(string(got)); s != "--output=json --no-pager --quiet --since=today SYSLOG_IDENTIFIER=vaultwarden + _SYSTEMD_UNIT=nassella-app-vaultwarden.service" {
		t.Errorf("journalctl ran with %q", s)
	}

	for _, tc := range []struct {
		q    logs.Query
		want string
	}{
		// What an admin key sends: a journalctl command line, refused by the forced command.
		{logs.Query{App: "vaultwarden"}, "this key may only read logs"},
		{logs.Query{App: "ghost", LogsKey: true}, "there is no app ghost on this server"},
	} {
		os.Remove(args)
		out.Reset()
		err := logs.Stream(ctx, r, tc.q, &out, logs.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want the refusal %q", tc.q, err, tc.want)
		}
		if _, statErr := os.Stat(args); statErr == nil || out.Len() > 0 {
			t.Errorf("%+v: journalctl ran (%q)", tc.q, out.String())
		}
	}
}
