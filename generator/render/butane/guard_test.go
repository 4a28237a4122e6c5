package butane_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// renderEveryApp renders the Butane config of the every-app example, with backupKey.
func renderEveryApp(t *testing.T, backupKey string) (*site.Loaded, []byte) {
	t.Helper()
	data, _ := examples.Get("every-app")
	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", data, cat)
	if err != nil {
		t.Fatal(err)
	}
	l.Admin.BackupKey = backupKey
	by, _, err := butane.Render(render.Input{Site: l, Catalog: cat, Version: "test"}, butane.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	return l, by
}

// systemdRoot is a folder for systemd-analyze --root with systemd's own units
// (sysinit.target, timers.target, ...) copied from this machine.
func systemdRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copying systemd's units: %v\n%s", err, out)
	}
	return root
}

// guardUnit is the rendered metadata guard, as section → key → values.
func guardUnit(t *testing.T) (string, map[string]map[string][]string) {
	t.Helper()
	_, by := renderEveryApp(t, "")
	var cfg struct {
		Systemd struct {
			Units []struct {
				Name     string `yaml:"name"`
				Enabled  bool   `yaml:"enabled"`
				Contents string `yaml:"contents"`
			} `yaml:"units"`
		} `yaml:"systemd"`
	}
	if err := yaml.Unmarshal(by, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, u := range cfg.Systemd.Units {
		if u.Name != hostcontract.MetadataGuardUnit {
			continue
		}
		if !u.Enabled {
			t.Errorf("%s is not enabled: its [Install] section would not apply", u.Name)
		}
		return u.Contents, unitKeys(u.Contents)
	}
	t.Fatalf("no unit %s rendered", hostcontract.MetadataGuardUnit)
	return "", nil
}

// The guard runs before docker, however docker is started (at boot, by docker.socket, by
// hand): docker.service requires it and is ordered after it. Ordered after docker, as it
// was, the containers dockerd restarts at boot could read the metadata service until the
// guard ran.
func TestMetadataGuardRunsBeforeDocker(t *testing.T) {
	contents, u := guardUnit(t)
	if !slices.Contains(u["Unit"]["Before"], hostcontract.DockerUnit) {
		t.Errorf("the guard is not ordered Before=%s:\n%s", hostcontract.DockerUnit, contents)
	}
	for _, k := range []string{"After", "Requires", "Wants", "BindsTo"} {
		if slices.Contains(u["Unit"][k], hostcontract.DockerUnit) || slices.Contains(u["Unit"][k], "docker.socket") {
			t.Errorf("the guard has %s=docker: it must run before docker, not after:\n%s", k, contents)
		}
	}
	if !slices.Contains(u["Install"]["RequiredBy"], hostcontract.DockerUnit) {
		t.Errorf("docker.service does not require the guard ([Install] RequiredBy=%s): docker could start without it:\n%s", hostcontract.DockerUnit, contents)
	}
	if !slices.Contains(u["Install"]["WantedBy"], "multi-user.target") {
		t.Errorf("the guard is not WantedBy=multi-user.target:\n%s", contents)
	}

	// Enabled as Ignition enables it, beside units shaped like Flatcar's docker.socket and
	// docker.service: docker.service requires the guard, and starting docker (which
	// systemd-analyze verify tries) has no ordering cycle.
	systemctl, analyze := "/usr/bin/systemctl", "/usr/bin/systemd-analyze"
	if _, err := os.Stat(analyze); err != nil {
		t.Skip("no systemd-analyze here")
	}
	root := systemdRoot(t)
	sys := filepath.Join(root, "etc/systemd/system")
	for p, body := range map[string]string{
		"etc/systemd/system/" + hostcontract.MetadataGuardUnit: contents,
		"etc/systemd/system/docker.socket":                     "[Socket]\nListenStream=/run/docker.sock\n[Install]\nWantedBy=sockets.target\n",
		"etc/systemd/system/docker.service":                    "[Unit]\nAfter=docker.socket\nRequires=docker.socket\n[Service]\nExecStart=/usr/bin/dockerd\n",
		"usr/bin/dockerd":                                      "#!/bin/sh\n",
		"usr/sbin/iptables":                                    "#!/bin/sh\n",
		"bin/sh":                                               "#!/bin/sh\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o755)
		if strings.HasPrefix(p, "etc/") {
			mode = 0o644
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(systemctl, "--root="+root, "enable", hostcontract.MetadataGuardUnit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl enable: %v\n%s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(sys, hostcontract.DockerUnit+".requires", hostcontract.MetadataGuardUnit)); err != nil {
		t.Errorf("enabling the guard did not make docker.service require it: %v", err)
	}
	out, err := exec.Command(analyze, "verify", "--root="+root, "--man=no", filepath.Join(sys, "docker.service"), filepath.Join(sys, "docker.socket")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify docker with the guard: %v\n%s", err, out)
	}
}

// The guard's command, run for real in a network namespace of its own with Debian's
// iptables, before any docker: the chain and the rule exist after it, once, however often
// it runs.
func TestMetadataGuardRule(t *testing.T) {
	iptables := testtool.Require(t, "NASSELLA_IPTABLES", ".ci/tools-backup.sh")
	_, u := guardUnit(t)
	start := strings.Join(u["Service"]["ExecStart"], " ")
	if !strings.HasPrefix(start, "/bin/sh -c ") {
		t.Fatalf("ExecStart is not a /bin/sh -c command: %s", start)
	}
	script := filepath.Join(t.TempDir(), "guard.sh")
	if err := os.WriteFile(script, []byte(start+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--net", "sh", "-c", `sh "$1" && sh "$1" && "$2" -w -S DOCKER-USER`, "sh", script, iptables)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guard in a fresh network namespace (unshare --net, as root): %v\n%s", err, out)
	}
	want := "-N DOCKER-USER\n-A DOCKER-USER -d 169.254.169.254/32 -j REJECT --reject-with icmp-port-unreachable\n"
	if string(out) != want {
		t.Errorf("DOCKER-USER after the guard ran twice:\n%s\nwant\n%s", out, want)
	}
}
