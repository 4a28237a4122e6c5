package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/openstacksim"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
)

// movingSite is a site whose names are at Hetzner DNS; provider is its provider block.
const movingSite = `version: 1
name: acme
domain: acme.example
admin:
  email: ops@acme.example
  ssh_keys: [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@acme" ]
  backup_key: "%s"
provider:
%s
dns:
  hetzner: {}
apps:
  vaultwarden: { subdomain: vault }
backups:
  schedule: "daily 03:00"
  keep: { daily: 7 }
  target: { s3: { endpoint: "https://s3.example", bucket: acme-backups } }
updates: { channel: stable, window: "Sun 03:00", timezone: Europe/Berlin }
`

// aRecordOf is the A record of name in acme.example at the Hetzner simulator.
func aRecordOf(sim *hcloudsim.Server, name string) []string {
	for _, rr := range sim.RRSets("acme.example") {
		if rr.Name == name && rr.Type == "A" {
			return rr.Values
		}
	}
	return nil
}

// A site moves from Hetzner Cloud to an OpenStack cloud through nassella's own plan and
// apply, for real: OpenTofu with the hcloud and OpenStack providers against both
// simulators. The move's plan changes nothing of the old server (moved into the previous
// module, frozen), makes the new one with the instruction to restore the backup, and points
// the names at the new address; apply backs up the old server first, and a failing backup
// changes nothing; the names follow only once the new server is healthy. The old server,
// its volume and its addresses are all still there after, and stay through a later
// change, until the retire deletes them; retiring before the move is refused.
func TestMoveHetznerToOpenStack(t *testing.T) {
	hosts := []string{"vault.acme.example", "status.acme.example"}
	bin, hsim, ca, host, srv := startE2E(t, map[string]bool{}, hosts...)
	osim := openstacksim.StartForOpenTofu(t)
	ctx := context.Background()
	r := newRig(t, bin, ca, srv, hosts)
	dir, log, env, plan, opts, backupKey, backups := r.dir, r.log, r.env, r.plan, r.opts, r.backupKey, r.backups
	hetzner := "  hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 }"
	openstack := fmt.Sprintf("  openstack: { auth_url: %q, region: %s, flavor: b3-8, external_network: Ext-Net, volume_gb: 50 }", osim.AuthURL(), osim.Region())
	write := func(provider, msg string) {
		t.Helper()
		commitSiteRaw(t, dir, fmt.Sprintf(movingSite, backupKey, provider))
		commitAll(t, dir, msg)
	}
	aRecord := func() []string { return aRecordOf(hsim, "vault") }

	// 1. The site at Hetzner.
	write(hetzner, "at Hetzner")
	if _, err := deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("first apply: %v\n%s", err, log.String())
	}
	servers, volumes, ips := hsim.Servers(), hsim.Volumes(), hsim.PrimaryIPs()
	if len(servers) != 1 || len(volumes) != 1 || len(ips) != 2 {
		t.Fatalf("at Hetzner: servers %+v volumes %+v primary IPs %+v", servers, volumes, ips)
	}
	old := aRecord()
	if len(old) != 1 {
		t.Fatalf("the A record at Hetzner: %v", old)
	}

	// 2. Retiring the old server in the move's own pull request is refused: the site has
	// not moved yet.
	write(openstack+"\n  previous:\n  "+hetzner+"\n    retire: true", "move and retire at once")
	if _, err := deploy.MakePlan(ctx, env, plan); err == nil || !strings.Contains(err.Error(), "the site has not moved yet") {
		t.Fatalf("a retire before the move was planned: %v", err)
	}

	// The move's pull request: openstack under provider, the old block under previous.
	write(openstack+"\n  previous:\n  "+hetzner, "move to OpenStack")
	p, err := deploy.MakePlan(ctx, env, plan)
	if err != nil {
		t.Fatalf("the move's plan: %v\n%s", err, log.String())
	}
	if !p.Moves || p.ReplacesServer {
		t.Errorf("the move's plan: Moves %v, ReplacesServer %v", p.Moves, p.ReplacesServer)
	}
	for _, c := range p.Changes {
		switch {
		case strings.HasPrefix(c.Address, "module.previous.") && !(c.Type == "terraform_data" && c.Action == "create"):
			t.Errorf("the move changes the old server's %s (%s)", c.Address, c.Action)
		case strings.HasPrefix(c.Address, "hcloud_") && c.Type != "hcloud_zone_rrset":
			t.Errorf("the move changes %s (%s) at Hetzner", c.Address, c.Action)
		case c.Action == "delete" && c.Type != "hcloud_zone_rrset":
			t.Errorf("the move deletes %s", c.Address)
		}
	}
	sum := deploy.Summarize(p)
	if !strings.Contains(sum.Headline, "moves to a new server") || !strings.Contains(sum.Text(), "Your site moves from Hetzner Cloud to your OpenStack cloud: a backup of all your data is taken on the old server first") {
		t.Errorf("the move's summary:\n%s\n%s", sum.Headline, sum.Text())
	}

	// 3. A backup that fails stops the move before anything is made.
	failing := opts
	failing.Backup = deploy.SSHBackup{Signer: sshtest.NewKey(t), Addr: backups.Addr, HostKey: env.HostKey}
	if _, err := deploy.Apply(ctx, env, failing); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("a move whose backup failed: %v", err)
	}
	if s := osim.Servers(); len(s) != 0 {
		t.Fatalf("a server was made although the backup failed: %+v", s)
	}
	if got := aRecord(); strings.Join(got, " ") != strings.Join(old, " ") {
		t.Errorf("the A record moved although the backup failed: %v", got)
	}

	// 4. The new server does not come up healthy (its restore failed, say): the names stay
	// at the old server, which keeps serving the site.
	before := backups.count()
	if _, err := deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	host.mu.Lock()
	host.broken["vault"] = true
	host.mu.Unlock()
	opts.Health.Timeout = time.Second
	if _, err := deploy.Apply(ctx, env, opts); err == nil || !strings.Contains(err.Error(), "nothing was switched") {
		t.Fatalf("a move whose new server is unhealthy: %v", err)
	}
	if got := aRecord(); strings.Join(got, " ") != strings.Join(old, " ") {
		t.Errorf("the A record moved to an unhealthy server: %v", got)
	}
	if backups.count() != before+1 {
		t.Errorf("backups of the old server before the move: %d, want 1", backups.count()-before)
	}
	newServers, fips := osim.Servers(), osim.FloatingIPs()
	if len(newServers) != 1 || len(fips) != 1 {
		t.Fatalf("at OpenStack after the move: servers %+v floating IPs %+v", newServers, fips)
	}
	// The health check went to the new server's own address, before the names did.
	if !strings.Contains(log.String(), "checking 1 apps on the new server ("+fips[0].Address+")") {
		t.Errorf("the new server was not checked at %s:\n%s", fips[0].Address, log.String())
	}
	restore := base64.StdEncoding.EncodeToString([]byte("NASSELLA_RESTORE_SNAPSHOT=latest\n"))
	if !strings.Contains(newServers[0].UserData, restore) {
		t.Errorf("the new server is not told to restore the latest backup")
	}

	// 5. Once it is healthy, the next apply (of what is left: the names) points the names
	// at it, after its health check.
	host.mu.Lock()
	host.broken["vault"] = false
	host.mu.Unlock()
	opts.Health.Timeout = 3 * time.Second
	p, err = deploy.MakePlan(ctx, env, plan)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, c := range p.Changes {
		if c.Type != "hcloud_zone_rrset" {
			t.Errorf("after the new server was made, the plan still changes %s (%s)", c.Address, c.Action)
		}
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("the move: %v\n%s", err, log.String())
	}
	if got := aRecord(); len(got) != 1 || got[0] != fips[0].Address {
		t.Errorf("the A record after the move: %v, want the floating IP %s", got, fips[0].Address)
	}
	if s, v, ip := hsim.Servers(), hsim.Volumes(), hsim.PrimaryIPs(); len(s) != 1 || s[0].ID != servers[0].ID || s[0].UserData != servers[0].UserData ||
		len(v) != 1 || v[0].ID != volumes[0].ID || len(ip) != 2 {
		t.Errorf("the old server did not stay as it was: servers %+v volumes %+v primary IPs %+v", s, v, ip)
	}

	// 6. During the move, a change of the site (an app more) leaves the old server alone.
	data := fmt.Sprintf(movingSite, backupKey, openstack+"\n  previous:\n  "+hetzner)
	commitSiteRaw(t, dir, strings.Replace(data, "  vaultwarden: { subdomain: vault }", "  vaultwarden: { subdomain: vault }\n  uptime-kuma: {}", 1))
	commitAll(t, dir, "an app more")
	if p, err = deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, c := range p.Changes {
		if strings.HasPrefix(c.Address, "module.previous.") {
			t.Errorf("a change during the move touches the old server's %s (%s)", c.Address, c.Action)
		}
	}
	if p.Moves || !p.ReplacesServer || !p.Moving {
		t.Errorf("a change during the move: Moves %v, ReplacesServer %v, Moving %v (the new server is rebuilt)", p.Moves, p.ReplacesServer, p.Moving)
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("a change during the move: %v\n%s", err, log.String())
	}
	if s := hsim.Servers(); len(s) != 1 || s[0].ID != servers[0].ID {
		t.Errorf("a change during the move replaced the old server: %+v", s)
	}

	// Dropping previous without the retire: the plan says how to delete the old server.
	kuma := strings.Replace(data, "  vaultwarden: { subdomain: vault }", "  vaultwarden: { subdomain: vault }\n  uptime-kuma: {}", 1)
	commitSiteRaw(t, dir, strings.Replace(kuma, "\n  previous:\n  "+hetzner, "", 1))
	commitAll(t, dir, "previous dropped")
	if _, err := deploy.MakePlan(ctx, env, plan); err == nil || !strings.Contains(err.Error(), "put its block back under provider.previous in site.yaml with retire: true") {
		t.Errorf("dropping previous before the retire: %v", err)
	}

	// 7. The retire: the old server, its volume and its addresses are deleted (their delete
	// protection lifted first), the new one keeps the site and its names.
	data = strings.Replace(data, "  vaultwarden: { subdomain: vault }", "  vaultwarden: { subdomain: vault }\n  uptime-kuma: {}", 1)
	commitSiteRaw(t, dir, strings.Replace(data, hetzner, hetzner+"\n    retire: true", 1))
	commitAll(t, dir, "retire the old server")
	if p, err = deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatalf("the retire's plan: %v\n%s", err, log.String())
	}
	for _, c := range p.Changes {
		if !strings.HasPrefix(c.Address, "module.previous.") || c.Action != "delete" {
			t.Errorf("the retire changes %s (%s)", c.Address, c.Action)
		}
	}
	sum = deploy.Summarize(p)
	if !p.Retires || !strings.Contains(sum.Headline, "old server your site moved away from will be deleted") || !strings.Contains(strings.Join(sum.Warnings, "\n"), "The old server at Hetzner Cloud, its data volume with EVERYTHING ON IT") {
		t.Errorf("the retire's summary (Retires %v):\n%s\n%s", p.Retires, sum.Headline, sum.Text())
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("the retire: %v\n%s", err, log.String())
	}
	if s, v, ip, k := hsim.Servers(), hsim.Volumes(), hsim.PrimaryIPs(), hsim.SSHKeys(); len(s)+len(v)+len(ip)+len(k) != 0 {
		t.Errorf("left at Hetzner after the retire: servers %+v volumes %+v primary IPs %+v SSH keys %+v", s, v, ip, k)
	}
	if !strings.Contains(log.String(), "lifting the delete protection of module.previous.hcloud_volume.data") {
		t.Errorf("the volume's delete protection was not lifted:\n%s", log.String())
	}
	if s := osim.Servers(); len(s) != 1 {
		t.Errorf("the new server after the retire: %+v", s)
	}
	if got := aRecord(); len(got) != 1 || got[0] != fips[0].Address {
		t.Errorf("the A record after the retire: %v", got)
	}

	// 8. Then previous goes from site.yaml, and nothing is left to change.
	commitSiteRaw(t, dir, strings.Replace(data, "\n  previous:\n  "+hetzner, "", 1))
	commitAll(t, dir, "the move is done")
	if p, err = deploy.MakePlan(ctx, env, plan); err != nil || len(p.Changes) != 0 {
		t.Errorf("after the move: %v, changes %+v", err, p)
	}
}

// A site moves from an OpenStack cloud to the owner's own machine, for real on the libvirt
// side: OpenTofu with the real libvirt provider makes the new server in this machine's
// libvirtd (a domain with an empty disk for Flatcar: nothing is booted, the apps' health
// checks go to the test's HTTPS server), the OpenStack provider against the simulator, and
// the names at the Hetzner simulator. The new server's Ignition in the pool carries the
// restore instruction; the names follow it; the retire deletes everything at OpenStack,
// whose data volume is kept by prevent_destroy while the site moves; the domain stays.
func TestMoveOpenStackToLibvirt(t *testing.T) {
	uri := testtool.Require(t, "NASSELLA_LIBVIRT_URI", ".ci/tools-libvirt.sh")
	hosts := []string{"vault.acme.example", "status.acme.example"}
	bin, hsim, ca, _, srv := startE2E(t, map[string]bool{}, hosts...)
	osim := openstacksim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_libvirt_uri", uri)
	t.Setenv("TERRAFORM_LIBVIRT_TEST_DOMAIN_TYPE", "qemu") // no KVM here (the provider's own switch)
	ctx := context.Background()
	r := newRig(t, bin, ca, srv, hosts)
	dir, log, env, plan, opts, backupKey := r.dir, r.log, r.env, r.plan, r.opts, r.backupKey

	// The test's own pool, network and site name in libvirtd, removed at the end.
	tag := make([]byte, 3)
	rand.Read(tag)
	name, pool, network := "mv-"+hex.EncodeToString(tag), "nassella-mv-"+hex.EncodeToString(tag), "nassella-mv-"+hex.EncodeToString(tag)
	virsh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	poolDir := t.TempDir()
	virsh("pool-create-as", pool, "dir", "--target", poolDir)
	netXML := filepath.Join(poolDir, "net.xml")
	os.WriteFile(netXML, []byte(fmt.Sprintf("<network><name>%s</name><bridge name=%q/></network>", network, "nsmv"+hex.EncodeToString(tag))), 0o600)
	virsh("net-create", netXML)
	t.Cleanup(func() {
		for _, args := range [][]string{{"destroy", name}, {"undefine", name}, {"pool-destroy", pool}, {"net-destroy", network}} {
			exec.Command("virsh", append([]string{"-c", uri}, args...)...).Run()
		}
	})
	image := filepath.Join(t.TempDir(), "flatcar.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", image, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}

	openstack := fmt.Sprintf("  openstack: { auth_url: %q, region: %s, flavor: b3-8, external_network: Ext-Net, volume_gb: 20 }", osim.AuthURL(), osim.Region())
	const address = "203.0.113.77"
	libvirt := fmt.Sprintf("  libvirt: { host: box.office.example, host_key: %q, pool: %s, network: %s, ipv4_address: %s, memory_mb: 4096, volume_gb: 10, flatcar_image: %q }",
		strings.TrimSpace(string(ssh.MarshalAuthorizedKey(env.HostKey))), pool, network, address, image)
	write := func(provider, msg string) {
		t.Helper()
		commitSiteRaw(t, dir, strings.Replace(fmt.Sprintf(movingSite, backupKey, provider), "name: acme", "name: "+name, 1))
		commitAll(t, dir, msg)
	}
	apply := func(what string) *deploy.Plan {
		t.Helper()
		p, err := deploy.MakePlan(ctx, env, plan)
		if err != nil {
			t.Fatalf("%s: planning: %v\n%s", what, err, log.String())
		}
		if _, err := deploy.Apply(ctx, env, opts); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, log.String())
		}
		return p
	}
	aRecord := func() []string { return aRecordOf(hsim, "vault") }

	// 1. The site at OpenStack.
	write(openstack, "at OpenStack")
	apply("at OpenStack")
	fips := osim.FloatingIPs()
	if got := aRecord(); len(fips) != 1 || len(got) != 1 || got[0] != fips[0].Address {
		t.Fatalf("at OpenStack: floating IPs %+v, A record %v", fips, got)
	}

	// 2. The move to the owner's machine.
	write(libvirt+"\n  previous:\n  "+openstack, "move to libvirt")
	if p := apply("the move"); !p.Moves {
		t.Errorf("the move's plan does not make the new server: %+v", p.Changes)
	}
	if state := strings.TrimSpace(virsh("domstate", name)); state != "running" {
		t.Errorf("the new server's domain is %q, want running", state)
	}
	ign, err := os.ReadFile(filepath.Join(poolDir, name+"-ignition.json"))
	if err != nil || !strings.Contains(string(ign), base64.StdEncoding.EncodeToString([]byte("NASSELLA_RESTORE_SNAPSHOT=latest\n"))) {
		t.Errorf("the new server's Ignition in the pool has no restore instruction (%v)", err)
	}
	if got := aRecord(); len(got) != 1 || got[0] != address {
		t.Errorf("the A record after the move: %v, want %s", got, address)
	}
	if s, v := osim.Servers(), osim.Volumes(); len(s) != 1 || len(v) != 1 {
		t.Errorf("the old server at OpenStack after the move: servers %+v volumes %+v", s, v)
	}

	// 3. The retire: nothing left at OpenStack, the domain and its data disk stay.
	write(libvirt+"\n  previous:\n  "+openstack+"\n    retire: true", "retire")
	apply("the retire")
	if s, v, f := osim.Servers(), osim.Volumes(), osim.FloatingIPs(); len(s)+len(v)+len(f) != 0 {
		t.Errorf("left at OpenStack after the retire: servers %+v volumes %+v floating IPs %+v", s, v, f)
	}
	if state := strings.TrimSpace(virsh("domstate", name)); state != "running" {
		t.Errorf("after the retire the domain is %q, want running", state)
	}
	if vols := virsh("vol-list", "--pool", pool); !strings.Contains(vols, name+"-data.qcow2") {
		t.Errorf("the data disk is gone from the pool:\n%s", vols)
	}
}
