package butane_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vincent-petithory/dataurl"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/internal/hostcontract"
)

// hostUnit is a rendered unit: its own contents (empty for a unit the host has) and its
// drop-ins, by name.
type hostUnit struct {
	Contents string
	Dropins  map[string]string
}

// fileYAML is a file as the Butane config holds it.
type fileYAML struct {
	Path     string `yaml:"path"`
	Contents struct {
		Inline string `yaml:"inline"`
		Source string `yaml:"source"`
	} `yaml:"contents"`
}

// body is the file's contents, inline or from its data URL.
func (f fileYAML) body(t *testing.T) string {
	t.Helper()
	if !strings.HasPrefix(f.Contents.Source, "data:") {
		return f.Contents.Inline
	}
	d, err := dataurl.DecodeString(f.Contents.Source)
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	return string(d.Data)
}

// unitYAML is a unit as the Butane config holds it.
type unitYAML struct {
	Name     string `yaml:"name"`
	Contents string `yaml:"contents"`
	Dropins  []struct {
		Name     string `yaml:"name"`
		Contents string `yaml:"contents"`
	} `yaml:"dropins"`
}

// hostYAML is the files and units of a Butane config.
type hostYAML struct {
	Storage struct {
		Files []fileYAML `yaml:"files"`
	} `yaml:"storage"`
	Systemd struct {
		Units []unitYAML `yaml:"units"`
	} `yaml:"systemd"`
}

// renderedHost is the every-app example's units by name and its files' inline contents
// by path.
func renderedHost(t *testing.T) (map[string]hostUnit, map[string]string) {
	t.Helper()
	_, by := renderEveryApp(t, "")
	var cfg hostYAML
	if err := yaml.Unmarshal(by, &cfg); err != nil {
		t.Fatal(err)
	}
	units, files := map[string]hostUnit{}, map[string]string{}
	for _, u := range cfg.Systemd.Units {
		h := hostUnit{Contents: u.Contents, Dropins: map[string]string{}}
		for _, d := range u.Dropins {
			h.Dropins[d.Name] = d.Contents
		}
		units[u.Name] = h
	}
	for _, f := range cfg.Storage.Files {
		files[f.Path] = f.body(t)
	}
	return units, files
}

// unitKeys parses unit file text as section → key → values.
func unitKeys(text string) map[string]map[string][]string {
	sections, sec := map[string]map[string][]string{}, ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[") {
			sec = strings.Trim(line, "[]")
			if sections[sec] == nil {
				sections[sec] = map[string][]string{}
			}
		} else if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			sections[sec][k] = append(sections[sec][k], strings.Fields(v)...)
		}
	}
	return sections
}

// allDropins is the text of every drop-in of u, joined.
func allDropins(u hostUnit) string {
	var b strings.Builder
	for _, d := range u.Dropins {
		b.WriteString(d + "\n")
	}
	return b.String()
}

// Docker waits for the data volume, however it is started, and the host waits for a late
// volume: docker.service requires the mount and is ordered after it; the label's device
// job has no time limit (systemd's default, 90 s, would fail the mount when Terraform
// attaches the volume late); the metadata guard still comes before docker and pulls
// neither docker nor the mount in.
func TestDockerWaitsForTheDataVolume(t *testing.T) {
	units, _ := renderedHost(t)
	mount := unitKeys(units[hostcontract.DataMount].Contents)
	if what := mount["Mount"]["What"]; !slices.Equal(what, []string{"/dev/disk/by-label/" + hostcontract.DataLabel}) {
		t.Fatalf("the mount's What= is %v; the device drop-in is for the label device", what)
	}
	if out, err := exec.Command("systemd-escape", "--path", "--suffix=device", "/dev/disk/by-label/"+hostcontract.DataLabel).Output(); err == nil {
		if got := strings.TrimSpace(string(out)); got != butane.DataDevice {
			t.Errorf("DataDevice is %q, systemd-escape says %q", butane.DataDevice, got)
		}
	}
	docker := unitKeys(allDropins(units[hostcontract.DockerUnit]))
	device := unitKeys(allDropins(units[butane.DataDevice]))
	guard := unitKeys(units[hostcontract.MetadataGuardUnit].Contents)
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"docker.service is written as drop-ins only (Flatcar has the unit)", units[hostcontract.DockerUnit].Contents == "" && len(units[hostcontract.DockerUnit].Dropins) > 0},
		{"docker.service has RequiresMountsFor=" + hostcontract.DataDir, slices.Contains(docker["Unit"]["RequiresMountsFor"], hostcontract.DataDir)},
		{"the label device's job waits without limit (JobRunningTimeoutSec=infinity)", slices.Equal(device["Unit"]["JobRunningTimeoutSec"], []string{"infinity"})},
		{"docker.socket is not ordered after the mount (that is a cycle through sockets.target)", allDropins(units["docker.socket"]) == ""},
		{"the guard is ordered Before=docker.service", slices.Contains(guard["Unit"]["Before"], hostcontract.DockerUnit)},
		{"the guard does not wait for the mount or pull it in", !strings.Contains(units[hostcontract.MetadataGuardUnit].Contents, hostcontract.DataMount)},
	} {
		if !c.ok {
			t.Errorf("want: %s", c.what)
		}
	}

	// On a host laid out like Flatcar (moby's docker.service and docker.socket, as Flatcar
	// installs them), starting docker.service, docker.socket or the mount has no ordering
	// cycle; with docker.socket ordered after the mount, it has one.
	analyze := "/usr/bin/systemd-analyze"
	if _, err := os.Stat(analyze); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is missing: %v", err)
		}
		t.Skip("no systemd-analyze here")
	}
	for _, c := range []struct {
		name, socketDropin string
		cycle              bool
	}{
		{"as rendered", "", false},
		{"docker.socket after the mount", "[Unit]\nRequiresMountsFor=" + hostcontract.DataDir + "\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := systemdRoot(t)
			sys := filepath.Join(root, "etc/systemd/system")
			write := func(p, body string, mode os.FileMode) {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(body), mode); err != nil {
					t.Fatal(err)
				}
			}
			for name, u := range units {
				if u.Contents != "" {
					write("etc/systemd/system/"+name, u.Contents, 0o644)
				}
				for d, body := range u.Dropins {
					write("etc/systemd/system/"+name+".d/"+d, body, 0o644)
				}
			}
			write("etc/systemd/system/docker.socket", "[Unit]\nDescription=Docker Socket for the API\n[Socket]\nListenStream=/run/docker.sock\nSocketMode=0660\n[Install]\nWantedBy=sockets.target\n", 0o644)
			write("etc/systemd/system/docker.service", "[Unit]\nAfter=network-online.target docker.socket containerd.service time-set.target\nWants=network-online.target\nRequires=docker.socket\n[Service]\nExecStart=/usr/bin/dockerd -H fd://\n", 0o644)
			if c.socketDropin != "" {
				write("etc/systemd/system/docker.socket.d/test.conf", c.socketDropin, 0o644)
			}
			for _, b := range []string{"usr/bin/dockerd", "usr/sbin/iptables", hostcontract.DataVolumeScript, "bin/sh"} {
				write(b, "#!/bin/sh\n", 0o755)
			}
			write(strings.TrimPrefix(hostcontract.VolumeEnv, "/"), "NASSELLA_DATA_DEVICE=/dev/vdb\n", 0o644)
			// Enabled as on Flatcar, where docker.socket is in sockets.target.
			if out, err := exec.Command("/usr/bin/systemctl", "--root="+root, "enable", "docker.socket").CombinedOutput(); err != nil {
				t.Fatalf("systemctl enable docker.socket: %v\n%s", err, out)
			}
			args := []string{"verify", "--root=" + root, "--man=no"}
			for _, u := range []string{hostcontract.DockerUnit, "docker.socket", hostcontract.DataMount} {
				args = append(args, filepath.Join(sys, u))
			}
			// basic.target, as at boot, brings sockets.target and so docker.socket into
			// the same transaction as the volume service ordered after it.
			args = append(args, filepath.Join(root, "usr/lib/systemd/system/basic.target"))
			out, err := exec.Command(analyze, args...).CombinedOutput()
			cycle := strings.Contains(string(out), "ordering cycle")
			switch {
			case c.cycle && !cycle:
				t.Errorf("expected an ordering cycle, systemd-analyze verify said: %v\n%s", err, out)
			case !c.cycle && (err != nil || len(strings.TrimSpace(string(out))) > 0):
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
}

// A backup holds a shutdown delay lock while it runs, and logind waits for it as long as
// the backup may run: an update reboot then follows the backup instead of cutting it.
func TestBackupDelaysReboots(t *testing.T) {
	units, files := renderedHost(t)
	backup := unitKeys(units[hostcontract.BackupUnit].Contents)
	logind := unitKeys(files[butane.LogindDropIn])
	start := strings.Join(backup["Service"]["ExecStart"], " ")
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"the backup runs under systemd-inhibit", strings.HasPrefix(start, "/usr/bin/systemd-inhibit ")},
		{"it takes a shutdown lock", strings.Contains(start, " --what=shutdown ")},
		{"in delay mode (block lets root's reboot past before systemd 257)", strings.Contains(start, " --mode=delay ")},
		{"around the backup script", strings.HasSuffix(start, hostcontract.BackupScript+" run")},
		{"logind's delay limit is the backup's TimeoutStartSec", len(logind["Login"]["InhibitDelayMaxSec"]) > 0 && slices.Equal(logind["Login"]["InhibitDelayMaxSec"], backup["Service"]["TimeoutStartSec"])},
	} {
		if !c.ok {
			t.Errorf("want: %s\nExecStart=%s", c.what, start)
		}
	}
}
