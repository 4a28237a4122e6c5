package dockertest_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

const image = "nassella.invalid/dockertest/app:1"

// buildImage builds testdata/app statically and writes a `docker load` tarball of an
// image holding only /app, tagged image. Nothing is pulled.
func buildImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/app")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/app: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	// The platform, else dockerd warns that it does not match the host's.
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(image)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatal(err)
	}
	return out
}

// compose has what the site's compose files use: bind mounts of absolute host paths, a
// published port, a network alias, the journald log driver.
const compose = `name: dockertest
services:
  web:
    image: ` + image + `
    command: ["/app", "web", ":8080", "/data/web.txt"]
    ports:
      - 127.0.0.1:${WEB_PORT}:8080
    volumes:
      - /var/lib/nassella/dockertest/web:/data
    networks:
      - inner
    logging:
      driver: journald
      options:
        tag: web
  peer:
    image: ` + image + `
    command: ["/app", "peer", ":8080", "/data/peer.txt"]
    volumes:
      - /var/lib/nassella/dockertest/peer:/data
    networks:
      inner:
        aliases:
          - the-peer
networks:
  inner:
    name: dockertest-inner
`

func get(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			return string(body)
		}
		last = fmt.Errorf("%s: %s", resp.Status, body)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func TestComposeUpInThePrivateDaemon(t *testing.T) {
	began := time.Now()
	lib := t.TempDir()
	d := dockertest.Start(t, map[string]string{"/var/lib/nassella": lib})
	started := time.Now()
	img := buildImage(t)
	t.Logf("daemon started in %s, image built in %s", started.Sub(began).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := d.Load(ctx, img); err != nil {
		t.Fatal(err)
	}
	project := t.TempDir()
	file := filepath.Join(project, "compose.yaml")
	if err := os.WriteFile(file, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testtool.FreePort(t)
	env := []string{fmt.Sprintf("WEB_PORT=%d", port)}
	if _, _, err := d.Run(ctx, env, "docker", "compose", "--file", file, "up", "--detach", "--wait"); err != nil {
		t.Fatal(err)
	}

	t.Run("bind mounts land in the temp folder", func(t *testing.T) {
		for _, svc := range []string{"web", "peer"} {
			got, err := os.ReadFile(filepath.Join(lib, "dockertest", svc, svc+".txt"))
			if err != nil || string(got) != svc+"\n" {
				t.Errorf("%s's file in the bound folder: %q, %v", svc, got, err)
			}
		}
		if _, err := os.Stat("/var/lib/nassella/dockertest"); err == nil {
			t.Error("/var/lib/nassella/dockertest exists on the machine: the bind mount leaked")
		}
	})
	t.Run("published port answers on 127.0.0.1", func(t *testing.T) {
		if got := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "hello from web\n" {
			t.Errorf("web answered %q", got)
		}
	})
	t.Run("services reach each other by alias", func(t *testing.T) {
		if got := get(t, fmt.Sprintf("http://127.0.0.1:%d/fetch?url=http://the-peer:8080/", port)); got != "hello from peer\n" {
			t.Errorf("web fetching the-peer answered %q", got)
		}
	})
	t.Run("the journald log driver takes the logs", func(t *testing.T) {
		if got := d.Journal("web"); !strings.Contains(got, "web listening on :8080") {
			t.Errorf("journal of tag web: %q", got)
		}
	})
	t.Run("Run sees the binds and reaches the containers", func(t *testing.T) {
		out, _, err := d.Run(ctx, nil, "sh", "-c", "cat /var/lib/nassella/dockertest/peer/peer.txt && docker compose --file "+file+" exec -T peer /app -print exec")
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "peer\nexec\n" {
			t.Errorf("Run printed %q, want the peer's file and exec's output", out)
		}
	})
	t.Run("compose runs at the catalog's version", func(t *testing.T) {
		out, _, err := d.Run(ctx, nil, "docker", "compose", "version", "--short")
		if err != nil {
			t.Fatal(err)
		}
		want := catalog.Embedded().Compose.Version
		if v := strings.TrimSpace(string(out)); strings.TrimPrefix(v, "v") != want {
			t.Errorf("docker compose version --short = %q, want %s (catalog/release.yaml): rerun .ci/tools-docker.sh", v, want)
		}
	})

	if _, _, err := d.Run(ctx, env, "docker", "compose", "--file", file, "down"); err != nil {
		t.Fatal(err)
	}
	t.Logf("whole test until down: %s", time.Since(began).Round(time.Millisecond))
}
