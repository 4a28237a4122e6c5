package vmtest

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// testdata/tiny.img.bz2 stands in for Flatcar's image: a few bytes starting with the qcow2
// magic, bzip2-compressed.
const tinyImage = "QFI\xfbnot really a qcow2 image, a vmtest fixture\n"

func TestFetchDownloadsVerifiesAndCaches(t *testing.T) {
	packed, err := os.ReadFile("testdata/tiny.img.bz2")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(packed)
	good := hex.EncodeToString(sum[:])
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stable/flatcar_production_qemu_image.img.bz2" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Write(packed)
	}))
	defer srv.Close()
	url := srv.URL + "/stable/flatcar_production_qemu_image.img.bz2"
	cache := t.TempDir()
	ctx := context.Background()

	src := ImageSource{Ref: url, SHA512: strings.ToUpper(good), CacheDir: cache}
	p, err := src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != tinyImage {
		t.Errorf("unpacked image = %q", data)
	}
	if f, err := imageFormat(p); err != nil || f != "qcow2" {
		t.Errorf("format %q, %v", f, err)
	}
	again, err := src.Fetch(ctx)
	if err != nil || again != p || hits.Load() != 1 {
		t.Errorf("second fetch: %s, %v, %d downloads; want the cached file and one download", again, err, hits.Load())
	}

	// A damaged download is refused and nothing is kept.
	other := t.TempDir()
	bad := strings.Repeat("0", 128)
	_, err = ImageSource{Ref: url, SHA512: bad, CacheDir: other}.Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "expected "+bad) || !strings.Contains(err.Error(), "nothing was kept") {
		t.Errorf("wrong checksum: %v", err)
	}
	if left, _ := os.ReadDir(other); len(left) != 0 {
		t.Errorf("files kept after a bad download: %v", left)
	}
	if _, err := (ImageSource{Ref: url, CacheDir: other}).Fetch(ctx); err == nil || !strings.Contains(err.Error(), ".DIGESTS") {
		t.Errorf("a URL without checksum: %v", err)
	}
	if _, err := (ImageSource{Ref: url, SHA512: "abc", CacheDir: other}).Fetch(ctx); err == nil || !strings.Contains(err.Error(), "128 hex digits") {
		t.Errorf("a short checksum: %v", err)
	}
	if _, err := (ImageSource{Ref: srv.URL + "/nope.img", SHA256: strings.Repeat("a", 64), CacheDir: other}).Fetch(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a missing image: %v", err)
	}
}

func TestFetchLocalFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "flatcar.img")
	if err := os.WriteFile(p, []byte(tinyImage), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tinyImage))
	got, err := ImageSource{Ref: p, SHA256: hex.EncodeToString(sum[:])}.Fetch(context.Background())
	if err != nil || got != p {
		t.Errorf("verified local file: %s, %v", got, err)
	}
	if got, err := (ImageSource{Ref: p}).Fetch(context.Background()); err != nil || got != p {
		t.Errorf("unverified local file: %s, %v", got, err)
	}
	if _, err := (ImageSource{Ref: p, SHA256: strings.Repeat("b", 64)}).Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "not the published image") {
		t.Errorf("wrong checksum: %v", err)
	}
	// A packed local file is unpacked into the cache.
	cache := t.TempDir()
	got, err = ImageSource{Ref: "testdata/tiny.img.bz2", CacheDir: cache}.Fetch(context.Background())
	if data, _ := os.ReadFile(got); err != nil || string(data) != tinyImage || !strings.HasPrefix(got, cache) {
		t.Errorf("packed local file: %s, %v", got, err)
	}
}
