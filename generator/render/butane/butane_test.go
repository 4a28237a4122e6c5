package butane_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/internal/hostcontract"
)

// The rendered units and scripts pass systemd-analyze verify, written into a folder laid
// out like the host. Units and binaries Flatcar has but this machine may not (docker,
// iptables, resize2fs) are empty stand-ins in that folder.
func TestUnitsVerify(t *testing.T) {
	analyze := os.Getenv("NASSELLA_SYSTEMD_ANALYZE")
	if analyze == "" {
		analyze = "/usr/bin/systemd-analyze"
	}
	if _, err := os.Stat(analyze); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is missing: %v", err)
		}
		t.Skip("no systemd-analyze here")
	}
	l, by := renderEveryApp(t, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l ci")
	cfg := parseButane(t, by)
	keys := cfg.Passwd.Users[0].SSHAuthorizedKeys
	if want := `command="/opt/nassella/bin/nassella-backup-now",restrict ` + l.Admin.BackupKey; keys[len(keys)-1] != want {
		t.Errorf("backup key line %q, want %q", keys[len(keys)-1], want)
	}
	root := systemdRoot(t)
	write := func(p, body string, mode os.FileMode) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range cfg.Storage.Files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(f.Path, hostcontract.BinDir) {
			mode = 0o755
		}
		write(f.Path, f.body(t), mode)
	}
	var units []string
	for _, u := range cfg.Systemd.Units {
		for _, d := range u.Dropins {
			write("etc/systemd/system/"+u.Name+".d/"+d.Name, d.Contents, 0o644)
		}
		if u.Contents == "" {
			continue // a drop-in only, for a unit the host has
		}
		write("etc/systemd/system/"+u.Name, u.Contents, 0o644)
		units = append(units, filepath.Join(root, "etc/systemd/system", u.Name))
	}
	// The backup timer's schedule, as the generator writes it at boot from the settings
	// Terraform writes (systemd-analyze runs no generator).
	write(strings.TrimPrefix(hostcontract.BackupSettings, "/"), butane.BackupSettingsFile(render.Input{Site: l, Catalog: catalog.Embedded(), Version: "test"}), 0o644)
	gen := exec.Command("bash", filepath.Join(root, hostcontract.SettingsScript), "timer", filepath.Join(root, "etc/systemd/system"))
	gen.Env = append(os.Environ(), "NASSELLA_CONFIG="+filepath.Join(root, hostcontract.ConfigDir))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("the schedule generator: %v\n%s", err, out)
	}
	// Stand-ins for what Flatcar provides.
	write("etc/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd\n", 0o644)
	for _, b := range []string{"usr/bin/docker", "usr/bin/dockerd", "usr/sbin/iptables", "usr/sbin/resize2fs", "usr/bin/systemd-tmpfiles", "usr/bin/systemd-inhibit", "bin/sh"} {
		write(b, "#!/bin/sh\n", 0o755)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--root=" + root, "--man=no"}, units...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, s := range []string{hostcontract.BackupScript, hostcontract.BackupNowScript, hostcontract.SecretsScript, hostcontract.DataVolumeScript} {
		if out, err := exec.Command("bash", "-n", filepath.Join(root, s)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}
