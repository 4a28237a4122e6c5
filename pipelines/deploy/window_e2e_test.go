package deploy_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/deploy"
)

// hostDouble answers the backup key's commands as the host's forced command would: a
// backup, and new backup settings, which it keeps.
type hostDouble struct {
	*sshtest.Server
	mu       sync.Mutex
	backups  int
	settings []string
}

func startHostDouble(t *testing.T, allowed ssh.PublicKey, hostKey ssh.Signer) *hostDouble {
	h := &hostDouble{}
	h.Server = sshtest.Start(t, sshtest.Options{HostKey: hostKey, Allow: []ssh.PublicKey{allowed}, Handle: func(e sshtest.Exec) uint32 {
		h.mu.Lock()
		defer h.mu.Unlock()
		switch e.Command {
		case deploy.Command:
			h.backups++
		case hostcontract.SettingsCommand:
			in, _ := io.ReadAll(e.Stdin)
			h.settings = append(h.settings, string(in))
			fmt.Fprintln(e.Stdout, "backups: as sent")
		default:
			fmt.Fprintf(e.Stderr, "not allowed: %s\n", e.Command)
			return 1
		}
		return 0
	}})
	return h
}

func (h *hostDouble) counts() (backups int, settings []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.backups, append([]string(nil), h.settings...)
}

// With the real OpenTofu and hcloud provider against the Hetzner simulator: a new backup
// schedule changes the running server in place (no rebuild, the settings sent over SSH);
// a new app rebuilds it, and when the update bot merged that, it waits for the
// maintenance window unless the window is open; a person's merge applies at once.
func TestSettingsInPlaceAndTheWindow(t *testing.T) {
	ctx := context.Background()
	hosts := []string{"vault.acme.example", "cloud.acme.example", "status.acme.example"}
	bin, sim, ca, _, srv := startE2E(t, map[string]bool{}, hosts...)
	resolve := resolveTo(srv, hosts)
	ci := sshtest.NewKey(t)
	hostSigner, _ := siteHostKey(t)
	host := startHostDouble(t, ci.PublicKey(), hostSigner)

	dir := t.TempDir()
	var log strings.Builder
	env := deploy.Env{AllowUnverified: true, Dir: dir, Tofu: bin, Catalog: catalog.Embedded(), Log: &log, HostKey: hostSigner.PublicKey()}
	planFile := filepath.Join(t.TempDir(), "tfplan")
	apply := func(m deploy.Merge, now time.Time) (*deploy.Outcome, error) {
		return deploy.Apply(ctx, env, deploy.ApplyOptions{Plan: planFile, Merge: m, Now: func() time.Time { return now },
			Health: health.Options{Resolve: resolve, RootCAs: ca.Pool, Timeout: 3 * time.Second, Interval: 100 * time.Millisecond},
			Backup: deploy.SSHBackup{Signer: ci, Addr: host.Addr, HostKey: env.HostKey}})
	}
	makePlan := func() *deploy.Plan {
		t.Helper()
		p, err := deploy.MakePlan(ctx, env, planFile)
		if err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		return p
	}
	bot := deploy.Merge{PR: 12, By: "nassella-bot", Bot: true}
	outside := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC) // Thursday
	inside := time.Date(2026, 12, 6, 2, 10, 0, 0, time.UTC)  // Sunday 03:10 in Berlin
	edit := func(from, to string) {
		data, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
		commitSiteRaw(t, dir, strings.Replace(string(data), from, to, 1))
		commitAll(t, dir, to)
	}

	// 1. The first server: created at once, even when the bot merged it.
	commitSite(t, dir, "vaultwarden")
	makePlan()
	if out, err := apply(bot, outside); err != nil || out.Waiting != "" {
		t.Fatalf("first apply: %v %+v\n%s", err, out, log.String())
	}
	first := sim.Servers()
	if len(first) != 1 || !strings.Contains(first[0].UserData, hostcontract.BackupSettings) {
		t.Fatalf("the first server does not get the backup settings at first boot: %+v", first)
	}

	// 2. Another backup time: no rebuild, the plan says so, and the running server gets
	// the planned settings over SSH.
	edit(`schedule: "daily 03:00"`, `schedule: "daily 04:30"`)
	p := makePlan()
	for _, c := range p.Changes {
		if c.Type == "hcloud_server" {
			t.Errorf("a new backup time changes the server: %+v", c)
		}
	}
	if p.ReplacesServer || len(p.Changes) != 1 || deploy.SetupLine(p, p.Changes[0]) != deploy.SettingsLine {
		t.Errorf("the plan for a new backup time: %+v", p.Changes)
	}
	if out, err := apply(bot, outside); err != nil || out.Waiting != "" {
		t.Fatalf("applying a new backup time: %v %+v\n%s", err, out, log.String())
	}
	backups, settings := host.counts()
	if backups != 0 || len(settings) != 1 || !strings.Contains(settings[0], "NASSELLA_SCHEDULE=daily 04:30\n") || strings.Contains(settings[0], "#") {
		t.Errorf("the host got %d backups and settings %q", backups, settings)
	}
	if s := sim.Servers(); len(s) != 1 || s[0].ID != first[0].ID {
		t.Fatalf("the server was replaced for a new backup time: %+v", s)
	}
	if p := makePlan(); len(p.Changes) != 0 {
		t.Errorf("after the apply the plan still changes %+v", p.Changes)
	}

	// 3. The update bot merged a new app: the server would be rebuilt, so outside the
	// window nothing happens and the apply says when it will.
	commitSite(t, dir, "nextcloud", "vaultwarden")
	edit(`schedule: "daily 03:00"`, `schedule: "daily 04:30"`)
	p = makePlan()
	if !p.ReplacesServer {
		t.Fatalf("a new app does not rebuild the server: %+v", p.Changes)
	}
	out, err := apply(bot, outside)
	if err != nil {
		t.Fatal(err)
	}
	want := "The change waits for the maintenance window: Sun 03:00 Europe/Berlin, in 2 days 12 hours."
	if !strings.HasPrefix(out.Waiting, want) || !strings.Contains(out.Waiting, "#12") || !strings.Contains(out.Waiting, deploy.ApplyWorkflow) {
		t.Errorf("waiting: %q, want it to start %q", out.Waiting, want)
	}
	if s := sim.Servers(); len(s) != 1 || s[0].ID != first[0].ID {
		t.Fatalf("the server changed outside the window: %+v", s)
	}
	if backups, _ := host.counts(); backups != 0 {
		t.Error("a backup was taken for a change that waits")
	}

	// 4. The hourly run in the window applies it: backup, rebuild.
	out, err = apply(bot, inside)
	if err != nil || out.Waiting != "" {
		t.Fatalf("in the window: %v %+v\n%s", err, out, log.String())
	}
	second := sim.Servers()
	if len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("the server was not rebuilt in the window: %+v", second)
	}
	if backups, _ := host.counts(); backups != 1 {
		t.Errorf("%d backups before the rebuild, want 1", backups)
	}
	// The rebuilt server boots with the current backup settings.
	current, _ := os.ReadFile(filepath.Join(dir, "host", "backup-settings.env"))
	if !strings.Contains(second[0].UserData, base64.StdEncoding.EncodeToString(current)) {
		t.Error("the rebuilt server does not get the current backup settings at first boot")
	}

	// 5. A person merged the next app: applied at once, outside the window.
	commitSite(t, dir, "nextcloud", "uptime-kuma", "vaultwarden")
	makePlan()
	out, err = apply(deploy.Merge{PR: 13, By: "owner"}, outside)
	if err != nil || out.Waiting != "" {
		t.Fatalf("a person's merge: %v %+v\n%s", err, out, log.String())
	}
	if third := sim.Servers(); len(third) != 1 || third[0].ID == second[0].ID {
		t.Fatalf("a person's merge was not applied at once: %+v", third)
	}
}
