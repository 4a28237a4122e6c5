package standin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nassella/nassella/catalog"
)

// entry is one file, folder or symbolic link of a layer.
type entry struct {
	mode int64 // permission bits, with the sticky bit for /tmp
	dir  bool
	link string // symbolic link target
	data []byte
}

// layer is a folder tree, keyed by path relative to / ("usr/bin/caddy"); err keeps the
// first failure to read a host file, which build returns.
type layer struct {
	entries map[string]entry
	err     error
}

func newLayer() *layer { return &layer{entries: map[string]entry{}} }

func (l *layer) file(p string, mode int64, data []byte) { l.entries[p] = entry{mode: mode, data: data} }
func (l *layer) dir(p string, mode int64)               { l.entries[p] = entry{mode: mode, dir: true} }
func (l *layer) symlink(p, target string)               { l.entries[p] = entry{mode: 0o777, link: target} }

// hostFile adds a file of this machine.
func (l *layer) hostFile(p, src string, mode int64) {
	data, err := os.ReadFile(src)
	if err != nil && l.err == nil {
		l.err = err
	}
	l.file(p, mode, data)
}

// build writes the tree as a gzipped tar, the same bytes for the same tree: sorted, parents
// first (made 0755 when not given), no times, owned by root.
func (l *layer) build() (v1.Layer, error) {
	if l.err != nil {
		return nil, l.err
	}
	for p := range l.entries {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := l.entries[d]; !ok {
				l.dir(d, 0o755)
			}
		}
	}
	paths := make([]string, 0, len(l.entries))
	for p := range l.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, p := range paths {
		e := l.entries[p]
		h := &tar.Header{Name: p, Mode: e.mode, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, p+"/"
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// layers are the layers images share.
type layers struct {
	base, caddy, restic, standin v1.Layer
}

// Alpine's PATH, which the upstream images inherit.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const standinBin = "/usr/local/bin/nassella-standin"

func newLayers(in inputs) (*layers, error) {
	base := newLayer()
	base.hostFile("bin/busybox", busyboxPath, 0o755)
	for a := range in.progs.applets {
		if a != "bin/busybox" {
			base.symlink(a, "/bin/busybox")
		}
	}
	base.hostFile(strings.TrimPrefix(certsPath, "/"), certsPath, 0o644)
	base.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	base.file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	base.dir("tmp", 0o1777)
	base.dir("root", 0o700)
	base.dir("run", 0o755)
	base.dir("usr/local/bin", 0o755)

	// As the upstream image (caddyserver/caddy-docker 2.10/alpine/Dockerfile at 695d872 and
	// 2.11/alpine/Dockerfile at 62d1326, alike): the binary in /usr/bin, config and data folders any user may write, a default
	// Caddyfile serving a welcome page from /usr/share/caddy on :80 (upstream's come from
	// caddyserver/dist; these are nassella's own, and a site's Caddyfile replaces it), /srv.
	caddy := newLayer()
	caddy.hostFile("usr/bin/caddy", in.caddy, 0o755)
	caddy.file("etc/caddy/Caddyfile", 0o644, []byte(":80 {\n\troot * /usr/share/caddy\n\tfile_server\n}\n"))
	caddy.file("usr/share/caddy/index.html", 0o644, []byte("<!DOCTYPE html>\n<title>Caddy works</title>\n<p>Caddy works: nassella's rehearsal image of Caddy.</p>\n"))
	caddy.dir("config/caddy", 0o1777)
	caddy.dir("data/caddy", 0o1777)
	caddy.dir("srv", 0o755)

	// As restic's image (restic/restic docker/Dockerfile.release, v0.18.1 and v0.19.1): the
	// binary in /usr/bin. Of what it installs with apk, the host's backup (site-template/host/
	// nassella-backup.sh: restic to S3 over HTTPS) needs only ca-certificates, in the base.
	restic := newLayer()
	restic.hostFile("usr/bin/restic", in.restic, 0o755)
	standin := newLayer()
	standin.hostFile(strings.TrimPrefix(standinBin, "/"), in.standin, 0o755)
	var l layers
	var err error
	for _, b := range []struct {
		dst *v1.Layer
		src *layer
	}{{&l.base, base}, {&l.caddy, caddy}, {&l.restic, restic}, {&l.standin, standin}} {
		if *b.dst, err = b.src.build(); err != nil {
			return nil, err
		}
	}
	return &l, nil
}

// image builds img from the shared layers and its configuration.
func (l *layers) image(img image, rel *catalog.Release) (v1.Image, error) {
	cfg := v1.Config{Env: []string{pathEnv}, WorkingDir: "/", Labels: map[string]string{}}
	add := []v1.Layer{l.base}
	switch img.Kind {
	case kindCaddy:
		v, err := tagVersion(rel.Proxy)
		if err != nil {
			return nil, err
		}
		add = append(add, l.caddy)
		// caddyserver/caddy-docker 2.10/alpine/Dockerfile: ENV, LABEL, EXPOSE, WORKDIR, CMD.
		cfg.Env = append(cfg.Env, "CADDY_VERSION=v"+v, "XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data")
		cfg.Cmd = []string{"caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"}
		cfg.WorkingDir = "/srv"
		cfg.ExposedPorts = map[string]struct{}{"80/tcp": {}, "443/tcp": {}, "443/udp": {}, "2019/tcp": {}}
		cfg.Labels["org.opencontainers.image.version"] = "v" + v
		cfg.Labels["org.opencontainers.image.title"] = "Caddy"
		cfg.Labels["org.opencontainers.image.source"] = "https://github.com/caddyserver/caddy-docker"
	case kindRestic:
		add = append(add, l.restic)
		// restic/restic docker/Dockerfile.release: ENTRYPOINT ["/usr/bin/restic"] up to
		// 0.18; since 0.19 ["/entrypoint.sh"], which runs /usr/bin/restic with the same
		// arguments under nice -n $NICE (0) and, when IONICE_CLASS is set (it is empty),
		// ionice. The host passes only restic's arguments, so restic is the entrypoint here.
		cfg.Entrypoint = []string{"/usr/bin/restic"}
		cfg.Labels["org.opencontainers.image.title"] = "restic"
	case kindStandin:
		add = append(add, l.standin)
		links := newLayer()
		for _, p := range img.Links {
			if p != standinBin {
				links.symlink(strings.TrimPrefix(p, "/"), standinBin)
			}
		}
		if len(links.entries) > 0 {
			ll, err := links.build()
			if err != nil {
				return nil, err
			}
			add = append(add, ll)
		}
		cfg.Entrypoint = []string{standinBin}
		cfg.Env = append(cfg.Env,
			"NASSELLA_STANDIN_FOR="+strings.Join(img.For, " "),
			"NASSELLA_STANDIN_IMAGE="+img.Ref,
			"NASSELLA_STANDIN_HTTP="+strings.Join(img.HTTP, " "),
			"NASSELLA_STANDIN_SERVE="+strings.Join(img.Serve, " "))
		if len(img.Mail) > 0 {
			cfg.Env = append(cfg.Env, mailVar(img.Mail))
		}
		cfg.ExposedPorts = map[string]struct{}{}
		for _, h := range img.HTTP {
			port, _, _ := strings.Cut(h, ":")
			cfg.ExposedPorts[port+"/tcp"] = struct{}{}
		}
		cfg.Labels["org.opencontainers.image.title"] = "nassella stand-in for " + strings.Join(img.For, ", ")
		cfg.Labels["org.opencontainers.image.description"] = "Not the app: nassella's rehearsal stand-in (internal/testenv/standin), under the app's image name"
	}
	cfg.Labels["org.nassella.rehearsal"] = img.Kind
	out, err := mutate.AppendLayers(empty.Image, add...)
	if err != nil {
		return nil, err
	}
	cf, err := out.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Config = "amd64", "linux", cfg
	return mutate.ConfigFile(out, cf)
}

// checkStatic fails unless path is a statically linked ELF executable.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically, not statically", path)
		}
	}
	return nil
}
