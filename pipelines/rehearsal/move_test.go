package rehearsal_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/caddy"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/openstacksim"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/standinhost"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/vmtest"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// A site with data moves from Hetzner Cloud to an OpenStack cloud, both servers real: the
// CLI's plan and apply (the binary's own code, run as a program, as the site's workflow
// runs it) against the two clouds' simulators, and each server the simulator makes booted
// by the test from the very user_data the simulator was given, as the cloud's hypervisor
// would boot it: the rehearsal's stand-in host (internal/testenv/standinhost) in QEMU. So
// what is real end to end: the apply's backup of the old server over SSH (the backup key's
// forced command, the host key pinned) to S3 with restic, the new server's restore of that
// backup on its first boot from the instruction apply wrote, the apply's HTTPS health
// check at the new server, and the names switched at Hetzner DNS only then.
//
// The scenario, in the order an owner would live it:
//  1. The site runs at Hetzner, with data (the stand-in apps' marks on the volume), its
//     secrets and its certificates.
//  2. The move's pull request is applied while the backup bucket cannot be read from the
//     new server: the restore fails, no app starts on the blank volume, the apply fails
//     with "nothing was switched", the names and the old server are as they were.
//  3. With the bucket back, the new server's next boot finishes the restore (the pending
//     mark), and the apply run again switches the names: same data, same secrets, same
//     certificates and CA on the new server.
//  4. The retire deletes everything at Hetzner.
//
// Where it differs from a cloud: the OpenStack platform stands for the new one, not the
// own-hardware one, because the stand-in has no bootloader and boots only with a kernel
// given to QEMU, which a libvirt site's module does not have (the libvirt rehearsal adds it
// with an override file, which the plan's "no extra files" check rightly refuses in a site
// repo). The data disk is the VM's virtio disk instead of the cloud's volume device, and
// backup.env reaches the test's S3 server (standinFiles).
func TestMoveWithData(t *testing.T) {
	testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	testtool.Require(t, "TF_CLI_CONFIG_FILE", ".ci/tools.sh")
	plugin, qemu, ctx, cancel := startVMTest(t)
	defer cancel()
	cat := catalog.Embedded()
	apps := []string{"uptime-kuma"}
	host := siteTargets(apps)[0].Host
	const site = "rehearsal-move"
	dir := t.TempDir()

	s3 := s3test.Start(t)
	const bucket = "rehearsal-move"
	s3.Bucket(t, bucket)
	keys, err := vmtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	hsim, henv := hcloudsim.StartWithEnv(t)
	osim, oenv := openstacksim.StartWithEnv(t)
	backupPub, backupKeyFile := newBackupKey(t, dir)
	backup := &vmtest.BackupTarget{Endpoint: "https://s3.rehearsal.test", Bucket: bucket, AccessKeyID: s3.Access, SecretAccessKey: s3.Secret, Password: "rehearsal restic password"}

	// The site repo, each change committed as its pull request's merge would be.
	repo := filepath.Join(dir, "site")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	testtool.Git(t, repo, "init", "-q", "-b", "main")
	// nassella init's .gitignore: OpenTofu's local state stays out of the commits.
	gitignore, err := sitetemplate.FS.ReadFile("gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), gitignore, 0o644); err != nil {
		t.Fatal(err)
	}
	var owned []string
	commit := func(provider, msg string) *tree.Tree {
		t.Helper()
		y := vmtest.SiteYAML(apps, keys.AuthorizedKey(), vmtest.SiteOptions{Name: site, Backup: backup, Provider: provider, BackupKey: backupPub})
		l, err := siterepo.FromBytes(siterepo.SiteFile, y, cat)
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		tr, err := generator.Generate(l, cat)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Write(repo, owned); err != nil {
			t.Fatal(err)
		}
		owned = tr.Paths()
		if err := os.WriteFile(filepath.Join(repo, siterepo.SiteFile), y, 0o644); err != nil {
			t.Fatal(err)
		}
		testtool.Git(t, repo, "add", "-A")
		testtool.Git(t, repo, "commit", "-q", "-m", msg)
		return tr
	}

	// nassella as the site's workflow runs it: the secrets in the environment, a local
	// state (so not "in CI", which wants a remote one).
	env := append(append(henv, oenv...),
		cliEnv+"=1", "CI=", "GITHUB_ACTIONS=", "GITEA_ACTIONS=", "FORGEJO_ACTIONS=", "TF_IN_AUTOMATION=1",
		"TF_VAR_state_passphrase=rehearsal state passphrase",
		"TF_VAR_backup_password="+backup.Password,
		"TF_VAR_backup_s3_access_key_id="+backup.AccessKeyID,
		"TF_VAR_backup_s3_secret_access_key="+backup.SecretAccessKey,
		"TF_VAR_ssh_host_key="+string(keys.HostKeyPEM()))
	start := func(args ...string) *cliRun {
		r := &cliRun{done: make(chan struct{})}
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		cmd.Dir, cmd.Env = repo, append(os.Environ(), env...)
		go func() {
			r.out, r.err = cmd.CombinedOutput()
			close(r.done)
		}()
		return r
	}
	nassella := func(args ...string) string {
		t.Helper()
		out, err := start(args...).wait()
		if err != nil {
			t.Fatalf("nassella %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	plan := filepath.Join(dir, "tfplan")
	aRecord := func() string {
		t.Helper()
		for _, rr := range hsim.RRSets(vmtest.TestDomain) {
			if rr.Type == "A" && rr.Name+"."+vmtest.TestDomain == host {
				return strings.Join(rr.Values, " ")
			}
		}
		return ""
	}

	// Each server as its cloud boots it: the stand-in built from the user_data the
	// simulator was given, on a data disk of its own.
	images, _, err := standin.Build(ctx, cat, apps, filepath.Join(os.TempDir(), "nassella-rehearsal-images-move"))
	if err != nil {
		t.Fatal(err)
	}
	boot := func(name string, userData []byte, tr *tree.Tree, backupRepo string) *guest {
		t.Helper()
		add := standinFiles(t, cat, apps, userData, tr, backupRepo)
		add[hostcontract.VolumeEnv] = "NASSELLA_DATA_DEVICE=" + vmtest.DataDevice + "\n"
		cf, _ := tr.Get(caddy.Path)
		testCaddy, err := vmtest.InternalCA(cf.Data)
		if err != nil {
			t.Fatal(err)
		}
		add[filepath.Join(hostcontract.ProxyDir, hostcontract.Caddyfile)] = string(testCaddy)
		out := filepath.Join(dir, name)
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		img, err := standinhost.Build(ctx, standinhost.Options{Ignition: ignitionWith(t, nil, userData, ignitionWith(t, add)), ComposePlugin: plugin, Images: images, Dir: out, Log: &log})
		if err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		disk := filepath.Join(out, "data.raw")
		if err := vmtest.CreateDisk(disk, 2<<30); err != nil {
			t.Fatal(err)
		}
		g := startGuest(ctx, t, img, qemu, disk, keys)
		g.ssh(ctx)
		return g
	}
	userData := func(what string, list func() []string) []byte {
		t.Helper()
		for {
			if u := list(); len(u) == 1 && u[0] != "" {
				return []byte(u[0])
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s never got a server with user_data", what)
			case <-time.After(time.Second):
			}
		}
	}

	// 1. The site at Hetzner. Apply trusts only the CA it is given at its start, and the
	// server's Caddy makes its own CA at its first boot: the first health check goes
	// through a relay that presents the test CA's certificate and passes each request to
	// the server's Caddy, checked against that server's CA once it has one.
	hetzner := "hetzner: { location: nbg1, server_type: cx33, volume_gb: 10 }"
	tr := commit("{ "+hetzner+" }", "the site at Hetzner")
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	caFile := writePEM(t, dir, "test-ca.pem", ca.CertDER())
	var upstream atomic.Pointer[httputil.ReverseProxy]
	relay, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := upstream.Load()
		if p == nil {
			http.Error(w, "the server is still booting", http.StatusBadGateway)
			return
		}
		p.ServeHTTP(w, r)
	}), host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Close)
	nassella("plan", "--allow-unverified", "--out", plan)
	first := start("apply", "--plan", plan, "--no-pr", "--ca-file", caFile, "--resolve", host+"="+relay.Listener.Addr().String(), "--health-timeout", "20m")
	old := boot("hetzner", userData("Hetzner", func() (u []string) {
		for _, s := range hsim.Servers() {
			u = append(u, s.UserData)
		}
		return u
	}), tr, guestRepository(s3.Endpoint, bucket, site))
	oldRoots := old.healthy(ctx, apps, "the server at Hetzner")
	upstream.Store(reverseProxy(old.vm.Addr(443), oldRoots))
	if out, err := first.wait(); err != nil {
		t.Fatalf("the first apply: %v\n%s", err, out)
	}
	mark := old.marks(ctx, oldRoots, apps)
	secrets := old.run(ctx, "sudo -n sha256sum /var/lib/nassella/secrets/uptime-kuma.env")
	certs := old.run(ctx, "sudo -n sh -c 'cd "+vmtest.CaddyCertificates+" && find . -type f -name \"*.crt\" | sort | xargs sha256sum'")
	rootPEM := old.run(ctx, "sudo -n cat "+vmtest.CaddyRoot)
	rootFile := filepath.Join(dir, "site-ca.pem")
	if err := os.WriteFile(rootFile, []byte(rootPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	oldA := aRecord()
	if servers := hsim.Servers(); len(servers) != 1 || oldA == "" {
		t.Fatalf("at Hetzner: servers %+v, A record %q", servers, oldA)
	}

	// 2. The move, while the bucket cannot be read from the new server (an S3 answer of
	// "access denied" between that server and the S3 server).
	openstack := fmt.Sprintf("openstack: { auth_url: %q, region: %s, flavor: b3-8, external_network: Ext-Net, volume_gb: 10 }", osim.AuthURL(), osim.Region())
	tr = commit("{ "+openstack+", previous: { "+hetzner+" } }", "move to OpenStack")
	if out := nassella("plan", "--allow-unverified", "--out", plan); !strings.Contains(out, "Your site moves from Hetzner Cloud to your OpenStack cloud") {
		t.Errorf("the move's plan does not say it moves the site:\n%s", out)
	}
	bucketRelay := newRelay(t, strings.TrimPrefix(s3.Endpoint, "http://"))
	bucketRelay.lost.Store(true)
	web := newRelay(t, "") // the new server's 443, once it runs
	applyArgs := []string{"apply", "--plan", plan, "--no-pr", "--backup-key", backupKeyFile, "--backup-addr", old.vm.Addr(22),
		"--ca-file", rootFile, "--resolve", host + "=" + web.addr()}
	// The new server's restore fails about a minute after it powers on; the apply's health
	// check gives up a while after that.
	moveStart := time.Now()
	moving := start(append(applyArgs, "--health-timeout", "2m")...)
	fresh := boot("openstack", userData("OpenStack", func() (u []string) {
		for _, s := range osim.Servers() {
			u = append(u, s.UserData)
		}
		return u
	}), tr, guestRepository("http://"+bucketRelay.addr(), bucket, site))
	web.to.Store(fresh.vm.Addr(443))
	for {
		if state, _ := fresh.sh.Run(ctx, "systemctl is-failed "+hostcontract.RestoreUnit+" || true"); strings.TrimSpace(state) == "failed" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the restore did not fail without its bucket\n%s", fresh.state(ctx))
		case <-time.After(3 * time.Second):
		}
	}
	for _, c := range []struct{ cmd, want string }{
		{"systemctl is-active " + hostcontract.SecretsUnit + " " + hostcontract.ProxyUnit + " nassella-app-uptime-kuma.service || true", "inactive\ninactive\ninactive"},
		{"sudo -n test -e " + hostcontract.RestorePending + " && echo pending", "pending"},
		{"sudo -n test -e /var/lib/nassella/secrets/uptime-kuma.env || echo none", "none"},
	} {
		if got := strings.TrimSpace(fresh.run(ctx, c.cmd)); got != c.want {
			t.Errorf("after the failed restore: %s: %q, want %q", c.cmd, got, c.want)
		}
	}
	out, err := moving.wait()
	if err == nil || !strings.Contains(out, "nothing was switched") || !strings.Contains(out, "before the site moves") {
		t.Fatalf("the move with a failing restore: %v\n%s", err, out)
	}
	if got := aRecord(); got != oldA {
		t.Errorf("after the failed move the A record is %q, want the old server's %q", got, oldA)
	}
	if got := old.marks(ctx, oldRoots, apps); got != mark || len(hsim.Servers()) != 1 {
		t.Errorf("after the failed move the old server has marks %s (want %s), Hetzner servers %+v", got, mark, hsim.Servers())
	}

	// 3. The bucket is back: the new server's next boot restores (the pending mark), and the
	// apply run again switches the names once the new server is healthy.
	bucketRelay.lost.Store(false)
	fresh.reboot(ctx)
	roots := fresh.healthy(ctx, apps, "the new server, the restore tried again")
	if out := fresh.run(ctx, "sudo -n journalctl -b --no-pager -o cat -u "+hostcontract.RestoreUnit); !strings.Contains(out, "restored snapshot latest") {
		t.Errorf("the restore unit did not restore:\n%s", out)
	}
	if out := fresh.run(ctx, "sudo -n test -e "+hostcontract.RestorePending+" && echo pending || echo done"); strings.TrimSpace(out) != "done" {
		t.Error("the restore's pending mark is still there")
	}
	fresh.checkRestoreFirst(ctx)
	// What came back is the backup the move's apply took: the site's only snapshot.
	var snaps []struct {
		Time time.Time `json:"time"`
	}
	if out := fresh.run(ctx, "sudo -n "+hostcontract.BackupScript+" snapshots --json 2>/dev/null"); json.Unmarshal([]byte(out), &snaps) != nil || len(snaps) != 1 || snaps[0].Time.Before(moveStart.Add(-time.Minute)) {
		t.Errorf("the site's snapshots are not the one backup of the move (after %s):\n%s", moveStart.UTC().Format(time.RFC3339), out)
	}
	fresh.same(ctx, roots, mark, secrets, certs, "moving to OpenStack")
	if got := fresh.run(ctx, "sudo -n cat "+vmtest.CaddyRoot); got != rootPEM {
		t.Error("the new server's Caddy has another CA than the old server's: it did not come with the data")
	}
	// The co-op's "apply again" (docs/maintainers/platforms.md): the new server is there,
	// so no second backup; its apps are checked and the names switched.
	nassella("plan", "--allow-unverified", "--out", plan)
	if out := nassella(applyArgs...); strings.Contains(out, "backing up") {
		t.Errorf("applying the move again took another backup of the old server:\n%s", out)
	}
	fips := osim.FloatingIPs()
	if got := aRecord(); len(fips) != 1 || got != fips[0].Address {
		t.Errorf("after the move the A record is %q, want the new server's floating IP (%+v)", got, fips)
	}
	if s, v := hsim.Servers(), hsim.Volumes(); len(s) != 1 || len(v) != 1 {
		t.Errorf("after the move, at Hetzner: servers %+v volumes %+v; the old server stays until the retire", s, v)
	}

	// 4. The retire: nothing left at Hetzner; the old server goes as the cloud deletes it.
	commit("{ "+openstack+", previous: { "+hetzner+", retire: true } }", "retire the server at Hetzner")
	nassella("plan", "--allow-unverified", "--out", plan)
	nassella(applyArgs...)
	if s, v, ips := hsim.Servers(), hsim.Volumes(), hsim.PrimaryIPs(); len(s)+len(v)+len(ips) != 0 {
		t.Errorf("left at Hetzner after the retire: servers %+v volumes %+v primary IPs %+v", s, v, ips)
	}
	old.shutdown(ctx)
	if got := fresh.marks(ctx, roots, apps); got != mark {
		t.Errorf("after the retire the new server's marks are %s, want %s", got, mark)
	}
}

// cliRun is one nassella command running.
type cliRun struct {
	done chan struct{}
	out  []byte
	err  error
}

func (r *cliRun) wait() (string, error) {
	<-r.done
	return string(r.out), r.err
}

// newBackupKey makes the CI's backup key: its public half for admin.backup_key, the
// private one in a file for `nassella apply --backup-key`.
func newBackupKey(t *testing.T, dir string) (string, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "nassella-ci-backup")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "backup-key")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " nassella-ci-backup", file
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// reverseProxy passes each request to a booted server's Caddy at addr under the same host
// name (so the same route and certificate), trusting only roots, and its answers back
// unchanged, redirects included.
func reverseProxy(addr string, roots *x509.CertPool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "https", pr.In.Host, pr.In.Host
		},
		Transport: httpsClient(addr, roots).Transport,
	}
}

// relay passes TCP connections from a port on 127.0.0.1 to the address in to; with none
// set yet a connection is closed at once. With lost set it answers every HTTP request
// itself, as an S3 server that does not let the site's credentials in (a bucket that
// cannot be read from where the connection comes from).
type relay struct {
	ln   net.Listener
	to   atomic.Value // string
	lost atomic.Bool
}

func newRelay(t *testing.T, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	r.to.Store(to)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) serve(c net.Conn) {
	defer c.Close()
	if r.lost.Load() {
		accessDenied(c)
		return
	}
	to, _ := r.to.Load().(string)
	if to == "" {
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(c, up)
}

// accessDenied answers each request on c with S3's error for credentials the bucket does
// not let in (403, code AccessDenied: the S3 API reference, "Error responses"). restic
// gives up at once on it (IsPermanentError in restic v0.19.1's internal/backend/s3/s3.go:
// NoSuchKey, InvalidRange and AccessDenied; any other error is retried for 15 minutes).
func accessDenied(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`
		resp := &http.Response{StatusCode: http.StatusForbidden, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header: http.Header{"Content-Type": {"application/xml"}}, ContentLength: int64(len(body)),
			Body: io.NopCloser(strings.NewReader(body))}
		if err := resp.Write(c); err != nil {
			return
		}
	}
}
