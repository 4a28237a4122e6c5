package rehearsal_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// The whole site with every catalog app, on this machine's Docker: the host's units and
// scripts as generated, Caddy and restic for real, the apps as stand-ins. It proves that the
// generated compose files start (depends_on, health checks, networks, the volume paths),
// that Caddy routes each host name to its own app over HTTPS, that the apps' e-mail
// reaches the site's mail relay with its password from mail.env, that every backup hook runs
// through `docker compose exec` and restic stores the volume in S3, that a restore gives
// the same files back, that a restart keeps data, secrets and certificates, and that so
// does a new server of the next catalog release, which moves an app to its next major.
func TestComposeLayer(t *testing.T) {
	t.Parallel() // beside TestHostInVM, which runs in QEMU
	cat := catalog.Embedded()
	apps := cat.Names()
	h := newComposeHost(t, apps)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	const broken = "vaultwarden" // its first claim fails
	h.standinClaims(broken)

	start := time.Now()
	h.boot(ctx)
	roots := h.caddyRoots(ctx)
	targets := h.site.Targets()
	client := httpsClient("127.0.0.1:443", roots)

	// The gate: until its administrator exists, no app is reachable, and a visitor's try
	// to become it never reaches the app.
	h.checkShut(ctx, client, targets, hostcontract.SetupPending)
	start = time.Now()
	failed := h.claimUnits(ctx)
	t.Logf("claims: %s", time.Since(start).Round(100*time.Millisecond))
	if len(failed) != 1 || !strings.Contains(failed[broken], "claiming "+broken+" failed") {
		t.Fatalf("failed claims %v, want only %s's", failed, broken)
	}
	for _, tg := range targets {
		if tg.App == broken {
			h.checkShut(ctx, client, []health.Target{tg}, hostcontract.SetupFailed)
		}
	}
	creds := h.run(ctx, hostcontract.ClaimScript+" credentials "+broken)
	if !strings.HasPrefix(creds, broken+"\tfailed\t") || !strings.Contains(creds, "answered 200, want 201") {
		t.Errorf("credentials of the failed claim: %q, want it failed with its reason", creds)
	}
	// Retried with steps that work (systemctl restart of its claim unit), it opens.
	h.standinClaims("")
	if failed := h.claimUnits(ctx); len(failed) != 0 {
		t.Fatalf("claims failed again: %v", failed)
	}
	if err := vmtest.WaitHealthy(ctx, "127.0.0.1:443", roots, targets, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	t.Logf("start to every app claimed and healthy through Caddy: %s", time.Since(start).Round(100*time.Millisecond))
	checkClaimed(ctx, t, client, targets)
	h.checkMail(ctx, client, targets)

	ids := map[string]string{}
	for _, tg := range targets {
		ids[tg.App] = h.checkRoute(ctx, client, tg)
	}
	h.checkRedirect(ctx, targets[0])

	secrets := h.secrets()
	for _, a := range h.site.Site.Apps {
		for _, s := range a.Spec.Secrets {
			if !strings.Contains(secrets[a.Name], "\n"+s.Name+"=") && !strings.HasPrefix(secrets[a.Name], s.Name+"=") {
				t.Errorf("secrets/%s.env has no %s", a.Name, s.Name)
			}
		}
	}
	certs := h.tree(vmtest.CaddyCertificates)
	if len(certs) == 0 {
		t.Fatal("Caddy stored no certificate on the data volume")
	}

	// A backup: every hook through docker compose exec, then restic into S3.
	start = time.Now()
	h.run(ctx, hostcontract.BackupScript+" run")
	t.Logf("backup of %d apps: %s", len(apps), time.Since(start).Round(100*time.Millisecond))
	var st hostcontract.Status
	if err := json.Unmarshal([]byte(h.read(hostcontract.BackupStatusFile)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Result != "ok" || st.Snapshot == "" {
		t.Fatalf("backup status %+v, want ok with a snapshot", st)
	}
	for _, a := range h.site.Site.Apps {
		for _, hook := range a.Spec.Backup.Hooks {
			p := hostcontract.DataDir + "/apps/" + a.Name + "/dumps/" + hook.Output
			if d := h.read(p); strings.TrimSpace(d) == "" {
				t.Errorf("%s: the hook in %s left an empty %s", a.Name, hook.Service, p)
			}
		}
	}
	snaps := h.run(ctx, hostcontract.BackupScript+" snapshots --json")
	if !strings.Contains(snaps, st.Snapshot) {
		t.Fatalf("snapshot %s is not among the site's: %s", st.Snapshot, snaps)
	}

	// A restore beside the volume gives its files back, the dumps and secrets with them.
	const restored = "/var/cache/nassella/restore-check"
	h.run(ctx, hostcontract.BackupScript+" restore --target "+restored)
	live := h.tree(hostcontract.DataDir + "/apps")
	// The volume is backed up from inside it (restic backup . in the volume), so its paths
	// restore under the target as they are under the volume.
	back := h.tree(restored + "/apps")
	if len(back) == 0 {
		var some []string
		for p := range h.tree(restored) {
			if some = append(some, p); len(some) == 5 {
				break
			}
		}
		t.Fatalf("nothing restored under %s/apps; the restore holds %v", restored, some)
	}
	excluded := map[string]bool{} // app/volume: caches the catalog leaves out of backups
	for _, a := range h.site.Site.Apps {
		for _, v := range a.Spec.Backup.Exclude {
			excluded[a.Name+"/"+v] = true
		}
	}
	for p, sum := range live {
		if parts := strings.SplitN(p, "/", 3); len(parts) == 3 && excluded[parts[0]+"/"+parts[1]] {
			if _, ok := back[p]; ok {
				t.Errorf("restored apps/%s, which the catalog excludes from backups", p)
			}
			continue
		}
		if back[p] != sum {
			t.Errorf("restored apps/%s differs from the volume's", p)
		}
	}
	if !equalMaps(h.tree(restored+"/secrets"), h.tree(hostcontract.DataDir+"/secrets")) {
		t.Error("the restored secrets differ from the volume's")
	}

	h.restoreFirstBoot(ctx, back)

	// A restart keeps data, secrets and certificates: the apps' own marks, the secrets
	// files and Caddy's certificate files are the same afterwards.
	h.shutdown(ctx)
	start = time.Now()
	h.bootHealthy(ctx, roots, targets, "after a restart")
	t.Logf("restart to every app healthy: %s", time.Since(start).Round(100*time.Millisecond))
	for _, tg := range targets {
		if id := h.checkRoute(ctx, client, tg); id != ids[tg.App] {
			t.Errorf("%s: its data mark changed over a restart (%s, was %s)", tg.App, id, ids[tg.App])
		}
	}
	if after := h.secrets(); !equalMaps(after, secrets) {
		t.Error("the apps' secrets changed over a restart")
	}
	if after := h.tree(vmtest.CaddyCertificates); !equalMaps(after, certs) {
		t.Error("Caddy issued certificates again over a restart")
	}

	// The next catalog release moves an app to its next major: the server is replaced and
	// the new one boots on the same volume (upgrade_test.go).
	h.majorUpgrade(ctx, roots)
}

// checkRoute asks an app's host for / and checks the answer comes from that app, with the
// headers every app gets; it returns the mark the app keeps on its volume.
func (h *composeHost) checkRoute(ctx context.Context, c *http.Client, tg health.Target) string {
	h.t.Helper()
	return fetchMark(ctx, h.t, c, tg)
}

// fetchMark asks an app's host for / through c and checks the answer comes from that
// app's stand-in, with the headers every app gets; it returns the stand-in's data marks.
func fetchMark(ctx context.Context, t *testing.T, c *http.Client, tg health.Target) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+tg.Host+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", tg.App, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: the security headers are missing: %v", tg.App, resp.Header)
	}
	return standinMark(t, tg.App, body)
}

// checkRedirect asks over plain HTTP: Caddy sends the visitor to HTTPS.
func (h *composeHost) checkRedirect(ctx context.Context, tg health.Target) {
	h.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: dialTo("127.0.0.1:80")}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tg.Host+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != "https://"+tg.Host+"/x" {
		h.t.Errorf("http://%s/x answered %d to %q, want a redirect to HTTPS", tg.Host, resp.StatusCode, loc)
	}
}

// secrets reads every app's secrets file, checking it is the owner's alone.
func (h *composeHost) secrets() map[string]string {
	h.t.Helper()
	dir, _ := h.hostPath(hostcontract.DataDir + "/secrets/x")
	dir = filepath.Dir(dir)
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			h.t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			h.t.Errorf("secrets/%s is readable by others (%v)", e.Name(), info.Mode())
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			h.t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), ".env")] = string(b)
	}
	return out
}

// tree maps each file under a host folder to its content.
func (h *composeHost) tree(p string) map[string]string {
	h.t.Helper()
	root, _ := h.hostPath(p)
	out := map[string]string{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			rel, _ := filepath.Rel(root, path)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// httpsClient reaches every host name at addr, trusting only Caddy's internal CA.
func httpsClient(addr string, roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext:     dialTo(addr),
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// standinMark reads a stand-in's answer (internal/testenv/standin): it must come from one
// of app's services; the mark is the ids it keeps in its data folders.
func standinMark(t *testing.T, app string, body []byte) string {
	t.Helper()
	var a struct {
		Standin string            `json:"standin"`
		Markers map[string]string `json:"markers"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: not a stand-in's answer: %v\n%.300s", app, err, body)
	}
	if !strings.Contains(a.Standin, " "+app+"/") && !strings.Contains(a.Standin, ","+app+"/") {
		t.Fatalf("%s's host name reached %q", app, a.Standin)
	}
	keys := make([]string, 0, len(a.Markers))
	for k := range a.Markers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + a.Markers[k] + " ")
	}
	return b.String()
}

// restoreFirstBoot runs the restore a server taking the site over does before its apps
// start (nassella-backup restore-first-boot, from nassella-restore.service), with the
// restore instruction apply writes: over the volume with data it does nothing; onto a
// blank volume of its own (a folder of the host here) a failing restore fails and leaves
// its pending mark, so the next boot tries again instead of starting the apps; the next
// one restores the snapshot (back: what the same snapshot restored beside the volume) and
// removes the mark.
func (h *composeHost) restoreFirstBoot(ctx context.Context, back map[string]string) {
	h.t.Helper()
	const (
		blank  = "/var/cache/nassella/first-boot-volume"
		good   = "/var/cache/nassella/first-boot-config"
		broken = "/var/cache/nassella/first-boot-config-broken"
	)
	pending := blank + "/" + path.Base(hostcontract.RestorePending)
	h.run(ctx, "rm -rf "+blank+" "+good+" "+broken+" && mkdir -p "+blank+"/lost+found && cp -a "+hostcontract.ConfigDir+" "+good+
		" && printf '"+hostcontract.RestoreVar+"=latest\\n' > "+good+"/"+path.Base(hostcontract.RestoreEnv)+
		" && cp -a "+good+" "+broken+" && sed -i 's/^RESTIC_PASSWORD=.*/RESTIC_PASSWORD=not-the-password/' "+broken+"/"+path.Base(hostcontract.OutsideEnv))
	script := hostcontract.BackupScript + " " + hostcontract.RestoreVerb + " 2>&1"

	if out := h.run(ctx, "NASSELLA_CONFIG="+good+" "+script); !strings.Contains(out, "the data volume holds data") {
		h.t.Errorf("restore-first-boot over the volume with data:\n%s", out)
	}
	out, _, err := h.docker.Run(ctx, nil, "sh", "-c", "NASSELLA_DATA="+blank+" NASSELLA_CONFIG="+broken+" "+script)
	if err == nil {
		h.t.Errorf("restore-first-boot with a wrong repository password did not fail:\n%s", out)
	}
	if _, err := os.Stat(h.hostFile(pending)); err != nil {
		h.t.Errorf("the failed restore left no pending mark: %v", err)
	}
	start := time.Now()
	if out := h.run(ctx, "NASSELLA_DATA="+blank+" NASSELLA_CONFIG="+good+" "+script); !strings.Contains(out, "restored snapshot latest") {
		h.t.Errorf("restore-first-boot after the failed one:\n%s", out)
	}
	h.t.Logf("restore onto a blank volume: %s", time.Since(start).Round(100*time.Millisecond))
	if _, err := os.Stat(h.hostFile(pending)); err == nil {
		h.t.Error("the restore left its pending mark")
	}
	if got := h.tree(blank + "/apps"); !equalMaps(got, back) {
		h.t.Errorf("the blank volume got %d files under apps, the snapshot has %d (or they differ)", len(got), len(back))
	}
}

// hostFile is the test's file for a path of the server.
func (h *composeHost) hostFile(p string) string {
	h.t.Helper()
	local, ok := h.hostPath(p)
	if !ok {
		h.t.Fatalf("%s is outside the rehearsal host's folders", p)
	}
	return local
}
