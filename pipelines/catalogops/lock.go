package catalogops

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nassella/nassella/catalog"
)

// Locked is one image of the catalog and the digest its tag points at now.
type Locked struct {
	Where      string // "app/service", or a HostImage's Where ("proxy/caddy")
	Image, Tag string
	Digest     string
	Was        string // the digest recorded before; "" when it was unpinned
	Index      bool   // a multi-platform index rather than a single image
	Err        error
}

// Changed reports whether the recorded digest moves.
func (l Locked) Changed() bool { return l.Err == nil && l.Digest != l.Was }

// LockResult is what Lock found and wrote.
type LockResult struct {
	Images         []Locked // host images first, then apps by name and services by name
	ComposeVersion string
	Compose        string // the sysext's sha512
	ComposeWas     string
	ComposeErr     error
	ComposeSkipped bool
	Files          []string // the files rewritten, relative to the catalog folder
}

// LockOptions says where Lock reads from.
type LockOptions struct {
	Registry Registry
	// HTTP downloads the compose sysext to hash it; nil means a client with a 10-minute
	// timeout.
	HTTP *http.Client
	// SkipCompose leaves compose.sha512 as it is.
	SkipCompose bool
}

// Lock records in the catalog folder dir the digest every tag points at now — the
// multi-platform index of each service image and of the host images (proxy, backup) —
// and the sha512 of the
// compose sysext. Digests are read again even when recorded, so a tag edited by hand or
// re-pushed upstream is caught. Values that resolved are written even when others did
// not; the error then names every one that failed.
func Lock(ctx context.Context, dir string, opts LockOptions) (LockResult, error) {
	cat, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		return LockResult{}, fmt.Errorf("catalog %s:\n%w", dir, err)
	}
	var res LockResult
	resolved := map[string]Locked{} // by image:tag; the same postgres runs in many apps
	lock := func(where string, img catalog.Image) Locked {
		l, ok := resolved[img.Image+":"+img.Tag]
		if !ok {
			d, err := opts.Registry.Resolve(ctx, img.Image, img.Tag)
			l = Locked{Image: img.Image, Tag: img.Tag, Digest: d.Digest, Index: d.IsIndex(), Err: err}
			resolved[img.Image+":"+img.Tag] = l
		}
		l.Where, l.Was = where, img.Digest
		res.Images = append(res.Images, l)
		return l
	}

	edits := map[string]map[string]string{} // file → path → value
	set := func(file, path, value string) {
		if edits[file] == nil {
			edits[file] = map[string]string{}
		}
		edits[file][path] = value
	}
	for _, h := range HostImages(cat) {
		if l := lock(h.Where, h.Image); l.Changed() {
			set("release.yaml", h.Name+".digest", l.Digest)
		}
	}
	for _, name := range cat.Names() {
		a := cat.Apps[name]
		for _, sn := range a.ServiceNames() {
			if l := lock(name+"/"+sn, a.Services[sn].Image); l.Changed() {
				set(cat.Files[name], "services."+sn+".digest", l.Digest)
			}
		}
	}
	res.ComposeWas, res.ComposeVersion = cat.Compose.SHA512, cat.Compose.Version
	if opts.SkipCompose {
		res.ComposeSkipped = true
		res.Compose = cat.Compose.SHA512
	} else {
		res.Compose, res.ComposeErr = hashURL(ctx, opts.HTTP, cat.Compose.URL)
		if res.ComposeErr == nil && res.Compose != res.ComposeWas {
			set("release.yaml", "compose.sha512", res.Compose)
		}
	}

	for _, file := range sortedKeys(edits) {
		name := filepath.Join(dir, filepath.FromSlash(file))
		data, err := os.ReadFile(name)
		if err != nil {
			return res, err
		}
		out, err := SetScalars(file, data, edits[file])
		if err != nil {
			return res, err
		}
		if err := writeFile(name, out); err != nil {
			return res, err
		}
		res.Files = append(res.Files, file)
	}
	// What was written must still load: the same checks every other command makes.
	if _, err := catalog.Load(os.DirFS(dir)); err != nil {
		return res, fmt.Errorf("the locked catalog does not load; this is a bug in nassella:\n%w", err)
	}

	var failed []string
	for _, l := range res.Images {
		if l.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", l.Where, l.Err))
		}
	}
	if res.ComposeErr != nil {
		failed = append(failed, fmt.Sprintf("compose sysext: %v", res.ComposeErr))
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("could not pin %d of them; fix the cause and run nassella catalog lock again:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return res, nil
}

// hashURL downloads u and returns its sha512 in hex.
func hashURL(ctx context.Context, client *http.Client, u string) (string, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading %s: %s; check compose.url in release.yaml", u, resp.Status)
	}
	h := sha512.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", u, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("downloading %s: got %d of %d bytes", u, n, resp.ContentLength)
	}
	if n == 0 {
		return "", errors.New("downloading " + u + ": the file is empty")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
