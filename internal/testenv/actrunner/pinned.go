package actrunner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/registry"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// PinnedCatalog is a copy of the checkout's catalog with every image and the compose
// sysext pinned by the real nassella catalog lock code, as a co-op maintainer pins a
// release before it ships: nassella plan builds no server from a release that is not.
//
// No registry and no sysext bakery can be reached here, so stand-ins answer the lock:
// each image:tag resolves to a digest made from its own name and the sysext's address
// serves a few stand-in bytes. The digests name nothing that exists; a job that plans
// never pulls.
func PinnedCatalog(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(t.TempDir(), "catalog")
	if err := copyTree(filepath.Join(filepath.Dir(file), "..", "..", "..", "catalog"), dir, nil); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	sysext := cat.Compose.URL
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.URL.String() != sysext {
			return nil, errors.New("the stand-in sysext bakery serves only " + sysext)
		}
		body := "a stand-in for " + sysext + "\n"
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", ContentLength: int64(len(body)),
			Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}, Request: r}, nil
	})}
	if _, err := catalogops.Lock(context.Background(), dir, catalogops.LockOptions{Registry: standInRegistry{}, HTTP: client}); err != nil {
		t.Fatalf("pinning the catalog copy: %v", err)
	}
	return dir
}

// standInRegistry resolves every tag to an OCI index whose digest is made from its name.
type standInRegistry struct{}

func (standInRegistry) Tags(context.Context, string) ([]string, error) {
	return nil, errors.New("the stand-in registry lists no tags")
}

func (standInRegistry) Resolve(_ context.Context, image, tag string) (registry.Descriptor, error) {
	sum := sha256.Sum256([]byte(image + ":" + tag))
	return registry.Descriptor{Digest: "sha256:" + hex.EncodeToString(sum[:]), MediaType: registry.MediaOCIIndex, Size: 1024}, nil
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// moduleWithCatalog copies the module at root (without .git) with the catalog folder cat
// in place of its own, for ci-images/build.sh to build a nassella that carries it.
func moduleWithCatalog(t testing.TB, root, cat string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "module")
	skip := map[string]bool{".git": true, "catalog": true}
	if err := copyTree(root, dst, skip); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(cat, filepath.Join(dst, "catalog"), nil); err != nil {
		t.Fatal(err)
	}
	// The catalog package's Go files are the checkout's; only its data is the copy's.
	gos, _ := filepath.Glob(filepath.Join(root, "catalog", "*.go"))
	for _, g := range gos {
		if err := copyFile(g, filepath.Join(dst, "catalog", filepath.Base(g))); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// copyTree copies the regular files and folders under src to dst, leaving out the
// top-level entries named in skip; symlinks are refused (the module has none).
func copyTree(src, dst string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, out)
		default:
			return errors.New(p + ": not a regular file or folder")
		}
	})
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, fi.Mode().Perm())
}
