package vmtest

import (
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ImageSource is the Flatcar QEMU image to boot: a local file or an http(s) URL, with the
// checksum published beside it (Flatcar's .DIGESTS file). Files ending in .bz2 are
// unpacked. Downloads are kept in CacheDir under their checksum.
type ImageSource struct {
	Ref      string // path or URL of flatcar_production_qemu_image.img[.bz2]
	SHA512   string // hex; one of SHA512 and SHA256 is required for a URL
	SHA256   string // hex
	CacheDir string // where downloads are kept; required for a URL or a .bz2 file
	Client   *http.Client
	Log      io.Writer // progress; may be nil
}

// DefaultCacheDir is ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/vmtest.
func DefaultCacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "nassella", "vmtest")
}

func (s ImageSource) checksum() (algo, want string, h hash.Hash, err error) {
	switch {
	case s.SHA512 != "" && s.SHA256 != "":
		return "", "", nil, errors.New("image: give one checksum, sha512 or sha256")
	case s.SHA512 != "":
		algo, want, h = "sha512", strings.ToLower(strings.TrimSpace(s.SHA512)), sha512.New()
	case s.SHA256 != "":
		algo, want, h = "sha256", strings.ToLower(strings.TrimSpace(s.SHA256)), sha256.New()
	default:
		return "", "", nil, nil
	}
	if _, err := hex.DecodeString(want); err != nil || len(want) != 2*h.Size() {
		return "", "", nil, fmt.Errorf("image: the %s checksum %q is not %d hex digits", algo, want, 2*h.Size())
	}
	return algo, want, h, nil
}

// Fetch returns the path of the verified, unpacked image.
func (s ImageSource) Fetch(ctx context.Context) (string, error) {
	algo, want, h, err := s.checksum()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s.Ref)
	remote := err == nil && (u.Scheme == "http" || u.Scheme == "https")
	packed := strings.HasSuffix(strings.TrimSuffix(s.Ref, "/"), ".bz2")
	if remote && h == nil {
		return "", fmt.Errorf("image: %s is a download and needs its checksum: give the SHA512 from the image's .DIGESTS file", s.Ref)
	}
	if !remote && !packed {
		if h != nil {
			if err := verifyFile(s.Ref, algo, want, h); err != nil {
				return "", err
			}
		} else if _, err := os.Stat(s.Ref); err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		return s.Ref, nil
	}
	if s.CacheDir == "" {
		return "", errors.New("image: no cache folder for the download")
	}
	if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	key := "local"
	if h != nil {
		key = algo + "-" + want[:32]
	} else {
		sum := sha256.Sum256([]byte(s.Ref))
		key = "path-" + hex.EncodeToString(sum[:16])
	}
	final := filepath.Join(s.CacheDir, "flatcar-"+key+".img")
	if _, err := os.Stat(final); err == nil && h != nil {
		s.logf("image: %s cached as %s", s.Ref, final)
		return final, nil
	}

	var src io.Reader
	if remote {
		s.logf("image: downloading %s", s.Ref)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Ref, nil)
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		c := s.Client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", fmt.Errorf("image: downloading %s: %w", s.Ref, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("image: downloading %s: %s", s.Ref, resp.Status)
		}
		src = resp.Body
	} else {
		f, err := os.Open(s.Ref)
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		defer f.Close()
		src = f
	}

	// Keep the file as published while hashing it, then unpack; rename into place last.
	tmp, err := os.CreateTemp(s.CacheDir, "download-*")
	if err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := io.Writer(tmp)
	if h != nil {
		w = io.MultiWriter(tmp, h)
	}
	if _, err := io.Copy(w, contextReader{ctx, src}); err != nil {
		return "", fmt.Errorf("image: reading %s: %w", s.Ref, err)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return "", fmt.Errorf("image: %s has %s %s, expected %s: the download is damaged or not the published image; nothing was kept", s.Ref, algo, got, want)
		}
	}
	out := tmp
	if packed {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		out, err = os.CreateTemp(s.CacheDir, "unpack-*")
		if err != nil {
			return "", fmt.Errorf("image cache: %w", err)
		}
		defer os.Remove(out.Name())
		defer out.Close()
		s.logf("image: unpacking %s", filepath.Base(s.Ref))
		if _, err := io.Copy(out, contextReader{ctx, bzip2.NewReader(tmp)}); err != nil {
			return "", fmt.Errorf("image: unpacking %s: %w", s.Ref, err)
		}
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	if err := os.Rename(out.Name(), final); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	return final, nil
}

func (s ImageSource) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

func verifyFile(path, algo, want string, h hash.Hash) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("image: reading %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("image: %s has %s %s, expected %s: not the published image", path, algo, got, want)
	}
	return nil
}

// contextReader stops a long copy when ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
