package rehearsal_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/caddy"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/standinhost"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// The own-hardware platform for real: the generated site's terraform folder (the libvirt
// module, its DNS at Hetzner: the Hetzner simulator) applied by OpenTofu with the real
// libvirt and hcloud providers against this machine's libvirtd, which starts the server
// under QEMU (TCG). The guest is the rehearsal's stand-in
// host (internal/testenv/standinhost), built from the very Ignition the module put in the
// pool, since Debian's initramfs has no Ignition to read it at boot. Checked from outside:
//   - the Ignition reaches the guest where Flatcar's Ignition reads it (fw_cfg), byte for
//     byte what the module made;
//   - the data disk is where the module told the host it is (its WWN, the same on every
//     server), formatted and mounted, and the app healthy over HTTPS;
//   - the site's names point at the address site.yaml gives (the zone's records);
//   - the next plan is empty; a change of the server's setup replaces the server, its OS
//     disk and its Ignition and leaves the data disk alone; a plan that would destroy the
//     data disk is refused;
//   - the same site with dns: records_only plans without the hcloud provider or a token.
//
// What the test adds to the module, in standin_override.tf (OpenTofu merges *_override.tf
// into the module's resources): the stand-in's kernel and command line (it has no
// bootloader), and an XSLT (the provider's xml.xslt) that swaps the LAN NIC for QEMU's
// user network with ports 22 and 443 forwarded to 127.0.0.1, and the console for a file.
// The domain type is qemu (TCG) instead of kvm through the provider's own
// TERRAFORM_LIBVIRT_TEST_DOMAIN_TYPE (libvirt/resource_libvirt_domain.go).
func TestLibvirtPlatform(t *testing.T) {
	tofu := testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	testtool.Require(t, "TF_CLI_CONFIG_FILE", ".ci/tools.sh")
	uri := testtool.Require(t, "NASSELLA_LIBVIRT_URI", ".ci/tools-libvirt.sh")
	plugin := requireStandinHost(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cat := catalog.Embedded()
	apps := []string{"uptime-kuma"}
	s3 := s3test.Start(t)
	const bucket = "rehearsal-libvirt"
	s3.Bucket(t, bucket)
	keys, err := vmtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lv := newLibvirtRun(t, uri, dir)
	// Not StartForOpenTofu: its t.Setenv is not allowed in a parallel test.
	dns := hcloudsim.New()
	dns.SetToken(hcloudsim.TestToken)
	dns.Start()
	t.Cleanup(dns.Close)

	// The site, generated as nassella generate writes it.
	const address = "127.0.0.1" // where the names point: the stand-in's forwarded ports
	hostKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(keys.Host.PublicKey())))
	provider := func(memory int) string {
		return fmt.Sprintf("{ libvirt: { host: 127.0.0.1, host_key: %q, pool: %s, network: default, ipv4_address: %s, memory_mb: %d, vcpus: 2, volume_gb: 10 } }", hostKey, lv.pool, address, memory)
	}
	repo := filepath.Join(dir, "repo")
	backup := &vmtest.BackupTarget{Endpoint: "https://s3.rehearsal.test", Bucket: bucket, AccessKeyID: s3.Access, SecretAccessKey: s3.Secret, Password: "rehearsal restic password"}
	owned := map[string][]string{} // by repo: what the last generate wrote there
	generate := func(repo string, apps []string, memory int, dnsMode string) {
		t.Helper()
		y := vmtest.SiteYAML(apps, keys.AuthorizedKey(), vmtest.SiteOptions{Name: rehearsalSite, Backup: backup, Provider: provider(memory), DNS: dnsMode})
		l, err := siterepo.FromBytes(siterepo.SiteFile, y, cat)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := generator.Generate(l, cat)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Write(repo, owned[repo]); err != nil {
			t.Fatal(err)
		}
		owned[repo] = tr.Paths()
		if err := os.WriteFile(filepath.Join(repo, siterepo.SiteFile), y, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const hetznerDNS = "{ hetzner: {} }"
	generate(repo, apps, 2048, hetznerDNS)
	tf := &tofuRun{t: t, bin: tofu, dir: filepath.Join(repo, "terraform"), env: []string{
		"TF_VAR_hcloud_token=" + hcloudsim.TestToken,
		"TF_VAR_hcloud_endpoint=" + dns.Endpoint(),
		"TF_VAR_libvirt_uri=" + uri,
		"TF_VAR_state_passphrase=rehearsal state passphrase",
		"TF_VAR_backup_password=" + backup.Password,
		"TF_VAR_backup_s3_access_key_id=" + backup.AccessKeyID,
		"TF_VAR_backup_s3_secret_access_key=" + backup.SecretAccessKey,
		"TF_VAR_ssh_host_key=" + string(keys.HostKeyPEM()),
		"TF_VAR_ssh_host_public_key=" + hostKey,
		"TERRAFORM_LIBVIRT_TEST_DOMAIN_TYPE=qemu",
	}}
	tf.run(ctx, "init", "-input=false")

	// The Ignition first: the stand-in is built from it.
	tf.run(ctx, "apply", "-input=false", "-auto-approve", "-target=libvirt_ignition.host")
	made, err := os.ReadFile(filepath.Join(lv.poolDir, rehearsalSite+"-ignition.json"))
	if err != nil {
		t.Fatalf("the module put no Ignition in the pool: %v", err)
	}
	l, err := siterepo.FromBytes(siterepo.SiteFile, mustRead(t, filepath.Join(repo, siterepo.SiteFile)), cat)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := tr.Get(caddy.Path)
	testCaddy, err := vmtest.InternalCA(cf.Data)
	if err != nil {
		t.Fatal(err)
	}
	add := standinFiles(t, cat, apps, made, tr, guestRepository(s3.Endpoint, bucket, rehearsalSite))
	add[filepath.Join(hostcontract.ProxyDir, hostcontract.Caddyfile)] = string(testCaddy)
	images, _, err := standin.Build(ctx, cat, apps, filepath.Join(os.TempDir(), "nassella-rehearsal-images-libvirt"))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	img, err := standinhost.Build(ctx, standinhost.Options{Ignition: ignitionWith(t, nil, made, ignitionWith(t, add)), ComposePlugin: plugin, Images: images, Dir: filepath.Join(dir, "image"), Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}

	// The server.
	ports := [2]int{testtool.FreePort(t), testtool.FreePort(t)}
	serial := filepath.Join(dir, "serial.log")
	writeOverride(t, tf.dir, img, ports, serial)
	tf.env = append(tf.env, "TF_VAR_flatcar_image="+img.Disk)
	start := time.Now()
	tf.run(ctx, "apply", "-input=false", "-auto-approve")
	t.Logf("tofu apply (volumes uploaded, domain started) took %s", time.Since(start).Round(time.Second))
	wwn := tf.output(ctx, "data_device")
	if !strings.HasPrefix(wwn, "/dev/disk/by-id/wwn-0x5") {
		t.Fatalf("data_device is %q, want a WWN path", wwn)
	}
	dom := &libvirtDomain{uri: uri, name: rehearsalSite, ports: ports, serial: serial}
	g := &guest{t: t, vm: dom, keys: keys, started: start}
	t.Cleanup(g.close)
	g.ssh(ctx)

	// Flatcar's Ignition reads its config from this file (coreos/ignition
	// internal/providers/qemu/qemu_fwcfg.go, firmwareConfigPath).
	got := g.run(ctx, "sudo -n modprobe qemu_fw_cfg && sudo -n cat /sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw | sha256sum")
	if want := sha256hex(made); !strings.HasPrefix(got, want) {
		t.Errorf("the guest's fw_cfg config has sha256 %s, the module's Ignition %s", strings.Fields(got)[0], want)
	}
	if got := strings.TrimSpace(g.run(ctx, "cat "+hostcontract.VolumeEnv)); got != "NASSELLA_DATA_DEVICE="+wwn {
		t.Errorf("%s is %q, want the module's data_device %s", hostcontract.VolumeEnv, got, wwn)
	}
	g.healthy(ctx, apps, "libvirt first boot")
	if got, want := strings.TrimSpace(g.run(ctx, "findmnt -n -o SOURCE /var/lib/nassella")), strings.TrimSpace(g.run(ctx, "readlink -f "+wwn)); got != want || got == "" {
		t.Errorf("/var/lib/nassella is mounted from %q, want the data disk %s (%q)", got, wwn, want)
	}
	if got := strings.TrimSpace(g.run(ctx, "lsblk -dno SERIAL,WWN $(readlink -f "+wwn+")")); !strings.Contains(got, strings.TrimPrefix(wwn, "/dev/disk/by-id/wwn-")) {
		t.Errorf("the data disk's WWN is %q, want %s", got, wwn)
	}

	// The names point at site.yaml's address, at Hetzner DNS; no AAAA without an IPv6.
	host := cat.Apps["uptime-kuma"].Subdomain
	var a []string
	for _, rr := range dns.RRSets(vmtest.TestDomain) {
		if rr.Name == host && rr.Type == "A" {
			a = rr.Values
		}
		if rr.Type == "AAAA" {
			t.Errorf("an AAAA record for %s, but site.yaml names no IPv6 address", rr.Name)
		}
	}
	if len(a) != 1 || a[0] != address {
		t.Errorf("%s.%s has A records %v, want [%s]", host, vmtest.TestDomain, a, address)
	}

	// The next plan is empty: nothing the provider reads back differs.
	if code, out := tf.plan(ctx); code != 0 {
		t.Errorf("the plan after apply is not empty (exit %d):\n%s", code, out)
	}
	// A changed setup (an app added) rebuilds the server and keeps the data disk.
	generate(repo, []string{"uptime-kuma", "vaultwarden"}, 2048, hetznerDNS)
	actions := tf.planActions(ctx)
	want := map[string]string{
		"libvirt_domain.host":            "delete,create",
		"libvirt_volume.os":              "delete,create",
		"libvirt_ignition.host":          "delete,create",
		"terraform_data.server_setup":    "update",
		"terraform_data.backup_settings": "no-op",
		"libvirt_volume.data":            "no-op",
		"libvirt_volume.flatcar":         "no-op",
	}
	for addr, w := range want {
		if actions[addr] != w {
			t.Errorf("adding an app: %s plans %q, want %q (all: %v)", addr, actions[addr], w, actions)
		}
	}
	// Destroying the site would destroy the data disk: refused.
	out, err := tf.cmd(ctx, "plan", "-input=false", "-destroy", "-no-color")
	if err == nil || !strings.Contains(out, "libvirt_volume.data has lifecycle.prevent_destroy") {
		t.Errorf("a destroy plan was not refused for the data volume (%v):\n%s", err, out)
	}
	g.shutdown(ctx)

	// The same site with its DNS at the owner's DNS host: no hcloud provider block, no
	// token, and nothing at Hetzner (OpenTofu would start a provider it has a block for).
	ro := filepath.Join(dir, "records-only")
	generate(ro, apps, 2048, "{ records_only: {} }")
	rtf := &tofuRun{t: t, bin: tofu, dir: filepath.Join(ro, "terraform"), env: []string{
		"TF_VAR_libvirt_uri=" + uri, "TF_VAR_state_passphrase=rehearsal state passphrase", "HCLOUD_TOKEN=", "TF_VAR_hcloud_token=",
	}}
	rtf.run(ctx, "init", "-input=false")
	if acts := rtf.planActions(ctx); acts["libvirt_domain.host"] != "create" || len(acts) == 0 {
		t.Errorf("records_only: plan %v, want the server created", acts)
	} else {
		for addr := range acts {
			if strings.HasPrefix(addr, "hcloud_") {
				t.Errorf("records_only: the plan has %s", addr)
			}
		}
	}
}

// libvirtRun is the test's own storage pool, a folder in the test's temporary folder, and
// the cleanup of everything the test defines in libvirtd.
type libvirtRun struct {
	uri, pool, poolDir string
}

func newLibvirtRun(t *testing.T, uri, dir string) *libvirtRun {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	lv := &libvirtRun{uri: uri, pool: "nassella-test-" + hex.EncodeToString(b), poolDir: filepath.Join(dir, "pool")}
	if err := os.Mkdir(lv.poolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A run killed before its cleanup (a test timeout) leaves its domain defined: this
	// libvirtd is the tests' own, so an earlier run's domain of the site goes first.
	removeDomain := func() {
		exec.Command("virsh", "-c", uri, "destroy", rehearsalSite).Run()
		exec.Command("virsh", "-c", uri, "undefine", rehearsalSite).Run()
	}
	removeDomain()
	virsh(t, uri, "pool-create-as", lv.pool, "dir", "--target", lv.poolDir)
	t.Cleanup(func() {
		// The domain first (its name is the site's), then the transient pool; the files go
		// with the temporary folder.
		removeDomain()
		if out, err := exec.Command("virsh", "-c", uri, "pool-destroy", lv.pool).CombinedOutput(); err != nil {
			t.Logf("virsh pool-destroy %s: %v\n%s", lv.pool, err, out)
		}
	})
	return lv
}

func virsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeOverride writes what the test adds to the module (see TestLibvirtPlatform).
func writeOverride(t *testing.T, dir string, img *standinhost.Image, ports [2]int, serial string) {
	t.Helper()
	xslt := fmt.Sprintf(`<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:template match="node()|@*"><xsl:copy><xsl:apply-templates select="node()|@*"/></xsl:copy></xsl:template>
  <xsl:template match="/domain/devices/interface"/>
  <xsl:template match="/domain/devices/console"/>
  <xsl:template match="/domain/devices">
    <xsl:copy>
      <xsl:apply-templates select="node()|@*"/>
      <serial type="file"><source path="%s"/><target port="0"/></serial>
    </xsl:copy>
  </xsl:template>
  <xsl:template match="/domain/qemu:commandline">
    <xsl:copy>
      <xsl:apply-templates select="node()|@*"/>
      <qemu:arg value="-netdev"/><qemu:arg value="user,id=standin,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:443"/>
      <qemu:arg value="-device"/><qemu:arg value="virtio-net-pci,netdev=standin,bus=pci.0,addr=0x1e"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
`, serial, ports[0], ports[1])
	override := fmt.Sprintf(`# The rehearsal's stand-in host (pipelines/rehearsal/libvirt_test.go), not part of a site.
resource "libvirt_domain" "host" {
  kernel  = %q
  initrd  = %q
  cmdline = %s

  xml {
    xslt = file("${path.module}/standin.xslt")
  }
}
`, img.Kernel, img.Initrd, cmdlineHCL(img.Append))
	for name, body := range map[string]string{"standin.xslt": xslt, "standin_override.tf": override} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cmdlineHCL writes a kernel command line as the provider's cmdline list in the form it
// reads back from the domain, so the next plan is empty: the arguments sorted, key=value
// pairs in one map until a key repeats, the keyless ones joined under "_"
// (libvirt/domain.go setCmdlineArgs, utils_domain_def.go splitKernelCmdLine).
func cmdlineHCL(line string) string {
	args := strings.Fields(line)
	sort.Strings(args)
	var maps []map[string]string
	cur := map[string]string{}
	var keyless []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			keyless = append(keyless, a)
			continue
		}
		if _, dup := cur[k]; dup {
			maps = append(maps, cur)
			cur = map[string]string{}
		}
		cur[k] = v
	}
	if len(cur) > 0 {
		maps = append(maps, cur)
	}
	if len(keyless) > 0 {
		maps = append(maps, map[string]string{"_": strings.Join(keyless, " ")})
	}
	b, _ := json.Marshal(maps) // JSON is HCL for a list of string maps
	return string(b)
}

// libvirtDomain is the server the module started, as the rehearsal's guest sees it.
type libvirtDomain struct {
	uri, name, serial string
	ports             [2]int // 22, 443
}

func (d *libvirtDomain) Addr(port int) string {
	switch port {
	case 22:
		return "127.0.0.1:" + strconv.Itoa(d.ports[0])
	case 443:
		return "127.0.0.1:" + strconv.Itoa(d.ports[1])
	}
	panic(fmt.Sprintf("port %d is not forwarded", port))
}

func (d *libvirtDomain) Serial() string {
	b, _ := os.ReadFile(d.serial)
	return string(b)
}

func (d *libvirtDomain) Shutdown(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "virsh", "-c", d.uri, "shutdown", d.name).CombinedOutput(); err != nil {
		return fmt.Errorf("virsh shutdown: %v: %s", err, out)
	}
	for {
		out, _ := exec.CommandContext(ctx, "virsh", "-c", d.uri, "domstate", d.name).Output()
		if strings.TrimSpace(string(out)) == "shut off" {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(2 * time.Second):
		}
	}
}

func (d *libvirtDomain) Close() error {
	return exec.Command("virsh", "-c", d.uri, "destroy", d.name).Run()
}

// tofuRun runs OpenTofu in the site's terraform folder, as the site's workflows do.
type tofuRun struct {
	t        *testing.T
	bin, dir string
	env      []string
}

func (r *tofuRun) cmd(ctx context.Context, args ...string) (string, error) {
	c := exec.CommandContext(ctx, r.bin, args...)
	c.Dir = r.dir
	c.Env = append(os.Environ(), r.env...)
	c.Env = append(c.Env, "TF_IN_AUTOMATION=1")
	out, err := c.CombinedOutput()
	return string(out), err
}

func (r *tofuRun) run(ctx context.Context, args ...string) {
	r.t.Helper()
	if out, err := r.cmd(ctx, append(args, "-no-color")...); err != nil {
		r.t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (r *tofuRun) output(ctx context.Context, name string) string {
	r.t.Helper()
	out, err := r.cmd(ctx, "output", "-no-color", "-raw", name)
	if err != nil {
		r.t.Fatalf("tofu output %s: %v\n%s", name, err, out)
	}
	return out
}

// plan returns tofu plan's -detailed-exitcode (0: no changes, 2: changes) and its output.
func (r *tofuRun) plan(ctx context.Context) (int, string) {
	r.t.Helper()
	out, err := r.cmd(ctx, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
		return 2, out
	}
	if err != nil {
		r.t.Fatalf("tofu plan: %v\n%s", err, out)
	}
	return 0, out
}

// planActions plans and returns each resource's actions, joined with commas.
func (r *tofuRun) planActions(ctx context.Context) map[string]string {
	r.t.Helper()
	r.run(ctx, "plan", "-input=false", "-out=change.tfplan")
	out, err := r.cmd(ctx, "show", "-json", "change.tfplan")
	if err != nil {
		r.t.Fatalf("tofu show: %v\n%s", err, out)
	}
	var p struct {
		ResourceChanges []struct {
			Address string
			Change  struct{ Actions []string }
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		r.t.Fatalf("tofu show -json: %v", err)
	}
	m := map[string]string{}
	for _, c := range p.ResourceChanges {
		m[c.Address] = strings.Join(c.Change.Actions, ",")
	}
	return m
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
