package standinhost_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/standinhost"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// One boot of a stand-in host built from a one-app site, without its data disk: Ignition's
// files, users and presets are in place, sshd lets core in with the site's key and the
// pinned host key, the Compose plugin runs, and Docker and the apps wait for the volume
// instead of starting without it.
func TestStandInHostBoots(t *testing.T) {
	testtool.Require(t, "NASSELLA_IGNITION", ".ci/tools-hostimage.sh")
	testtool.Require(t, "NASSELLA_HOSTROOT", ".ci/tools-hostimage.sh")
	plugin := testtool.Require(t, "NASSELLA_COMPOSE_PLUGIN", ".ci/tools-docker.sh")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("building the stand-in host needs root: its files belong to several users")
		}
		t.Skip("building the stand-in host needs root")
	}
	qemu, err := vmtest.FindQEMU()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	keys, err := vmtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	site, err := vmtest.RenderSite(catalog.Embedded(), []string{"uptime-kuma"}, keys, vmtest.SiteOptions{Name: "standinhost"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Any file stands for the images here: Docker does not start without the volume.
	images := filepath.Join(dir, "images.tar")
	if err := os.WriteFile(images, []byte("not loaded in this test"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	start := time.Now()
	img, err := standinhost.Build(ctx, standinhost.Options{
		Ignition: site.Ignition, ComposePlugin: plugin, Images: images, Dir: dir, Log: &log,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("image built in %.1fs:\n%s", time.Since(start).Seconds(), stepLines(log.String()))
	if !strings.Contains(log.String(), "left out of Ignition: /opt/extensions/docker-compose/") {
		t.Errorf("the Compose sysext was not left out of Ignition:\n%s", log.String())
	}

	m := img.Machine()
	m.QEMU, m.Accel, m.MemoryMB, m.CPUs, m.Forward = qemu, "tcg", 2048, 2, []int{22}
	start = time.Now()
	vm, err := vmtest.Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	sctx, scancel := context.WithTimeout(ctx, 8*time.Minute)
	defer scancel()
	sh, err := vmtest.DialSSH(sctx, vm.Addr(22), keys)
	if err != nil {
		t.Fatalf("ssh as core: %v\nserial:\n%s", err, vm.Serial())
	}
	defer sh.Close()
	t.Logf("booted (%s) and let core in over SSH after %.1fs", vm.Accel(), time.Since(start).Seconds())

	// Once the serial getty starts, systemd no longer writes its status there; multi-user.target
	// is not reached at all without the data disk: the apps it wants wait for the volume.
	for _, want := range []string{"Linux version", "Basic System", "Network is Online", "standinhost login:"} {
		if !strings.Contains(vm.Serial(), want) {
			t.Errorf("the serial console lacks %q", want)
		}
	}
	for _, c := range []struct{ cmd, want string }{
		// Ignition's presets, applied by systemd's first boot.
		{"systemctl is-enabled nassella-proxy.service", "enabled"},
		{"systemctl is-enabled nassella-app-uptime-kuma.service", "enabled"},
		{"systemctl is-enabled nassella-metadata-guard.service", "enabled"},
		{"systemctl is-enabled " + standinhost.ImagesUnit, "enabled"},
		// Docker waits for the data volume (docker.service's RequiresMountsFor drop-in).
		{"systemctl is-active docker.service || true", "inactive"},
		{"systemctl list-jobs --no-legend docker.service var-lib-nassella.mount | awk '{print $2, $4}' | sort", "docker.service waiting\nvar-lib-nassella.mount waiting"},
		{"cat /etc/hostname", "standinhost"},
		{"sudo -n test -f " + standinhost.ImagesPath + " && echo images", "images"},
		// A docker command on the host's socket would wait for the daemon, which waits for
		// the volume; `compose version` needs no daemon.
		{"DOCKER_HOST=unix:///nonexistent timeout 60 docker compose version", "Docker Compose version " + composeVersion(t, plugin)},
		{"systemctl get-default", "multi-user.target"},
		{"test -e /opt/extensions || test -e /etc/extensions || echo none", "none"},
		{"grep -c uninitialized /etc/machine-id || true", "0"},
	} {
		out, err := sh.Run(ctx, c.cmd)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if got := strings.TrimSpace(out); got != c.want {
			t.Errorf("%s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	caddyfile, err := sh.Run(ctx, "cat /etc/nassella/proxy/Caddyfile")
	if err != nil {
		t.Error(err)
	} else if caddyfile != string(site.Caddyfile) {
		t.Errorf("/etc/nassella/proxy/Caddyfile is not the one Ignition was given:\n%s", caddyfile)
	}
	if t.Failed() {
		out, _ := sh.Run(ctx, "systemctl list-jobs; systemctl --failed; sudo -n journalctl -b --no-pager -p warning | tail -n 40")
		t.Logf("guest state:\n%s\nserial console (end):\n%s", out, tail(vm.Serial(), 60))
	}
}

// composeVersion is the version the Compose plugin binary reports to Docker's CLI.
func composeVersion(t *testing.T, plugin string) string {
	out, err := exec.Command(plugin, "docker-cli-plugin-metadata").Output()
	if err != nil {
		t.Fatalf("%s docker-cli-plugin-metadata: %v", plugin, err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(out, &meta); err != nil || meta.Version == "" {
		t.Fatalf("%s docker-cli-plugin-metadata: no version in %q (%v)", plugin, out, err)
	}
	return meta.Version
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stepLines are the build's timing lines.
func stepLines(log string) string {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "standinhost: ") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
