package deploy_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/openstacksim"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/pipelines/deploy"
)

// openstackSite is a site at an OpenStack cloud (the simulator's), its names at its own
// DNS host: the plan's records_to_add say what to set there.
const openstackSite = `version: 1
name: choir
domain: choir.example
admin:
  email: board@choir.example
  ssh_keys: [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL board@laptop" ]
  backup_key: "%s"
provider:
  openstack: { auth_url: "%s", region: %s, flavor: %s, external_network: Ext-Net, volume_gb: 20 }
dns:
  records_only: {}
apps:
%s
backups:
  schedule: "daily 03:00"
  keep: { daily: 7 }
  target: { s3: { endpoint: "https://s3.example", bucket: choir-backups } }
updates: { channel: stable, window: "Sun 03:00", timezone: Europe/Paris }
`

// A site at an OpenStack cloud through nassella's own plan and apply, for real: OpenTofu
// and terraform-provider-openstack v3.4.0 against the OpenStack simulator. The plan
// comment speaks of the site's network and address; a rebuild keeps the volume, the port
// and the floating IP, after a backup; the flavor's memory is checked at plan time; a
// change that would replace the data volume is refused.
func TestOpenStackPlanApply(t *testing.T) {
	bin := tofu(t)
	sim := openstacksim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")
	t.Setenv("TF_IN_AUTOMATION", "1")
	ctx := context.Background()
	hosts := []string{"vault.choir.example", "cloud.choir.example"}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Serve(&fakeHost{broken: map[string]bool{}}, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r := newRig(t, bin, ca, srv, hosts)
	dir, log, env, opts, plan, backupKey, backups := r.dir, r.log, r.env, r.opts, r.plan, r.backupKey, r.backups
	write := func(flavor string, apps ...string) {
		t.Helper()
		var lines []string
		for _, a := range apps {
			lines = append(lines, "  "+a+": {}")
		}
		commitSiteRaw(t, dir, fmt.Sprintf(openstackSite, backupKey, sim.AuthURL(), sim.Region(), flavor, strings.Join(lines, "\n")))
		commitAll(t, dir, "apps: "+strings.Join(apps, ", "))
	}

	// 1. The first apply: the plan comment in the owner's words, then everything made.
	write("b3-8", "vaultwarden")
	p, sum := r.planSays(t, ctx, "first", "Your server will be created", "A data volume of 20 GB", "A fixed IPv4 address will be reserved", "The site's own network will be set up")
	if strings.Contains(sum, "AAAA") || strings.Contains(sum, "Another part") || !strings.Contains(sum, "Add the A record of https://vault.choir.example") {
		t.Errorf("first plan summary:\n%s", sum)
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("first apply: %v\n%s", err, log.String())
	}
	first, vols, fips := sim.Servers(), sim.Volumes(), sim.FloatingIPs()
	if len(first) != 1 || len(vols) != 1 || len(fips) != 1 || fips[0].PortID == "" || !first[0].ConfigDrive {
		t.Fatalf("after the first apply: servers %+v volumes %+v floating IPs %+v", first, vols, fips)
	}
	// The host finds its data volume by the serial Nova gives it (openstack/server.tf).
	if dev := "NASSELLA_DATA_DEVICE=/dev/disk/by-id/virtio-" + vols[0].ID[:20]; !strings.Contains(first[0].UserData, base64.StdEncoding.EncodeToString([]byte(dev+"\n"))) {
		t.Errorf("user_data does not name the data volume as %s", dev)
	}
	if backups.count() != 0 {
		t.Error("a backup was taken before the first boot")
	}

	// 2. An app more: a backup, then a new server on the same port, address and volume.
	write("b3-8", "nextcloud", "vaultwarden")
	if p, err = deploy.MakePlan(ctx, env, plan); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if sum := deploy.Summarize(p).Text(); !strings.Contains(sum, "The server will be rebuilt") || !p.ReplacesServer {
		t.Errorf("rebuild summary:\n%s", sum)
	}
	for _, c := range p.Changes {
		if c.Kind() != deploy.KindServer && c.Kind() != deploy.KindFollows && c.Type != "terraform_data" {
			t.Errorf("the rebuild touches %s (%s)", c.Address, c.Action)
		}
	}
	if _, err := deploy.Apply(ctx, env, opts); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, log.String())
	}
	if backups.count() != 1 {
		t.Errorf("backups before the rebuild: %d, want 1", backups.count())
	}
	second := sim.Servers()
	if len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("the server was not replaced: %+v", second)
	}
	if v, f := sim.Volumes(), sim.FloatingIPs(); len(v) != 1 || v[0].ID != vols[0].ID || len(f) != 1 || f[0].ID != fips[0].ID || f[0].Address != fips[0].Address || f[0].PortID != fips[0].PortID {
		t.Errorf("after the rebuild: volumes %+v floating IPs %+v", v, f)
	}

	// 3. A flavor without the memory the apps need: the plan stops and says which field.
	write("d2-2", "nextcloud", "vaultwarden")
	if _, err := deploy.MakePlan(ctx, env, plan); err == nil || !strings.Contains(err.Error(), "provider.openstack.flavor") {
		t.Errorf("a flavor too small was planned: %v", err)
	}

	// 4. Another availability zone would replace the data volume (the provider cannot move
	// a volume): refused.
	data, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	commitSiteRaw(t, dir, strings.Replace(strings.Replace(string(data), "flavor: d2-2", "flavor: b3-8", 1), "volume_gb: 20", "volume_gb: 20, availability_zone: nova2", 1))
	if _, err := deploy.MakePlan(ctx, env, plan); !errors.Is(err, deploy.ErrDestroysData) || !strings.Contains(err.Error(), "openstack_blockstorage_volume_v3.data") {
		t.Errorf("a plan replacing the data volume was not refused: %v", err)
	}
}
