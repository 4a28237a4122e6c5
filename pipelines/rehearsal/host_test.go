package rehearsal_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coreos/ignition/v2/config/v3_3/types"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// hostDirs are the host paths the generated site writes and runs from; on the rehearsal
// host each is a bind mount of a folder of the test, seen only by its Docker daemon and
// the commands run beside it.
var hostDirs = map[string]string{
	hostcontract.ConfigDir: "etc",   // compose files, Caddyfile, backup settings
	"/opt/nassella":        "opt",   // the host's scripts
	hostcontract.DataDir:   "data",  // the data volume
	"/var/cache/nassella":  "cache", // restic's cache
}

// composeHost is a site's host on this machine's Docker: the files of its Ignition under
// hostDirs and its units' commands, run as systemd would run them.
type composeHost struct {
	t      *testing.T
	root   string
	site   *vmtest.TestSite
	final  types.Config
	docker *dockertest.Daemon
	s3     *s3test.Server
	bucket string
	units  map[string]unit
	relay  *mailRelay // the site's mail relay (mail_test.go)
	keys   *vmtest.Keys
	opts   vmtest.SiteOptions // the site's name, backup target and mail relay
	images []string           // the references of the images loaded last
	cat    *catalog.Release   // the release the host runs
}

// unit is the part of a generated systemd unit the compose layer runs.
type unit struct {
	start, stop []string // ExecStartPre then ExecStart lines; ExecStop lines
}

const rehearsalSite = "rehearsal"

// newComposeHost renders a site of apps with the built-in catalog, as a server would get it
// (vmtest.RenderSite: the generated Ignition merged with what Terraform adds at apply),
// with a mail relay (mail_test.go) on the private Docker daemon's proxy network, writes
// its host files and loads the site's images.
func newComposeHost(t *testing.T, apps []string) *composeHost {
	t.Helper()
	// Its Caddy listens on :443 of every address, as a server's does; the site workflows'
	// test (pipelines/review) serves its apps on 127.2.1.x:443.
	testtool.HoldPort(t, 443)
	cat := catalog.Embedded()
	s3 := s3test.Start(t)
	bucket := "rehearsal-backups"
	s3.Bucket(t, bucket)
	keys, err := vmtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	binds := map[string]string{}
	for hostPath, dir := range hostDirs {
		binds[hostPath] = filepath.Join(root, dir)
		if err := os.MkdirAll(binds[hostPath], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The daemon first: the mail relay's address is on a network of it.
	docker := dockertest.Start(t, binds)
	relay := startRelay(t, docker)
	h := &composeHost{t: t, root: root, docker: docker, s3: s3, bucket: bucket, relay: relay, keys: keys,
		opts: vmtest.SiteOptions{Name: rehearsalSite, Backup: &vmtest.BackupTarget{
			// site.yaml takes an https endpoint; backup.env is pointed at the test's server (install).
			Endpoint: "https://s3.rehearsal.test", Bucket: bucket,
			AccessKeyID: s3.Access, SecretAccessKey: s3.Secret, Password: "rehearsal restic password",
		}, Mail: relay.siteMail()}}
	h.install(cat, apps)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h.loadImages(ctx, cat, apps)
	return h
}

// install renders the site of apps with cat (vmtest.RenderSite: the generated Ignition
// merged with what Terraform adds at apply) and writes what a new server boots with: the
// Ignition's files and units, and the files Terraform adds.
func (h *composeHost) install(cat *catalog.Release, apps []string) {
	h.t.Helper()
	t := h.t
	ts, err := vmtest.RenderSite(cat, apps, h.keys, h.opts)
	if err != nil {
		t.Fatal(err)
	}
	final, _, err := vmtest.ResolveIgnition(ts.Ignition)
	if err != nil {
		t.Fatal(err)
	}
	h.site, h.final, h.units, h.cat = ts, final, map[string]unit{}, cat
	h.writeFiles()
	h.readUnits()

	// What terraform_data.server_setup copies to a new server (ignition.tf).
	tr, err := generator.Generate(ts.Site, cat)
	if err != nil {
		t.Fatal(err)
	}
	settings, ok := tr.Get(butane.SettingsPath)
	if !ok {
		t.Fatalf("the generator wrote no %s", butane.SettingsPath)
	}
	h.write(hostcontract.BackupSettings, settings.Data, 0o644)
	// The rehearsal's S3 server speaks plain HTTP on 127.0.0.1 (restic runs with --network host).
	env := h.read(hostcontract.ConfigDir + "/backup.env")
	env = replaceLine(t, env, "RESTIC_REPOSITORY=", fmt.Sprintf("RESTIC_REPOSITORY='s3:%s/%s/%s'", h.s3.Endpoint, h.bucket, rehearsalSite))
	h.write(hostcontract.ConfigDir+"/backup.env", []byte(env), 0o644)
	// The relay's password, as Terraform writes it at apply (ignition.tf, the secret SMTP_PASSWORD).
	h.write(hostcontract.MailEnv, h.relay.mailEnv(), 0o600)
}

// loadImages builds the stand-in images of a site of apps with cat (cached by content)
// and loads them into the daemon.
func (h *composeHost) loadImages(ctx context.Context, cat *catalog.Release, apps []string) {
	h.t.Helper()
	cache := filepath.Join(os.TempDir(), "nassella-rehearsal-images")
	start := time.Now()
	tarball, refs, err := standin.Build(ctx, cat, apps, cache)
	if err != nil {
		h.t.Fatalf("building the site's images: %v", err)
	}
	if err := h.docker.Load(ctx, tarball); err != nil {
		h.t.Fatal(err)
	}
	h.images = refs
	h.t.Logf("%d images built and loaded in %s", len(refs), time.Since(start).Round(time.Second))
}

// hostPath maps a path of the server to the test's folder for it.
func (h *composeHost) hostPath(p string) (string, bool) {
	for hostDir, dir := range hostDirs {
		if rel, ok := strings.CutPrefix(p, hostDir+"/"); ok {
			return filepath.Join(h.root, dir, rel), true
		}
	}
	return "", false
}

func (h *composeHost) write(p string, data []byte, mode os.FileMode) {
	h.t.Helper()
	local, ok := h.hostPath(p)
	if !ok {
		h.t.Fatalf("%s is outside the rehearsal host's folders", p)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(local, data, mode); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chmod(local, mode); err != nil {
		h.t.Fatal(err)
	}
}

func (h *composeHost) read(p string) string {
	h.t.Helper()
	local, ok := h.hostPath(p)
	if !ok {
		h.t.Fatalf("%s is outside the rehearsal host's folders", p)
	}
	b, err := os.ReadFile(local)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// writeFiles writes every file of the Ignition under the host's folders with its mode;
// the rest (update.conf, journald, logind, the sysext) belongs to the booted host.
func (h *composeHost) writeFiles() {
	h.t.Helper()
	var skipped []string
	for _, f := range h.final.Storage.Files {
		if _, ok := h.hostPath(f.Path); !ok {
			skipped = append(skipped, f.Path)
			continue
		}
		var data []byte
		if f.Contents.Source != nil {
			var err error
			if data, err = vmtest.DecodeSource(*f.Contents.Source, f.Contents.Compression); err != nil {
				h.t.Fatalf("%s: %v", f.Path, err)
			}
		}
		mode := os.FileMode(0o644)
		if f.Mode != nil {
			mode = os.FileMode(*f.Mode)
		}
		h.write(f.Path, data, mode)
	}
	h.t.Logf("left to the booted host: %s", strings.Join(skipped, ", "))
}

// readUnits keeps the Exec lines of every unit of the Ignition.
func (h *composeHost) readUnits() {
	h.t.Helper()
	for _, u := range h.final.Systemd.Units {
		if u.Contents == nil {
			continue
		}
		var x unit
		sc := bufio.NewScanner(strings.NewReader(*u.Contents))
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
			if !ok {
				continue
			}
			// systemd's prefixes ("-" ignores failure, "+" runs privileged, ...) are not
			// used by the generated units; a unit using one must be looked at here.
			if strings.ContainsAny(v[:1], "-+@!:|") {
				h.t.Fatalf("unit %s: %s=%s has a systemd prefix the rehearsal does not model", u.Name, k, v)
			}
			switch k {
			case "ExecStartPre", "ExecStart":
				x.start = append(x.start, v)
			case "ExecStop":
				x.stop = append(x.stop, v)
			}
		}
		h.units[u.Name] = x
	}
}

// run runs a command line on the host (in the daemon's mount namespace) and fails the
// test with its output when it fails.
func (h *composeHost) run(ctx context.Context, line string) string {
	h.t.Helper()
	out, errOut, err := h.docker.Run(ctx, nil, "sh", "-c", line)
	if err != nil {
		h.t.Fatalf("%s: %v\n%s%s", line, err, out, errOut)
	}
	return string(out)
}

// startUnit runs a unit's ExecStartPre and ExecStart lines, as systemd starts it.
func (h *composeHost) startUnit(ctx context.Context, name string) {
	h.t.Helper()
	u, ok := h.units[name]
	if !ok || len(u.start) == 0 {
		h.t.Fatalf("the site's Ignition has no unit %s with an ExecStart", name)
	}
	for _, l := range u.start {
		h.run(ctx, l)
	}
}

func (h *composeHost) stopUnit(ctx context.Context, name string) {
	h.t.Helper()
	for _, l := range h.units[name].stop {
		h.run(ctx, l)
	}
}

// appUnits are the site's app units, sorted.
func (h *composeHost) appUnits() []string {
	var names []string
	for n := range h.units {
		if strings.HasPrefix(n, "nassella-app-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// boot starts what multi-user.target pulls in on the server, in its order: the secrets,
// the proxy, then the apps (each Requires/After the first two).
func (h *composeHost) boot(ctx context.Context) {
	h.t.Helper()
	h.startUnit(ctx, "nassella-secrets.service")
	h.startUnit(ctx, "nassella-proxy.service")
	for _, u := range h.appUnits() {
		h.startUnit(ctx, u)
	}
}

// bootHealthy boots the host of an app that was claimed before: every claim unit
// succeeds, and every app answers healthy through Caddy.
func (h *composeHost) bootHealthy(ctx context.Context, roots *x509.CertPool, targets []health.Target, when string) {
	h.t.Helper()
	h.boot(ctx)
	if failed := h.claimUnits(ctx); len(failed) != 0 {
		h.t.Fatalf("claims failed %s: %v", when, failed)
	}
	if err := vmtest.WaitHealthy(ctx, "127.0.0.1:443", roots, targets, testWriter{h.t}); err != nil {
		h.t.Fatal(err)
	}
}

// shutdown stops what boot started as systemd stops it, in the inverse of the start-up
// order (systemd.unit(5), Before=, After=): the apps, then the proxy. The secrets and claim
// units have nothing to stop.
func (h *composeHost) shutdown(ctx context.Context) {
	h.t.Helper()
	for _, u := range h.appUnits() {
		h.stopUnit(ctx, u)
	}
	h.stopUnit(ctx, "nassella-proxy.service")
}

// caddyRoots reads the root of Caddy's internal CA from the data volume.
func (h *composeHost) caddyRoots(ctx context.Context) *x509.CertPool {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	local, _ := h.hostPath(vmtest.CaddyRoot)
	for {
		if pem, err := os.ReadFile(local); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pem) {
				return pool
			}
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("Caddy wrote no internal CA root at %s\n%s", vmtest.CaddyRoot, h.diagnose())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func replaceLine(t *testing.T, text, prefix, line string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, text)
	return ""
}

// diagnose says what runs and what the proxy logged, for a failure message.
func (h *composeHost) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ps, errOut, _ := h.docker.Run(ctx, nil, "docker", "ps", "-a", "--format", "{{.Names}}\t{{.Status}}")
	return fmt.Sprintf("containers:\n%s%s\nproxy's log:\n%s", ps, errOut, h.docker.Journal("proxy"))
}
