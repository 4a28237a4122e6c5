package openstacksim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/testenv/testtool"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// The site's OpenStack module (site-template/terraform/openstack with shared/ and
// dns-records-only/) applied, planned, rebuilt and destroyed by the real OpenTofu and
// terraform-provider-openstack against the simulator.
func TestModuleWithTheRealProvider(t *testing.T) {
	tofu := testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	if os.Getenv("TF_CLI_CONFIG_FILE") == "" {
		t.Fatal("TF_CLI_CONFIG_FILE is not set: run eval \"$(.ci/tools.sh)\" first (it points OpenTofu at the provider mirror)")
	}
	sim := StartForOpenTofu(t)
	// Every status change takes a second, so the provider sees a server BUILD, a volume
	// creating, attaching and detaching, and has to wait (it polls every 3 s at least).
	sim.SetDelay(time.Second)

	root := t.TempDir()
	dir := filepath.Join(root, "terraform")
	host := filepath.Join(root, "host")
	for _, d := range []string{dir, host} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, module := range []string{"terraform/shared", "terraform/openstack", "terraform/dns-records-only"} {
		names, err := fs.Glob(sitetemplate.FS, module+"/*.tf")
		if err != nil || len(names) == 0 {
			t.Fatalf("site-template %s: %v", module, err)
		}
		for _, n := range names {
			body, err := fs.ReadFile(sitetemplate.FS, n)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, path.Base(n)), string(body))
		}
	}
	tfvars := func(flavor string, volumeGB int) string {
		return `site             = "demo"
ssh_keys         = { admin = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f admin" }
zones            = ["demo.example"]
records          = { "cloud.demo.example" = { zone = "demo.example", name = "cloud" } }
dns_mode         = "records_only"
flatcar_channel  = "stable"
flavor           = "` + flavor + `"
external_network = "Ext-Net"
volume_size      = ` + strconv.Itoa(volumeGB) + `
memory_needed_mb = 2048
protect_data     = false
`
	}
	writeFile(t, filepath.Join(dir, "site.auto.tfvars"), tfvars("b3-8", 10))
	// What nassella writes when site.yaml allows destroying data, so the test can
	// destroy the volume and the floating IP.
	writeFile(t, filepath.Join(dir, "data_override.tf"), `resource "openstack_blockstorage_volume_v3" "data" {
  lifecycle {
    prevent_destroy = false
  }
}
resource "openstack_networking_floatingip_v2" "ipv4" {
  lifecycle {
    prevent_destroy = false
  }
}
`)
	ignitionV1 := `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]}}` + "\n"
	ignitionV2 := `{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,v2"}}]}}` + "\n"
	writeFile(t, filepath.Join(host, "ignition.json"), ignitionV1)
	writeFile(t, filepath.Join(host, "backup-settings.env"), "# when backups run\nBACKUP_SCHEDULE=daily\nBACKUP_KEEP_DAILY=7\n")

	env := append(os.Environ(),
		"TF_VAR_state_passphrase=openstacksim-state-passphrase",
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
	)
	run := func(step string, wantCodes []int, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tofu, args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s: exit %d in %s", step, code, time.Since(start).Round(time.Millisecond))
		if !slices.Contains(wantCodes, code) {
			t.Fatalf("%s: tofu %s exited %d, want %v:\n%s\nlast requests:\n%s", step, strings.Join(args, " "), code, wantCodes, out.String(), lastRequests(sim, 40))
		}
		return out.String()
	}

	run("init", []int{0}, "init", "-input=false", "-no-color")
	run("apply", []int{0}, "apply", "-auto-approve", "-input=false", "-no-color")

	servers := sim.Servers()
	if len(servers) != 1 {
		t.Fatalf("servers after apply: %+v", servers)
	}
	first := servers[0]
	if first.Status != "ACTIVE" || first.Name != "demo" || !first.ConfigDrive || first.Metadata["nassella-site"] != "demo" {
		t.Errorf("server after apply: %+v", first)
	}
	if got := ignitionOf(t, first.UserData); got != ignitionV1 {
		t.Errorf("the server's Ignition = %q, want %q", got, ignitionV1)
	}
	if len(first.PortIDs) != 1 {
		t.Fatalf("server ports: %v", first.PortIDs)
	}
	portID := first.PortIDs[0]
	vols := sim.Volumes()
	if len(vols) != 1 || vols[0].Status != "in-use" || len(vols[0].Attachments) != 1 || vols[0].Attachments[0].ServerID != first.ID || vols[0].Size != 10 || vols[0].Metadata["nassella-site"] != "demo" {
		t.Fatalf("volumes after apply: %+v", vols)
	}
	fips := sim.FloatingIPs()
	if len(fips) != 1 || fips[0].PortID != portID || fips[0].Status != "ACTIVE" || !slices.Contains(fips[0].Tags, "nassella-site=demo") {
		t.Fatalf("floating IPs after apply: %+v (port %s)", fips, portID)
	}
	outputs := run("output", []int{0}, "output", "-json")
	var out map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(outputs), &out); err != nil {
		t.Fatalf("outputs: %v\n%s", err, outputs)
	}
	if got := strings.Trim(string(out["ipv4_address"].Value), `"`); got != fips[0].Address {
		t.Errorf("output ipv4_address = %s, want the floating IP %s", got, fips[0].Address)
	}
	if got := strings.Trim(string(out["data_device"].Value), `"`); got != "/dev/disk/by-id/virtio-"+vols[0].ID[:20] {
		t.Errorf("output data_device = %s, volume %s", got, vols[0].ID)
	}
	if !strings.Contains(string(out["records_to_add"].Value), fips[0].Address) {
		t.Errorf("records_to_add = %s, want the floating IP %s", out["records_to_add"].Value, fips[0].Address)
	}

	// A second plan finds nothing to change: every attribute the provider reads back is
	// what it wrote.
	run("plan (no changes)", []int{0}, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false")

	// A new Ignition replaces the server (and so its volume attachment) and nothing else.
	writeFile(t, filepath.Join(host, "ignition.json"), ignitionV2)
	run("plan (new Ignition)", []int{2}, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-out=rebuild.tfplan")
	checkPlan(t, run("show plan", []int{0}, "show", "-json", "rebuild.tfplan"), map[string][]string{
		"openstack_compute_instance_v2.host":      {"delete", "create"},
		"openstack_compute_volume_attach_v2.data": {"delete", "create"},
		"terraform_data.server_setup":             {"update"},
	})
	run("apply (rebuild)", []int{0}, "apply", "-auto-approve", "-input=false", "-no-color", "rebuild.tfplan")

	servers = sim.Servers()
	if len(servers) != 1 || servers[0].ID == first.ID {
		t.Fatalf("servers after the rebuild: %+v (first %s)", servers, first.ID)
	}
	second := servers[0]
	if got := ignitionOf(t, second.UserData); got != ignitionV2 {
		t.Errorf("the new server's Ignition = %q, want %q", got, ignitionV2)
	}
	if !slices.Equal(second.PortIDs, []string{portID}) {
		t.Errorf("the new server's ports = %v, want the same port %s", second.PortIDs, portID)
	}
	vols2 := sim.Volumes()
	if len(vols2) != 1 || vols2[0].ID != vols[0].ID || len(vols2[0].Attachments) != 1 || vols2[0].Attachments[0].ServerID != second.ID {
		t.Errorf("volumes after the rebuild: %+v, want %s attached to %s", vols2, vols[0].ID, second.ID)
	}
	fips2 := sim.FloatingIPs()
	if len(fips2) != 1 || fips2[0].ID != fips[0].ID || fips2[0].Address != fips[0].Address || fips2[0].PortID != portID {
		t.Errorf("floating IPs after the rebuild: %+v, want %+v", fips2, fips[0])
	}
	run("plan after the rebuild (no changes)", []int{0}, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false")

	// A larger volume and flavor change both in place: Cinder extends the attached volume
	// (microversion 3.42), Nova resizes the server and the provider confirms it.
	// The module sets enable_online_resize, without which the provider refuses to extend
	// an attached volume (v3.4.0, resource_openstack_blockstorage_volume_v3.go, Update).
	writeFile(t, filepath.Join(dir, "site.auto.tfvars"), tfvars("b3-16", 20))
	run("plan (grow)", []int{2}, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-out=grow.tfplan")
	checkPlan(t, run("show grow plan", []int{0}, "show", "-json", "grow.tfplan"), map[string][]string{
		"openstack_compute_instance_v2.host":    {"update"},
		"openstack_blockstorage_volume_v3.data": {"update"},
	})
	run("apply (grow)", []int{0}, "apply", "-auto-approve", "-input=false", "-no-color", "grow.tfplan")
	servers = sim.Servers()
	if len(servers) != 1 || servers[0].ID != second.ID || servers[0].Status != "ACTIVE" || servers[0].FlavorID != flavorID(sim, "b3-16") {
		t.Errorf("servers after the resize: %+v, want %s ACTIVE on b3-16", servers, second.ID)
	}
	if vols := sim.Volumes(); len(vols) != 1 || vols[0].Size != 20 || vols[0].Status != "in-use" {
		t.Errorf("volumes after growing: %+v", vols)
	}
	run("plan after growing (no changes)", []int{0}, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false")

	run("destroy", []int{0}, "destroy", "-auto-approve", "-input=false", "-no-color")
	if left := sim.Leftovers(); len(left) > 0 {
		t.Errorf("after destroy the cloud still holds:\n%s", strings.Join(left, "\n"))
	}
	t.Logf("%d API requests", len(sim.Requests()))
	// OPENSTACKSIM_REQUEST_LOG names a file to write every request to, for finding out
	// what the provider calls.
	if name := os.Getenv("OPENSTACKSIM_REQUEST_LOG"); name != "" {
		writeFile(t, name, lastRequests(sim, len(sim.Requests())))
	}
}

// checkPlan checks a plan (tofu show -json) changes the resources as want says and
// leaves every other one alone.
func checkPlan(t *testing.T, shown string, want map[string][]string) {
	t.Helper()
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Mode    string `json:"mode"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(shown), &plan); err != nil {
		t.Fatalf("plan JSON: %v", err)
	}
	for _, rc := range plan.ResourceChanges {
		if rc.Mode != "managed" {
			continue
		}
		w, ok := want[rc.Address]
		if !ok {
			w = []string{"no-op"}
		}
		if !slices.Equal(rc.Change.Actions, w) {
			t.Errorf("plan: %s %v, want %v", rc.Address, rc.Change.Actions, w)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func flavorID(sim *Server, name string) string {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	for _, f := range sim.flavors.list() {
		if f.name == name {
			return f.id
		}
	}
	return ""
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ignitionOf returns the committed Ignition a server's user_data merges: the module
// passes it gzipped in a data URL (shared/ignition.tf).
func ignitionOf(t *testing.T, userData string) string {
	t.Helper()
	var cfg struct {
		Ignition struct {
			Config struct {
				Merge []struct {
					Source string `json:"source"`
				} `json:"merge"`
			} `json:"config"`
		} `json:"ignition"`
	}
	if err := json.Unmarshal([]byte(userData), &cfg); err != nil || len(cfg.Ignition.Config.Merge) != 1 {
		t.Fatalf("user_data is not the module's Ignition (%v): %.200s", err, userData)
	}
	src := cfg.Ignition.Config.Merge[0].Source
	_, b64, ok := strings.Cut(src, ";base64,")
	if !ok {
		t.Fatalf("merge source %.80s is no base64 data URL", src)
	}
	gz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// lastRequests formats the last n requests the simulator answered, for a failure.
func lastRequests(sim *Server, n int) string {
	reqs := sim.Requests()
	if len(reqs) > n {
		reqs = reqs[len(reqs)-n:]
	}
	var b strings.Builder
	for _, r := range reqs {
		q := ""
		if r.Query != "" {
			q = "?" + r.Query
		}
		mv := ""
		if r.Microversion != "" {
			mv = " [" + r.Microversion + "]"
		}
		b.WriteString(r.Method + " " + r.Path + q + " → " + strconv.Itoa(r.Status) + mv + "\n")
	}
	return b.String()
}
