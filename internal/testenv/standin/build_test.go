package standin_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/golden"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// siteRefs generates a site with every app of rel and returns the image references its
// compose files and backup settings name.
func siteRefs(t *testing.T, rel *catalog.Release) []string {
	t.Helper()
	var apps strings.Builder
	for _, n := range rel.Names() {
		fmt.Fprintf(&apps, "  %s: {}\n", n)
	}
	yml := `version: 1
name: everything
domain: everything.example
admin:
  email: ops@everything.example
  ssh_keys:
    - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@everything"
provider:
  hetzner: { location: nbg1, server_type: cx53, volume_gb: 500 }
dns:
  hetzner: {}
apps:
` + apps.String() + `backups:
  schedule: "daily 01:00"
  keep: { daily: 7, weekly: 4, monthly: 6 }
  target:
    s3: { endpoint: "https://nbg1.your-objectstorage.com", bucket: everything-backups }
updates:
  channel: stable
  window: "Mon 02:00"
  timezone: UTC
`
	s, err := site.Load("site.yaml", []byte(yml), rel)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := generator.Generate(s, rel)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, p := range tree.Paths() {
		f, _ := tree.Get(p)
		switch {
		case path.Base(p) == "compose.yaml":
			var c struct {
				Services map[string]struct{ Image string } `yaml:"services"`
			}
			if err := yaml.Unmarshal(f.Data, &c); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for _, s := range c.Services {
				refs[s.Image] = true
			}
		case p == "host/butane.yaml":
			for _, line := range strings.Split(string(f.Data), "\n") {
				if _, r, ok := strings.Cut(line, "NASSELLA_RESTIC_IMAGE="); ok && !strings.Contains(r, "$") {
					refs[strings.TrimSpace(r)] = true
				}
			}
		}
	}
	out := make([]string, 0, len(refs))
	for r := range refs {
		out = append(out, r)
	}
	sort.Strings(out)
	if len(out) < 3 {
		t.Fatalf("found only %q in the generated site", out)
	}
	return out
}

// requireTools skips (or fails in CI) without the programs Build packages.
func requireTools(t *testing.T) {
	t.Helper()
	testtool.Require(t, standin.EnvCaddy, standin.Script)
	testtool.Require(t, standin.EnvRestic, standin.Script)
}

func TestBuildHoldsEveryImageOfASiteWithEveryApp(t *testing.T) {
	requireTools(t)
	rel := catalog.Embedded()
	want := siteRefs(t, rel)
	dir := t.TempDir()
	start := time.Now()
	tb, refs, err := standin.Build(context.Background(), rel, rel.Names(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if !slices.Equal(refs, want) {
		t.Errorf("Build's references differ from the generated site's\n got %q\nwant %q", refs, want)
	}
	start = time.Now()
	again, _, err := standin.Build(context.Background(), rel, rel.Names(), dir)
	if err != nil || again != tb {
		t.Fatalf("second Build: %s, %v; want the cached %s", again, err, tb)
	}
	fi, _ := os.Stat(tb)
	t.Logf("%d images, %.1f MB; built in %v, cached in %v", len(refs), float64(fi.Size())/1e6, cold.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	var summary strings.Builder
	for _, r := range want {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(tb, &tag)
		if err != nil {
			t.Errorf("%s: not in the tarball: %v", r, err)
			continue
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		checkConfig(t, rel, r, cf.Config)
		summary.WriteString(summarize(t, r, cf, img))
	}
	golden.File(t, "testdata/images.txt", []byte(summary.String()))
}

// checkConfig checks what the host relies on in each image's configuration.
func checkConfig(t *testing.T, rel *catalog.Release, ref string, c v1.Config) {
	t.Helper()
	env := strings.Join(c.Env, "\n")
	switch {
	case ref == rel.Proxy.Image+":"+rel.Proxy.Tag:
		if got := strings.Join(c.Cmd, " "); got != "caddy run --config /etc/caddy/Caddyfile --adapter caddyfile" || c.WorkingDir != "/srv" {
			t.Errorf("%s: command %q in %s, not Caddy's image's", ref, got, c.WorkingDir)
		}
		for _, e := range []string{"XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"} {
			if !slices.Contains(c.Env, e) {
				t.Errorf("%s: no %s in %q", ref, e, c.Env)
			}
		}
	case ref == rel.Backup.Image+":"+rel.Backup.Tag:
		if !slices.Equal(c.Entrypoint, []string{"/usr/bin/restic"}) {
			t.Errorf("%s: entrypoint %q, not restic's image's", ref, c.Entrypoint)
		}
	default:
		if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/nassella-standin"}) || !strings.Contains(env, "NASSELLA_STANDIN_FOR=") {
			t.Errorf("%s: not a stand-in: entrypoint %q, environment %q", ref, c.Entrypoint, c.Env)
		}
		for _, a := range rel.Apps {
			if s := a.Services[a.HTTP.Service]; s != nil && s.Image.Image+":"+s.Image.Tag == ref {
				if e := fmt.Sprintf("%d:%s=%d", a.HTTP.Port, a.Health.Path, a.Health.Status); !strings.Contains(env, e) {
					t.Errorf("%s: serves no %s (app %s): %q", ref, e, a.Name, c.Env)
				}
			}
		}
	}
}

// summarize is the golden text of one image: its configuration and the files of its layers
// but the first (busybox and CA certificates, the same in every image).
func summarize(t *testing.T, ref string, cf *v1.ConfigFile, img v1.Image) string {
	t.Helper()
	c := cf.Config
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n  platform: %s/%s\n  entrypoint: %q\n  cmd: %q\n  workdir: %s\n", ref, cf.OS, cf.Architecture, c.Entrypoint, c.Cmd, c.WorkingDir)
	for _, e := range c.Env {
		fmt.Fprintf(&b, "  env: %s\n", e)
	}
	var ports, labels []string
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	for k, v := range c.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(ports)
	sort.Strings(labels)
	fmt.Fprintf(&b, "  ports: %s\n", strings.Join(ports, " "))
	for _, l := range labels {
		fmt.Fprintf(&b, "  label: %s\n", l)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch h.Typeflag {
			case tar.TypeSymlink:
				fmt.Fprintf(&b, "  link /%s -> %s\n", h.Name, h.Linkname)
			case tar.TypeDir:
				fmt.Fprintf(&b, "  dir  /%s %04o\n", h.Name, h.Mode)
			default:
				fmt.Fprintf(&b, "  file /%s %04o\n", h.Name, h.Mode)
			}
		}
		rc.Close()
	}
	return b.String()
}
