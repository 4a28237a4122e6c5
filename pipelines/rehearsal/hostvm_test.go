package rehearsal_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/ignition/v2/config/v3_3/types"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/standinhost"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// The whole host in a VM (the Debian stand-in of internal/testenv/standinhost, provisioned
// by Ignition's own binary from the site's Ignition), each scenario asserted from outside:
//   - first boot with the data disk hot-plugged after more than systemd's 90 s device
//     timeout: before it, Ignition's files, users and presets in place and Docker and the
//     apps waiting for the volume; after it, the app claimed by the host's claim unit and
//     healthy over HTTPS, Docker and the metadata guard ordered after the mount, secrets
//     made;
//   - a backup to S3, then a reboot: same data, same secrets;
//   - a rebuild: a fresh VM from the pristine image with the same data disk and an app
//     added: data and secrets kept, the certificate not issued again, the new app healthy;
//   - (a fresh VM on a blank disk restoring the last backup before its apps start is
//     TestMoveWithData's, where a move's apply asks for it).
func TestHostInVM(t *testing.T) {
	plugin, qemu, ctx, cancel := startVMTest(t)
	defer cancel()
	cat := catalog.Embedded()
	first, both := []string{"uptime-kuma"}, []string{"uptime-kuma", "vaultwarden"}
	s3 := s3test.Start(t)
	const bucket = "rehearsal-vm"
	s3.Bucket(t, bucket)
	keys, err := vmtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	images, _, err := standin.Build(ctx, cat, both, filepath.Join(os.TempDir(), "nassella-rehearsal-images"))
	if err != nil {
		t.Fatal(err)
	}
	var caddyfile []byte // the first image's
	image := func(apps []string, restore bool) *standinhost.Image {
		t.Helper()
		ign, ts := vmIgnition(t, cat, apps, keys, s3, bucket, restore)
		if caddyfile == nil {
			caddyfile = ts.Caddyfile
		}
		var log strings.Builder
		start := time.Now()
		out := filepath.Join(dir, strings.Join(apps, "+"))
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		img, err := standinhost.Build(ctx, standinhost.Options{Ignition: ign, ComposePlugin: plugin, Images: images, Dir: out, Log: &log})
		if err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		t.Logf("stand-in host for %s built in %s", strings.Join(apps, ", "), time.Since(start).Round(time.Second))
		if !strings.Contains(log.String(), "left out of Ignition: /opt/extensions/docker-compose/") {
			t.Errorf("the Compose sysext was not left out of Ignition:\n%s", log.String())
		}
		return img
	}
	boot := func(img *standinhost.Image, disk string) *guest {
		t.Helper()
		return startGuest(ctx, t, img, qemu, disk, keys)
	}

	// First boot; the data disk comes after more than 90 s.
	img1 := image(first, false)
	disk := filepath.Join(dir, "data.raw")
	if err := vmtest.CreateDisk(disk, 2<<30); err != nil {
		t.Fatal(err)
	}
	g := boot(img1, "")
	g.ssh(ctx)
	g.beforeVolume(ctx, plugin, caddyfile)
	if wait := 95*time.Second - time.Since(g.started); wait > 0 {
		time.Sleep(wait)
	}
	if out := g.run(ctx, "systemctl is-active var-lib-nassella.mount docker.service || true"); !strings.Contains(out, "inactive") {
		t.Fatalf("before the volume came: %q; the mount and Docker must wait", out)
	}
	t.Logf("data disk hot-plugged %s after power-on", time.Since(g.started).Round(time.Second))
	if err := g.vm.(*vmtest.VM).HotplugDataDisk(ctx, disk); err != nil {
		t.Fatal(err)
	}
	roots := g.healthy(ctx, first, "first boot")
	g.checkOrder(ctx)
	mark := g.marks(ctx, roots, first)
	secrets := g.run(ctx, "sudo -n sha256sum /var/lib/nassella/secrets/uptime-kuma.env")
	certs := g.run(ctx, "sudo -n sh -c 'cd "+vmtest.CaddyCertificates+" && find . -type f -name \"*.crt\" | sort | xargs sha256sum'")

	// A backup, then a reboot.
	g.run(ctx, "sudo -n "+hostcontract.BackupScript+" run")
	g.reboot(ctx)
	roots = g.healthy(ctx, first, "reboot")
	g.checkOrder(ctx)
	g.same(ctx, roots, mark, secrets, certs, "over a reboot")
	g.shutdown(ctx)

	// A rebuild: the pristine image with an app added, the same data disk. Its server was
	// made with a restore instruction (as for a move): it must not restore over the data.
	img2 := image(both, true)
	g = boot(img2, disk)
	g.ssh(ctx)
	roots = g.healthy(ctx, both, "rebuild")
	g.same(ctx, roots, mark, secrets, certs, "over a rebuild")
	if out := g.run(ctx, "sudo -n journalctl -b --no-pager -o cat -u "+hostcontract.RestoreUnit); !strings.Contains(out, "the data volume holds data") || strings.Contains(out, "restoring snapshot") {
		t.Errorf("a server with a restore instruction on a volume with data:\n%s", out)
	}
	g.shutdown(ctx)
	// A server taking the site over on a blank volume restores before any app starts:
	// TestMoveWithData, with the apply that gives it the restore instruction.
}

// startGuest powers img on under TCG (2 CPUs, 2 GiB, SSH and HTTPS forwarded) with disk
// as its data disk (none when empty); it is closed when the test ends.
func startGuest(ctx context.Context, t *testing.T, img *standinhost.Image, qemu, disk string, keys *vmtest.Keys) *guest {
	t.Helper()
	m := img.Machine()
	m.QEMU, m.Accel, m.MemoryMB, m.CPUs, m.Forward, m.Reboots = qemu, "tcg", 2048, 2, []int{22, 443}, true
	m.DataDisk = disk
	vm, err := vmtest.Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, vm: vm, keys: keys, started: time.Now()}
	t.Cleanup(g.close)
	return g
}

// startVMTest begins a test that boots stand-in hosts under QEMU: it checks their tools,
// runs the test in parallel (the compose layer runs in Docker on this machine, these in
// QEMU: they share nothing) and gives it 40 minutes. It returns the Compose plugin, QEMU
// and the test's context, to cancel with a defer (before the cleanups, which remove what
// a still running command may use).
func startVMTest(t *testing.T) (plugin, qemu string, ctx context.Context, cancel context.CancelFunc) {
	t.Helper()
	plugin = requireStandinHost(t)
	qemu, err := vmtest.FindQEMU()
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	ctx, cancel = context.WithTimeout(context.Background(), 40*time.Minute)
	return plugin, qemu, ctx, cancel
}

// requireStandinHost checks what building a stand-in host needs (Ignition, the Debian
// root, root) and returns the Compose plugin it installs.
func requireStandinHost(t *testing.T) string {
	t.Helper()
	testtool.Require(t, "NASSELLA_IGNITION", ".ci/tools-hostimage.sh")
	testtool.Require(t, "NASSELLA_HOSTROOT", ".ci/tools-hostimage.sh")
	plugin := testtool.Require(t, "NASSELLA_COMPOSE_PLUGIN", ".ci/tools-docker.sh")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("building the stand-in host needs root")
		}
		t.Skip("building the stand-in host needs root")
	}
	return plugin
}

// vmIgnition is the Ignition a server of apps gets at apply (vmtest.RenderSite plays
// Terraform's part), plus what the rehearsal adds (standinFiles). restore: with the
// restore instruction site.yaml's backups.restore: latest makes apply write
// (site-template/terraform/shared/ignition.tf).
func vmIgnition(t *testing.T, cat *catalog.Release, apps []string, keys *vmtest.Keys, s3 *s3test.Server, bucket string, restore bool) ([]byte, *vmtest.TestSite) {
	t.Helper()
	ts, err := vmtest.RenderSite(cat, apps, keys, vmtest.SiteOptions{Name: rehearsalSite, Backup: &vmtest.BackupTarget{
		Endpoint: "https://s3.rehearsal.test", Bucket: bucket,
		AccessKeyID: s3.Access, SecretAccessKey: s3.Secret, Password: "rehearsal restic password",
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(ts.Site, cat)
	if err != nil {
		t.Fatal(err)
	}
	add := standinFiles(t, cat, apps, ts.Ignition, tr, guestRepository(s3.Endpoint, bucket, rehearsalSite))
	if restore {
		add[hostcontract.RestoreEnv] = hostcontract.RestoreVar + "=latest\n"
	}
	return ignitionWith(t, nil, ts.Ignition, ignitionWith(t, add)), ts
}

// standinFiles are the files the rehearsal puts over a server's Ignition ign (what the
// server boots with: the generated config merged with the apply-time files): backup.env
// aimed at repo (guestRepository), the backup settings terraform_data.server_setup copies,
// and each app's claim as its stand-in understands it (see standinClaim; the runner, its
// unit and the gate stay the host's own).
func standinFiles(t *testing.T, cat *catalog.Release, apps []string, ign []byte, tr *tree.Tree, repo string) map[string]string {
	t.Helper()
	final, _, err := vmtest.ResolveIgnition(ign)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range final.Storage.Files {
		if f.Contents.Source != nil && strings.HasPrefix(*f.Contents.Source, "data:") { // not the sysext's URL
			b, err := vmtest.DecodeSource(*f.Contents.Source, f.Contents.Compression)
			if err != nil {
				t.Fatal(err)
			}
			files[f.Path] = string(b)
		}
	}
	env := replaceLine(t, files[hostcontract.BackupEnv], "RESTIC_REPOSITORY=", "RESTIC_REPOSITORY='"+repo+"'")
	settings, _ := tr.Get(butane.SettingsPath)
	add := map[string]string{hostcontract.BackupEnv: env, hostcontract.BackupSettings: string(settings.Data)}
	for _, a := range apps {
		p := path.Join(hostcontract.AppsConfig, a, hostcontract.ClaimFile)
		body, ok := files[p]
		if !ok {
			t.Fatalf("the Ignition has no %s", p)
		}
		add[p] = standinClaim(t, a, body, cat.Apps[a].Claim, false)
	}
	return add
}

// guestRepository is the restic repository of site in bucket as a guest reaches the S3
// server at endpoint on this machine's loopback: through QEMU's user network, where
// 10.0.2.2 is the host's loopback (QEMU's docs, "Network emulation", user networking).
func guestRepository(endpoint, bucket, site string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("s3:http://10.0.2.2:%s/%s/%s", u.Port(), bucket, site)
}

// ignitionWith is an Ignition config holding files (mode 0644) that merges configs, in order.
func ignitionWith(t *testing.T, files map[string]string, merge ...[]byte) []byte {
	t.Helper()
	var c types.Config
	c.Ignition.Version = "3.3.0"
	for _, m := range merge {
		src := "data:;base64," + base64.StdEncoding.EncodeToString(m)
		c.Ignition.Config.Merge = append(c.Ignition.Config.Merge, types.Resource{Source: &src})
	}
	for p, body := range files {
		src := "data:," + url.PathEscape(body)
		mode, overwrite := 0o644, true
		f := types.File{Node: types.Node{Path: p, Overwrite: &overwrite}}
		// An empty compression, not none: merged over a generated file that was gzipped, a
		// missing field would keep the earlier "gzip" (Ignition's merge keeps what the child
		// leaves unset).
		none := ""
		f.Mode = &mode
		f.Contents.Source, f.Contents.Compression = &src, &none
		c.Storage.Files = append(c.Storage.Files, f)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// machine is a running stand-in host: a vmtest.VM, or a libvirt domain (libvirt_test.go).
type machine interface {
	// Addr is where the guest's TCP port is forwarded to on this machine.
	Addr(guestPort int) string
	// Serial is what the guest has written to its serial console so far.
	Serial() string
	Shutdown(ctx context.Context) error
	Close() error
}

// guest is one booted stand-in host, reached over SSH and its forwarded 443.
type guest struct {
	t       *testing.T
	vm      machine
	keys    *vmtest.Keys
	sh      *vmtest.SSH
	started time.Time
}

func (g *guest) close() {
	if g.sh != nil {
		g.sh.Close()
	}
	g.vm.Close()
}

func (g *guest) ssh(ctx context.Context) {
	g.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	sh, err := vmtest.DialSSH(sctx, g.vm.Addr(22), g.keys)
	if err != nil {
		g.t.Fatalf("ssh as core: %v\nserial:\n%s", err, tailLines(g.vm.Serial(), 60))
	}
	g.sh = sh
	g.t.Logf("SSH up %s after power-on", time.Since(g.started).Round(time.Second))
}

// beforeVolume checks a first boot without the data disk: Ignition's files, users and
// presets in place, sshd letting core in with the site's key (DialSSH pins the host key),
// the Compose plugin, and Docker and the apps waiting for the volume instead of starting
// without it.
func (g *guest) beforeVolume(ctx context.Context, plugin string, caddyfile []byte) {
	g.t.Helper()
	// Once the serial getty starts, systemd no longer writes its status there;
	// multi-user.target is not reached without the data disk: its apps wait for the volume.
	for _, want := range []string{"Linux version", "Basic System", "Network is Online", rehearsalSite + " login:"} {
		if !strings.Contains(g.vm.Serial(), want) {
			g.t.Errorf("the serial console lacks %q", want)
		}
	}
	for _, c := range []struct{ cmd, want string }{
		// Ignition's presets, applied by systemd's first boot.
		{"systemctl is-enabled nassella-proxy.service", "enabled"},
		{"systemctl is-enabled nassella-app-uptime-kuma.service", "enabled"},
		{"systemctl is-enabled " + fmt.Sprintf(hostcontract.ClaimUnit, "uptime-kuma"), "enabled"},
		{"systemctl is-enabled nassella-metadata-guard.service", "enabled"},
		{"systemctl is-enabled " + standinhost.ImagesUnit, "enabled"},
		// Docker waits for the data volume (docker.service's RequiresMountsFor drop-in).
		{"systemctl is-active docker.service || true", "inactive"},
		{"systemctl list-jobs --no-legend docker.service var-lib-nassella.mount | awk '{print $2, $4}' | sort", "docker.service waiting\nvar-lib-nassella.mount waiting"},
		{"cat /etc/hostname", rehearsalSite},
		{"sudo -n test -f " + standinhost.ImagesPath + " && echo images", "images"},
		// A docker command on the host's socket would wait for the daemon, which waits for
		// the volume; `compose version` needs no daemon.
		{"DOCKER_HOST=unix:///nonexistent timeout 60 docker compose version", "Docker Compose version " + composeVersion(g.t, plugin)},
		{"systemctl get-default", "multi-user.target"},
		{"test -e /opt/extensions || test -e /etc/extensions || echo none", "none"},
		{"grep -c uninitialized /etc/machine-id || true", "0"},
	} {
		if got := strings.TrimSpace(g.run(ctx, c.cmd)); got != c.want {
			g.t.Errorf("before the volume: %s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	if got := g.run(ctx, "cat /etc/nassella/proxy/Caddyfile"); got != string(caddyfile) {
		g.t.Errorf("/etc/nassella/proxy/Caddyfile is not the one Ignition was given:\n%s", got)
	}
}

// composeVersion is the version the Compose plugin binary reports to Docker's CLI.
func composeVersion(t *testing.T, plugin string) string {
	t.Helper()
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

func (g *guest) run(ctx context.Context, cmd string) string {
	g.t.Helper()
	out, err := g.sh.Run(ctx, cmd)
	if err != nil {
		g.t.Fatalf("%s: %v\n%s", cmd, err, g.state(ctx))
	}
	return out
}

// state is what a failure message needs from the guest.
func (g *guest) state(ctx context.Context) string {
	// Bounded: a guest too slow or stuck to answer must not eat the test's whole time
	// before its failure is even reported.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, _ := g.sh.Run(ctx, "systemctl list-jobs --no-pager; systemctl --failed --no-pager; "+
		"sudo -n journalctl -b --no-pager -n 80 -u 'nassella-*' -u docker.service -u var-lib-nassella.mount; "+
		"sudo -n docker ps -a --no-trunc; sudo -n docker network ls; ip -br addr; ip route; "+
		"sudo -n iptables-save; for c in $(sudo -n docker ps -aq); do echo == logs $c; sudo -n docker logs --tail 30 $c 2>&1; done; "+
		"for c in $(sudo -n docker ps -q); do sudo -n docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' $c; done; "+
		"curl -sv -k --max-time 10 https://127.0.0.1:443/ 2>&1 | tail -20; sudo -n dmesg | tail -30")
	return out
}

// healthy waits for every app over HTTPS through the guest's Caddy and returns the trusted
// root of its internal CA.
func (g *guest) healthy(ctx context.Context, apps []string, what string) *x509.CertPool {
	g.t.Helper()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var pem string
	for {
		out, err := g.sh.Run(hctx, "sudo -n cat "+vmtest.CaddyRoot+" 2>/dev/null")
		if err == nil && strings.Contains(out, "BEGIN CERTIFICATE") {
			pem = out
			break
		}
		if failed, _ := g.sh.Run(hctx, "systemctl list-units --failed --plain --no-legend 'nassella-*'"); strings.TrimSpace(failed) != "" {
			g.t.Fatalf("%s: a unit failed: %s\n%s", what, failed, g.state(ctx))
		}
		select {
		case <-hctx.Done():
			g.t.Fatalf("%s: Caddy's internal CA never appeared\n%s", what, g.state(ctx))
		case <-time.After(3 * time.Second):
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(pem))
	if err := vmtest.WaitHealthy(hctx, g.vm.Addr(443), roots, siteTargets(apps), testWriter{g.t}); err != nil {
		g.t.Fatalf("%s: %v\n%s", what, err, g.state(ctx))
	}
	// Healthy through Caddy means its gate opened: the claim unit made the administrator.
	checkClaimed(ctx, g.t, httpsClient(g.vm.Addr(443), roots), siteTargets(apps))
	g.t.Logf("%s: power-on to every app healthy: %s", what, time.Since(g.started).Round(time.Second))
	return roots
}

// siteTargets are the health checks of a test site of apps.
func siteTargets(apps []string) []health.Target {
	var out []health.Target
	for _, a := range apps {
		spec := catalog.Embedded().Apps[a]
		out = append(out, health.Target{App: a, Host: spec.Subdomain + "." + vmtest.TestDomain, Path: spec.Health.Path, Status: spec.Health.Status})
	}
	return out
}

// checkOrder reads systemd's own timestamps: Docker and the metadata guard after the data
// mount, the guard before the proxy (the first unit that runs a container).
func (g *guest) checkOrder(ctx context.Context) {
	g.t.Helper()
	at := map[string]int64{}
	units := []string{"var-lib-nassella.mount", "docker.service", "nassella-metadata-guard.service", "nassella-proxy.service"}
	for _, u := range units {
		out := strings.TrimSpace(g.run(ctx, "systemctl show -P ActiveEnterTimestampMonotonic "+u))
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil || n == 0 {
			g.t.Fatalf("%s never became active (%q)", u, out)
		}
		at[u] = n
	}
	if at["docker.service"] < at["var-lib-nassella.mount"] {
		g.t.Error("Docker was active before the data volume was mounted")
	}
	if at["nassella-proxy.service"] < at["nassella-metadata-guard.service"] {
		g.t.Error("the proxy's containers ran before the metadata guard was in place")
	}
}

// checkRestoreFirst reads systemd's timestamps: the restore finished before the secrets
// service and the proxy started (so before every app).
func (g *guest) checkRestoreFirst(ctx context.Context) {
	g.t.Helper()
	done := g.run(ctx, "systemctl show -P ExecMainExitTimestampMonotonic "+hostcontract.RestoreUnit)
	for _, u := range []string{hostcontract.SecretsUnit, hostcontract.ProxyUnit} {
		started := g.run(ctx, "systemctl show -P ExecMainStartTimestampMonotonic "+u)
		d, err1 := strconv.ParseInt(strings.TrimSpace(done), 10, 64)
		s, err2 := strconv.ParseInt(strings.TrimSpace(started), 10, 64)
		if err1 != nil || err2 != nil || d == 0 || s == 0 {
			g.t.Errorf("timestamps of %s (%q) and %s (%q)", hostcontract.RestoreUnit, done, u, started)
			continue
		}
		if s < d {
			g.t.Errorf("%s started before the restore finished", u)
		}
	}
}

// marks asks each app for the marks its stand-in keeps on the volume.
func (g *guest) marks(ctx context.Context, roots *x509.CertPool, apps []string) string {
	g.t.Helper()
	c := httpsClient(g.vm.Addr(443), roots)
	var b strings.Builder
	for _, tg := range siteTargets(apps) {
		b.WriteString(tg.App + ": " + fetchMark(ctx, g.t, c, tg) + "\n")
	}
	return b.String()
}

func (g *guest) same(ctx context.Context, roots *x509.CertPool, mark, secrets, certs, what string) {
	g.t.Helper()
	if got := g.marks(ctx, roots, []string{"uptime-kuma"}); got != mark {
		g.t.Errorf("the data changed %s: %s, was %s", what, got, mark)
	}
	if got := g.run(ctx, "sudo -n sha256sum /var/lib/nassella/secrets/uptime-kuma.env"); got != secrets {
		g.t.Errorf("the secrets changed %s", what)
	}
	got := g.run(ctx, "sudo -n sh -c 'cd "+vmtest.CaddyCertificates+" && find . -type f -name \"*.crt\" | sort | xargs sha256sum'")
	for _, l := range strings.Split(strings.TrimSpace(certs), "\n") {
		if !strings.Contains(got, l) {
			g.t.Errorf("a certificate was issued again %s: %s is gone", what, l)
		}
	}
}

func (g *guest) reboot(ctx context.Context) {
	g.t.Helper()
	g.sh.Run(ctx, "sudo -n systemctl reboot")
	g.sh.Close()
	g.sh = nil
	time.Sleep(10 * time.Second)
	g.started = time.Now()
	g.ssh(ctx)
}

func (g *guest) shutdown(ctx context.Context) {
	g.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := g.vm.Shutdown(sctx); err != nil {
		g.t.Logf("shutdown: %v", err)
	}
	g.close()
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
