package bootstrap

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
	"github.com/nassella/nassella/internal/syncbuf"
)

// imageSource is a verified image file, ready to stream.
type imageSource struct {
	path    string
	temp    bool // downloaded: removed by close
	version string
	written int64 // bytes written to the device, after a write
}

func (s *imageSource) close() {
	if s.temp {
		os.Remove(s.path)
	}
}

// prepareImage finds the image file (downloading it when given by URL) and checks its
// checksum and version before anything is created in the project.
func (r *runner) prepareImage(ctx context.Context) (*imageSource, error) {
	im := r.cfg.Image
	switch {
	case im.Path == "" && im.URL == "":
		return nil, errors.New("no Flatcar image was given to build one")
	case im.Path != "" && im.URL != "":
		return nil, errors.New("give the Flatcar image as a file or as a URL, not both")
	case im.Checksum == "":
		return nil, errors.New("the image's checksum was not given (it is verified before anything is written)")
	case im.Version == "":
		return nil, errors.New("the image's Flatcar version was not given (it labels the snapshot)")
	}
	if _, ok := parseVersion(im.Version); !ok {
		return nil, fmt.Errorf("the Flatcar version %q is not a version like 4230.2.3", im.Version)
	}
	if compareVersions(im.Version, r.cfg.Flatcar.MinVersion) < 0 {
		return nil, fmt.Errorf("the image's Flatcar %s is older than the catalog's min_version %s", im.Version, r.cfg.Flatcar.MinVersion)
	}
	if err := checkDevice(im.Device); err != nil {
		return nil, err
	}
	algo, want, err := parseChecksum(im.Checksum)
	if err != nil {
		return nil, err
	}
	src := &imageSource{path: im.Path, version: im.Version}
	if im.URL != "" {
		p, err := download(ctx, r.cfg.HTTPClient, im.URL)
		if err != nil {
			return nil, err
		}
		src.path, src.temp = p, true
	}
	f, err := os.Open(src.path)
	if err != nil {
		src.close()
		return nil, fmt.Errorf("reading the Flatcar image: %w", err)
	}
	defer f.Close()
	h := newHash(algo)
	if _, err := io.Copy(h, f); err != nil {
		src.close()
		return nil, fmt.Errorf("reading the Flatcar image: %w", err)
	}
	if got := h.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
		src.close()
		return nil, fmt.Errorf("the Flatcar image's %s is %s, not the expected %s: the file is damaged or not the one published; download it again",
			algo, hex.EncodeToString(got), hex.EncodeToString(want))
	}
	return src, nil
}

// checkDevice accepts an absolute path of plain characters, so it can go into the
// remote command unquoted-safe (it is quoted anyway).
var devicePath = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)

func checkDevice(dev string) error {
	if !devicePath.MatchString(dev) || strings.Contains(dev, "..") {
		return fmt.Errorf("the device %q is not an absolute path of letters, digits, dots, dashes and slashes", dev)
	}
	return nil
}

func parseChecksum(s string) (algo string, sum []byte, err error) {
	algo, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		h, algo = algo, ""
	}
	h = strings.ToLower(h)
	sum, err = hex.DecodeString(h)
	if err != nil {
		return "", nil, errors.New("the checksum is not hexadecimal (give sha512:HEX or sha256:HEX)")
	}
	switch {
	case algo == "" && len(sum) == sha512.Size, algo == "sha512" && len(sum) == sha512.Size:
		return "sha512", sum, nil
	case algo == "" && len(sum) == sha256.Size, algo == "sha256" && len(sum) == sha256.Size:
		return "sha256", sum, nil
	}
	return "", nil, errors.New("the checksum must be sha512:HEX (128 digits) or sha256:HEX (64 digits)")
}

func newHash(algo string) hash.Hash {
	if algo == "sha512" {
		return sha512.New()
	}
	return sha256.New()
}

// download fetches url into a temporary file.
func download(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("the Flatcar image URL: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading the Flatcar image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading the Flatcar image: %s answered %s", url, resp.Status)
	}
	f, err := os.CreateTemp("", "nassella-flatcar-*.img")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("downloading the Flatcar image: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// raw opens the image's disk bytes: bzip2 files (as Flatcar publishes them) are
// decompressed on the way.
func (s *imageSource) raw() (io.Reader, io.Closer, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(3)
	if bytes.Equal(magic, []byte("BZh")) {
		return bzip2.NewReader(br), f, nil
	}
	return br, f, nil
}

var ddBytes = regexp.MustCompile(`(?m)^(\d+) bytes`)

// writeImage streams the image's disk bytes over SSH into dd on the rescue system, then
// checks that dd wrote every byte and that the device holds them (read back and hashed).
func (r *runner) writeImage(ctx context.Context, addr string, signer ssh.Signer, src *imageSource) error {
	im := r.cfg.Image
	hk := sshx.Verified(im.HostKey)
	if im.HostKey == nil {
		// The one unpinned SSH login of nassella, on purpose: the rescue system makes a new
		// host key at every boot and the API does not tell it. A man in the middle gains
		// nothing: the login uses this run's own key (no reusable secret), only the public
		// Flatcar image crosses, checksummed before and read back and hashed after, and no
		// site secret is sent. The fingerprint is printed for the record.
		hk = sshx.TrustOnFirstUse(func(fp string) {
			r.report(Step{Name: "rescue system", Status: Done, Detail: "connected; its host key is " + fp})
		})
	}
	client, err := sshx.Dial(ctx, addr, sshx.Config{User: im.RescueUser, Signer: signer, HostKey: hk, Timeout: 15 * time.Second, Wait: im.SSHWait})
	if err != nil {
		if ctx.Err() == nil && strings.Contains(err.Error(), "unable to authenticate") {
			err = fmt.Errorf("%w (the rescue system did not take the run's key)", err)
		}
		return fmt.Errorf("reaching the rescue system over SSH at %s: %w", addr, err)
	}
	defer client.Close()

	raw, closer, err := src.raw()
	if err != nil {
		return err
	}
	defer closer.Close()
	sum := sha256.New()
	counted := &countingReader{r: io.TeeReader(raw, sum)}
	dev := sshx.Quote(im.Device)
	// One writer for both streams, locked: the session copies them from two goroutines.
	var dd syncbuf.Buffer
	err = client.Stream(ctx, "dd of="+dev+" bs=4M conv=fsync", counted, &dd, &dd)
	out := dd.String()
	if ctx.Err() != nil {
		return fmt.Errorf("writing the image: interrupted: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("writing the image to %s: %v: %s", im.Device, err, strings.TrimSpace(out))
	}
	if counted.err != nil {
		return fmt.Errorf("reading the image: %w (the file may be truncated: download it again)", counted.err)
	}
	m := ddBytes.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("dd did not say how many bytes it wrote: %s", strings.TrimSpace(out))
	}
	if n, _ := strconv.ParseInt(m[1], 10, 64); n != counted.n {
		return fmt.Errorf("dd wrote %d bytes of the image's %d to %s", n, counted.n, im.Device)
	}
	want := hex.EncodeToString(sum.Sum(nil))
	res, err := client.Run(ctx, fmt.Sprintf("head -c %d %s | sha256sum", counted.n, dev))
	out = string(res.Combined)
	if err != nil {
		return fmt.Errorf("reading the written image back: %v: %s", err, strings.TrimSpace(out))
	}
	if got := strings.Fields(out); len(got) == 0 || got[0] != want {
		return fmt.Errorf("the image read back from %s differs from what was sent (sha256 %s, sent %s): the disk did not take it; run again", im.Device, strings.TrimSpace(out), want)
	}
	src.written = counted.n
	return nil
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
