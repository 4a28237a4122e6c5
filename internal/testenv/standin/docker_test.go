package standin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/standin"
)

// TestImagesInDocker loads the tarball into a real Docker daemon and runs what the host
// runs: Caddy's and restic's commands, a stand-in with its data folder bind-mounted (found
// in the container's own mountinfo), its health check and backup hook through docker exec,
// and a quick, clean stop.
func TestImagesInDocker(t *testing.T) {
	requireTools(t)
	data := t.TempDir()
	d := dockertest.Start(t, map[string]string{"/var/lib/nassella": data})
	rel := catalog.Embedded()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tb, _, err := standin.Build(ctx, rel, []string{"vaultwarden"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Load(ctx, tb); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, _, err := d.Run(ctx, nil, append([]string{"docker"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	caddy := rel.Proxy.Image + ":" + rel.Proxy.Tag
	if out := docker("run", "--rm", caddy, "caddy", "version"); !strings.HasPrefix(out, "v2.") {
		t.Errorf("caddy version: %q", out)
	}
	if out := docker("run", "--rm", rel.Backup.Image+":"+rel.Backup.Tag, "version"); !strings.HasPrefix(out, "restic "+rel.Backup.Tag+" ") {
		t.Errorf("restic version: %q", out)
	}

	vw := rel.Apps["vaultwarden"]
	img := vw.Services["server"].Image
	vol := "/var/lib/nassella/apps/vaultwarden/data"
	if err := os.MkdirAll(filepath.Join(data, "apps/vaultwarden/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	docker("run", "-d", "--name", "vw", "--security-opt", "no-new-privileges:true", "-v", vol+":/data", img.Image+":"+img.Tag)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, err := d.Run(ctx, nil, append([]string{"docker", "exec", "vw"}, vw.Services["server"].Healthcheck.Test[1:]...)...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the health check still fails after 30 s: %v\n%s", err, docker("logs", "vw"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	var m struct{ ID string }
	raw, err := os.ReadFile(filepath.Join(data, "apps/vaultwarden/data/.nassella-standin.json"))
	if err != nil || json.Unmarshal(raw, &m) != nil || m.ID == "" {
		t.Fatalf("no marker in the bind-mounted data folder: %v %s\n%s", err, raw, docker("logs", "vw"))
	}
	dump := docker(append([]string{"exec", "vw"}, vw.Backup.Hooks[0].Command...)...)
	if !strings.Contains(dump, "-- /data "+m.ID) {
		t.Errorf("the backup hook printed %q; want the marker %s of /data", dump, m.ID)
	}
	start := time.Now()
	docker("stop", "vw")
	if took, code := time.Since(start), strings.TrimSpace(docker("inspect", "--format", "{{.State.ExitCode}}", "vw")); took > 5*time.Second || code != "0" {
		t.Errorf("docker stop took %v, exit code %s; want a quick 0", took, code)
	}
}
