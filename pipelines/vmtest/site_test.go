package vmtest

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/ignition/v2/config/v3_3/types"
	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/testenv/testca"
)

// decodeSource is DecodeSource for a test.
func decodeSource(t *testing.T, src string, compression *string) []byte {
	t.Helper()
	data, err := DecodeSource(src, compression)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// resolve is ResolveIgnition for a test.
func resolve(t *testing.T, raw []byte) (types.Config, []types.Config) {
	t.Helper()
	merged, parts, err := ResolveIgnition(raw)
	if err != nil {
		t.Fatal(err)
	}
	return merged, parts
}

func fileIn(t *testing.T, cfg types.Config, path string) string {
	t.Helper()
	var found []string
	for _, f := range cfg.Storage.Files {
		if f.Path == path && f.Contents.Source != nil {
			found = append(found, string(decodeSource(t, *f.Contents.Source, f.Contents.Compression)))
		}
	}
	switch len(found) {
	case 0:
		return ""
	case 1:
		return found[0]
	}
	t.Fatalf("%s is in the config %d times", path, len(found))
	return ""
}

// The VM's Ignition, resolved as Ignition resolves it, has the generated host config with
// the test's files on top: Caddy on its internal CA, the data disk's device, the run's SSH
// keys. The generator's own Ignition (the first merged config) is what a real site gets.
func TestRenderSiteIgnition(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := RenderSite(catalog.Embedded(), []string{"vaultwarden", "uptime-kuma"}, keys, SiteOptions{Name: "vmtest-0123abcd"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM Ignition: %d bytes", len(ts.Ignition))
	final, parts := resolve(t, ts.Ignition)
	if len(parts) != 2 {
		t.Fatalf("%d merged configs, want the generated one and the test's", len(parts))
	}

	caddy := fileIn(t, final, "/etc/nassella/proxy/Caddyfile")
	for _, want := range []string{"\tlocal_certs\n", "\tskip_install_trust\n", "email admin@vmtest.test", "vault.vmtest.test {", "status.vmtest.test {", "reverse_proxy uptime-kuma:3001"} {
		if !strings.Contains(caddy, want) {
			t.Errorf("the VM's Caddyfile lacks %q:\n%s", want, caddy)
		}
	}
	if generated := fileIn(t, parts[0], "/etc/nassella/proxy/Caddyfile"); generated == "" || strings.Contains(generated, "local_certs") {
		t.Errorf("the generator's Caddyfile must stay as for a real site:\n%s", generated)
	}
	if got := fileIn(t, final, "/etc/nassella/volume.env"); got != "NASSELLA_DATA_DEVICE=/dev/disk/by-id/virtio-nassella-data\n" {
		t.Errorf("volume.env = %q", got)
	}
	if got := fileIn(t, final, "/etc/nassella/outside.env"); !strings.Contains(got, "RESTIC_PASSWORD=") {
		t.Errorf("outside.env = %q", got)
	}
	hostKey, err := ssh.ParsePrivateKey([]byte(fileIn(t, final, "/etc/ssh/ssh_host_ed25519_key")))
	if err != nil || !bytes.Equal(hostKey.PublicKey().Marshal(), keys.Host.PublicKey().Marshal()) {
		t.Errorf("the host key is not the run's: %v", err)
	}
	var core []string
	for _, u := range final.Passwd.Users {
		if u.Name == "core" {
			for _, k := range u.SSHAuthorizedKeys {
				core = append(core, string(k))
			}
		}
	}
	if !strings.Contains(strings.Join(core, "\n"), strings.Fields(keys.AuthorizedKey())[1]) {
		t.Errorf("core's keys %v lack the run's key", core)
	}
	if fileIn(t, final, "/etc/hostname") != "vmtest-0123abcd\n" {
		t.Errorf("hostname %q", fileIn(t, final, "/etc/hostname"))
	}
	targets := ts.Targets()
	if len(targets) != 2 || targets[0].App != "uptime-kuma" || targets[0].Host != "status.vmtest.test" || targets[1].Status == 0 {
		t.Errorf("targets %+v", targets)
	}
}

func TestSiteYAMLWithBackupTargetLoads(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	y := SiteYAML(catalog.Embedded().Names(), keys.AuthorizedKey(), SiteOptions{Name: "vmtest-ffffffff",
		Backup: &BackupTarget{Endpoint: "https://s3.example.org", Bucket: "vmtest", Region: "eu-central"}})
	l, err := site.Load("site.yaml", y, catalog.Embedded())
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if l.Backups.Target.S3.Region != "eu-central" || len(l.Apps) != len(catalog.Embedded().Apps) {
		t.Errorf("%+v", l.Backups.Target.S3)
	}
}

func TestInternalCANeedsGlobalOptions(t *testing.T) {
	if _, err := InternalCA([]byte("# header\nexample.test {\n\trespond 200\n}\n")); err == nil || !strings.Contains(err.Error(), "global options") {
		t.Errorf("err = %v", err)
	}
	got, err := InternalCA([]byte("# header\n\n{\n\temail a@b.test\n}\n"))
	if err != nil || !strings.HasPrefix(string(got), "# header\n\n{\n\t# nassella vmtest") || !strings.HasSuffix(string(got), "\temail a@b.test\n}\n") {
		t.Errorf("%q, %v", got, err)
	}
}

// WaitHealthy reaches app hosts through one forwarded address with the VM's CA: a real
// HTTPS server on 127.0.0.1 with its own CA stands in for Caddy.
func TestWaitHealthyThroughOneAddress(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host + r.URL.Path {
		case "status.vmtest.test/api/entry-page":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}), "status.vmtest.test", "vault.vmtest.test")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	kuma := health.Target{App: "uptime-kuma", Host: "status.vmtest.test", Path: "/api/entry-page", Status: 200}
	vault := health.Target{App: "vaultwarden", Host: "vault.vmtest.test", Path: "/alive", Status: 200}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := WaitHealthy(ctx, addr, ca.Pool, []health.Target{kuma}, nil); err != nil {
		t.Fatal(err)
	}
	short, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer scancel()
	err = WaitHealthy(short, addr, ca.Pool, []health.Target{kuma, vault}, nil)
	if err == nil || !strings.Contains(err.Error(), "vaultwarden: GET https://vault.vmtest.test/alive: answered 502, expected 200") || strings.Contains(err.Error(), "uptime-kuma") {
		t.Errorf("err = %v", err)
	}
	// Another CA (a VM whose root was not read) is not trusted.
	other, _ := testca.New()
	short2, scancel2 := context.WithTimeout(ctx, time.Second)
	defer scancel2()
	if err := WaitHealthy(short2, addr, other.Pool, []health.Target{kuma}, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: %v", err)
	}
}
