package deploy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
)

func tofu(t *testing.T) string {
	t.Helper()
	return testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
}

const siteTemplate = `version: 1
name: acme
domain: acme.example
admin:
  email: ops@acme.example
  ssh_keys: [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@acme" ]
provider:
  hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 }
dns:
  hetzner: {}
apps:
%s
backups:
  schedule: "daily 03:00"
  keep: { daily: 7 }
  target: { s3: { endpoint: "https://s3.example", bucket: acme-backups } }
updates: { channel: stable, window: "Sun 03:00", timezone: Europe/Berlin }
`

// commitSite writes site.yaml with apps, generates the repo and commits it, as a merged
// pull request would leave main.
func commitSite(t *testing.T, dir string, apps ...string) {
	t.Helper()
	var lines []string
	for _, a := range apps {
		lines = append(lines, "  "+a+": {}")
	}
	commitSiteRaw(t, dir, fmt.Sprintf(siteTemplate, strings.Join(lines, "\n")))
	commitAll(t, dir, "apps: "+strings.Join(apps, ", "))
}

// fakeHost stands in for the server's Caddy: real HTTPS with a test CA, answering each
// app's health path; apps listed in broken answer 502 as Caddy does when an app is down.
type fakeHost struct {
	mu     sync.Mutex
	broken map[string]bool
}

func (f *fakeHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sub := strings.Split(r.Host, ".")[0]
	if f.broken[sub] {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	// A health path answers what the catalog expects of its app (Uptime Kuma's is a 404).
	for _, a := range catalog.Embedded().Apps {
		if a.Subdomain == sub && a.Health.Path == r.URL.Path {
			w.WriteHeader(a.Health.Status)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// backupServer is an SSH server on 127.0.0.1 that accepts one key and answers like the
// host's forced command.
type backupServer struct {
	*sshtest.Server
	fail atomic.Bool
}

// startBackupServer shows hostKey (a new one when nil).
func startBackupServer(t *testing.T, allowed ssh.PublicKey, hostKey ssh.Signer) *backupServer {
	b := &backupServer{}
	b.Server = sshtest.Start(t, sshtest.Options{HostKey: hostKey, Allow: []ssh.PublicKey{allowed}, Handle: func(e sshtest.Exec) uint32 {
		if b.fail.Load() {
			fmt.Fprintln(e.Stderr, "restic: repository is locked")
			return 1
		}
		fmt.Fprintln(e.Stdout, "snapshot 1a2b3c saved")
		return 0
	}})
	return b
}

func (b *backupServer) count() int { return len(b.Commands()) }

// The whole path a customer's change takes, for real: OpenTofu 1.10 with the hcloud
// provider 1.57 against the Hetzner Cloud API simulator, the generated Terraform, health
// checks over HTTPS, a backup over SSH, and a rollback.
func TestPlanApplyReplaceRollback(t *testing.T) {
	ctx := context.Background()
	hosts := []string{"vault.acme.example", "cloud.acme.example", "status.acme.example"}
	bin, sim, ca, host, srv := startE2E(t, map[string]bool{}, hosts...)
	r := newRig(t, bin, ca, srv, hosts)
	dir, log, env, plan, hostPEM, backups := r.dir, r.log, r.env, r.plan, r.hostPEM, r.backups

	// 1. A new site: everything is created, vaultwarden answers, the commit is marked good.
	commitSite(t, dir, "vaultwarden")
	p, _ := r.planSays(t, ctx, "first", "Your server will be created", "A data volume of 50 GB", "https://vault.acme.example will point at your server", "A fixed IPv4 address")
	if _, err := deploy.Apply(ctx, env, r.opts); err != nil {
		t.Fatalf("first apply: %v\n%s", err, log.String())
	}
	if backups.count() != 0 {
		t.Error("a backup was taken before the first boot")
	}
	first := sim.Servers()
	vols := sim.Volumes()
	ips := sim.PrimaryIPs()
	if len(first) != 1 || len(vols) != 1 || vols[0].ServerID != first[0].ID || len(ips) != 2 {
		t.Fatalf("after the first apply: servers %+v volumes %+v ips %+v", first, vols, ips)
	}
	// The server's user_data writes the host key pair from the secret.
	for path, content := range map[string][]byte{
		"/etc/ssh/ssh_host_ed25519_key":     hostPEM,
		"/etc/ssh/ssh_host_ed25519_key.pub": ssh.MarshalAuthorizedKey(env.HostKey),
	} {
		if want := base64.StdEncoding.EncodeToString(content); !strings.Contains(first[0].UserData, `"`+path+`"`) || !strings.Contains(first[0].UserData, want) {
			t.Errorf("user_data does not write %s from the host key secret", path)
		}
	}

	// 2. Nextcloud is added: the plan says the server is rebuilt and nothing else is lost;
	// a backup is taken first; the same volume and IPs end up on the new server.
	commitSite(t, dir, "nextcloud", "vaultwarden")
	p, _ = r.planSays(t, ctx, "replace", "The server will be rebuilt", "https://cloud.acme.example will point at your server")
	for _, c := range p.Changes {
		if c.Type == "hcloud_volume" || c.Type == "hcloud_primary_ip" || (c.Type == "hcloud_zone_rrset" && c.Action != "create") {
			t.Errorf("the rebuild touches %s (%s)", c.Address, c.Action)
		}
	}
	md := deploy.Summarize(p).Markdown(p)
	if !strings.HasPrefix(md, deploy.CommentMarker) || !strings.Contains(md, p.Digest) {
		t.Errorf("markdown comment:\n%s", md)
	}
	if _, err := deploy.Apply(ctx, env, deploy.ApplyOptions{Plan: plan, ExpectDigest: "0000000000000000"}); err == nil || !strings.Contains(err.Error(), "not the reviewed one") {
		t.Errorf("a plan with another digest was applied: %v", err)
	}
	if _, err := deploy.Apply(ctx, env, r.opts); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, log.String())
	}
	if backups.count() != 1 {
		t.Errorf("backups before the rebuild: %d, want 1", backups.count())
	}
	second := sim.Servers()
	if len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("the server was not replaced: %+v", second)
	}
	if v := sim.Volumes(); len(v) != 1 || v[0].ID != vols[0].ID || v[0].ServerID != second[0].ID {
		t.Fatalf("volume after the rebuild: %+v (want volume %d on server %d)", v, vols[0].ID, second[0].ID)
	}
	for i, ip := range sim.PrimaryIPs() {
		if ip.ID != ips[i].ID || ip.AssigneeID != second[0].ID {
			t.Errorf("primary IP after the rebuild: %+v", ip)
		}
	}

	// 3. A failed backup stops a rebuild before anything changes.
	commitSite(t, dir, "nextcloud", "uptime-kuma", "vaultwarden")
	r.planSays(t, ctx, "next")
	backups.fail.Store(true)
	if _, err := deploy.Apply(ctx, env, r.opts); err == nil || !strings.Contains(err.Error(), "repository is locked") {
		t.Fatalf("apply went on after a failed backup: %v", err)
	}
	if s := sim.Servers(); len(s) != 1 || s[0].ID != second[0].ID {
		t.Fatalf("the server changed although the backup failed: %+v", s)
	}
	backups.fail.Store(false)

	// 4. The same change again, but Uptime Kuma never becomes healthy: the apply rolls
	// back to the last good configuration (nextcloud + vaultwarden), keeping the volume.
	host.broken["status"] = true
	r.planSays(t, ctx, "next")
	out, err := deploy.Apply(ctx, env, r.opts)
	if err == nil || !strings.Contains(err.Error(), "uptime-kuma") || !strings.Contains(err.Error(), "rolled back to "+deploy.LastGoodTag) {
		t.Fatalf("faulty change: %v\n%s", err, log.String())
	}
	if !out.RolledBack || len(health.Failed(out.Rollback)) != 0 {
		t.Fatalf("rollback outcome %+v", out)
	}
	third := sim.Servers()
	if len(third) != 1 || third[0].UserData != second[0].UserData {
		t.Errorf("after the rollback the server does not run the last good configuration")
	}
	if v := sim.Volumes(); len(v) != 1 || v[0].ID != vols[0].ID || v[0].ServerID != third[0].ID {
		t.Errorf("volume after the rollback: %+v", v)
	}
	for _, rr := range sim.RRSets("acme.example") {
		if rr.Name == "status" {
			t.Errorf("the rolled back app's record is still there: %+v", rr)
		}
	}
	// The working tree is as the failed commit left it, for the owner to fix or revert.
	if data, _ := os.ReadFile(filepath.Join(dir, "site.yaml")); !strings.Contains(string(data), "uptime-kuma") {
		t.Error("the rollback did not restore the working tree")
	}

	// 5. A plan is not applied once its inputs changed.
	r.planSays(t, ctx, "next")
	os.WriteFile(filepath.Join(dir, "terraform", "extra.tf"), []byte("# changed after review\n"), 0o644)
	if _, err := deploy.Apply(ctx, env, r.opts); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("stale plan applied: %v", err)
	}
	os.Remove(filepath.Join(dir, "terraform", "extra.tf"))

	// 6. Moving the site to another location would replace the volume and IPs: refused.
	data, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	commitSiteRaw(t, dir, strings.Replace(string(data), "location: nbg1", "location: fsn1", 1))
	if _, err := deploy.MakePlan(ctx, env, plan); !errors.Is(err, deploy.ErrDestroysData) || !strings.Contains(err.Error(), "allow_destroying_data") {
		t.Errorf("a plan destroying the volume was not refused: %v", err)
	}
	if _, err := os.Stat(plan); !os.IsNotExist(err) {
		t.Error("the refused plan file was left behind")
	}
}

// siteHostKey makes the site's host key as nassella bootstrap does and gives it to
// Terraform (TF_VAR_ssh_host_key), which writes it to the server: the backup before a
// rebuild accepts no other.
func siteHostKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_VAR_ssh_host_key", string(pem.EncodeToMemory(block)))
	return signer, pem.EncodeToMemory(block)
}

// resolveTo sends every host name to the test's HTTPS server, for the health checks.
func resolveTo(srv *httptest.Server, hosts []string) map[string]string {
	resolve := map[string]string{}
	for _, h := range hosts {
		resolve[h] = strings.TrimPrefix(srv.URL, "https://")
	}
	return resolve
}

// rig is what the deploy e2e tests set up alike: a site repo, the Env that plans and
// applies it with real OpenTofu, and the ApplyOptions whose health checks go to the test's
// HTTPS server and whose backups go over SSH to a backup server pinning the site's host key.
type rig struct {
	dir, plan string
	log       *strings.Builder
	env       deploy.Env
	opts      deploy.ApplyOptions
	ciSigner  ssh.Signer // the workflow's backup key
	backupKey string     // its public half, as site.yaml's backups key
	hostPEM   []byte     // the site's host key (TF_VAR_ssh_host_key)
	backups   *backupServer
}

func newRig(t *testing.T, bin string, ca *testca.CA, srv *httptest.Server, hosts []string) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), plan: filepath.Join(t.TempDir(), "tfplan"), log: &strings.Builder{}, ciSigner: sshtest.NewKey(t)}
	hostSigner, hostPEM := siteHostKey(t)
	r.hostPEM = hostPEM
	r.backups = startBackupServer(t, r.ciSigner.PublicKey(), hostSigner)
	r.backupKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(r.ciSigner.PublicKey())))
	r.env = deploy.Env{AllowUnverified: true, Dir: r.dir, Tofu: bin, Catalog: catalog.Embedded(), Log: r.log, HostKey: hostSigner.PublicKey()}
	r.opts = deploy.ApplyOptions{Plan: r.plan,
		Health: health.Options{Resolve: resolveTo(srv, hosts), RootCAs: ca.Pool, Timeout: 3 * time.Second, Interval: 100 * time.Millisecond},
		Backup: deploy.SSHBackup{Signer: r.ciSigner, Addr: r.backups.Addr, HostKey: r.env.HostKey}}
	return r
}

// planSays plans the site repo's HEAD, fails the test when that fails, reports each of
// wants missing from the plan's summary (what names the plan) and returns the plan and
// its summary.
func (r *rig) planSays(t *testing.T, ctx context.Context, what string, wants ...string) (*deploy.Plan, string) {
	t.Helper()
	p, err := deploy.MakePlan(ctx, r.env, r.plan)
	if err != nil {
		t.Fatalf("%v\n%s", err, r.log.String())
	}
	sum := deploy.Summarize(p).Text()
	for _, want := range wants {
		if !strings.Contains(sum, want) {
			t.Errorf("%s plan summary lacks %q:\n%s", what, want, sum)
		}
	}
	return p, sum
}

// commitSiteRaw generates from the given site.yaml text without committing.
func commitSiteRaw(t *testing.T, dir, text string) {
	t.Helper()
	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", []byte(text), cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := generator.Generate(l, cat)
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := generator.ReadLock(dir)
	if _, err := tr.Write(dir, lock.Owned()); err != nil {
		t.Fatal(err)
	}
}

// startE2E starts what an end-to-end test drives: OpenTofu, the Hetzner simulator, the
// state passphrase, and an HTTPS server for the apps' health checks (broken names the apps
// that answer 502). Everything stops at the test's cleanup.
func startE2E(t *testing.T, broken map[string]bool, hosts ...string) (bin string, sim *hcloudsim.Server, ca *testca.CA, host *fakeHost, srv *httptest.Server) {
	t.Helper()
	bin = tofu(t)
	sim = hcloudsim.StartForOpenTofu(t)
	t.Setenv("TF_VAR_state_passphrase", "a passphrase for the test state")
	t.Setenv("TF_IN_AUTOMATION", "1")
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	host = &fakeHost{broken: broken}
	srv, err = ca.Serve(host, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return bin, sim, ca, host, srv
}
