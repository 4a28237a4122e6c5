// Package standin builds, without Docker and without pulling anything, every container image
// a generated site runs, for the rehearsal (issue 14): one `docker load` tarball holding each
// image under the reference the site's compose files and backup settings name.
//
// Caddy and restic are the real programs at the catalog's versions (built from their Go
// modules by .ci/tools-images.sh), packaged like their upstream images. Every app service is
// a STAND-IN, not the app: one small Go program (cmd/nassella-standin) that marks the
// container's data folders, answers the app's health path on the app's port and plays the
// tools the host runs in the container (health checks, backup hooks). Busybox (Debian's
// static build) gives every image /bin/sh and the usual commands, as Alpine does.
//
// A catalog image pinned by digest is referenced as name:tag@digest; an image built here
// cannot have the registry's digest, so its name:tag is what the tarball holds, and a site
// rehearsed with it is generated with the digests dropped.
package standin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	imgtar "github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nassella/nassella/catalog"
)

// Environment that points Build at the programs it packages (.ci/tools-images.sh prints it).
const (
	EnvCaddy  = "NASSELLA_CADDY_BIN"
	EnvRestic = "NASSELLA_RESTIC_BIN"
	Script    = ".ci/tools-images.sh"
)

// Host files every image gets: busybox for the shell and commands (it must be static: the
// images have no C library), and the host's CA certificates.
var (
	busyboxPath = "/bin/busybox"
	certsPath   = "/etc/ssl/certs/ca-certificates.crt"
)

// format changes whenever Build lays images out differently, so cached tarballs are rebuilt.
const format = "1"

// Build writes one docker-load tarball holding every image a site of rel with apps runs
// and returns its path and the references in it, sorted. dir caches it (same inputs →
// reused). The references are name:tag, without any digest (see the package comment).
func Build(ctx context.Context, rel *catalog.Release, apps []string, dir string) (tarball string, refs []string, err error) {
	in, err := gatherInputs(ctx, rel, dir)
	if err != nil {
		return "", nil, err
	}
	images, err := plan(rel, apps, in.progs)
	if err != nil {
		return "", nil, err
	}
	for _, img := range images {
		refs = append(refs, img.Ref)
	}
	key := sha256.New()
	plan, _ := json.Marshal(images)
	fmt.Fprintf(key, "format %s\nplan %s\n", format, plan)
	for _, f := range []string{in.caddy, in.restic, in.standin, busyboxPath, certsPath} {
		sum, err := fileSHA256(f)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(key, "%s\n", sum)
	}
	out := filepath.Join(dir, "images-"+hex.EncodeToString(key.Sum(nil))[:16]+".tar")
	if _, err := os.Stat(out); err == nil {
		return out, refs, nil
	}
	byRef := map[name.Reference]v1.Image{}
	l, err := newLayers(in)
	if err != nil {
		return "", nil, err
	}
	for _, img := range images {
		r, err := name.ParseReference(img.Ref)
		if err != nil {
			return "", nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		if byRef[r], err = l.image(img, rel); err != nil {
			return "", nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
	}
	tmp, err := tempName(out)
	if err != nil {
		return "", nil, err
	}
	if err := imgtar.MultiRefWriteToFile(tmp, byRef); err != nil {
		os.Remove(tmp)
		return "", nil, fmt.Errorf("writing %s: %w", out, err)
	}
	return out, refs, os.Rename(tmp, out)
}

// tempName is a new file beside out, renamed to out when complete: tests building the same
// thing at the same time each write their own.
func tempName(out string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// inputs are the files Build packages.
type inputs struct {
	caddy, restic, standin string
	progs                  programs
}

func gatherInputs(ctx context.Context, rel *catalog.Release, dir string) (inputs, error) {
	var in inputs
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return in, err
	}
	for _, t := range []struct {
		env  string
		dst  *string
		img  catalog.Image
		args []string
		want string // the version line starts with it, then the version
	}{
		{EnvCaddy, &in.caddy, rel.Proxy, []string{"version"}, "v"},
		{EnvRestic, &in.restic, rel.Backup, []string{"version"}, "restic "},
	} {
		*t.dst = os.Getenv(t.env)
		if *t.dst == "" {
			return in, fmt.Errorf("%s is not set: run eval \"$(%s)\" first", t.env, Script)
		}
		v, err := tagVersion(t.img)
		if err != nil {
			return in, err
		}
		out, err := exec.CommandContext(ctx, *t.dst, t.args...).Output()
		if err != nil {
			return in, fmt.Errorf("%s=%s: %s %s: %w", t.env, *t.dst, *t.dst, t.args[0], err)
		}
		if got := string(out); !strings.HasPrefix(got, t.want+v+" ") {
			return in, fmt.Errorf("%s=%s is %q, not version %s of the catalog's %s: run %s again",
				t.env, *t.dst, strings.TrimSpace(strings.SplitN(got, "\n", 2)[0]), v, ref(t.img), Script)
		}
	}
	if err := checkStatic(busyboxPath); err != nil {
		return in, fmt.Errorf("%w (Debian's busybox-static has it; .ci/tools-vm.sh installs it)", err)
	}
	out, err := exec.CommandContext(ctx, busyboxPath, "--list-full").Output()
	if err != nil {
		return in, fmt.Errorf("%s --list-full: %w", busyboxPath, err)
	}
	in.progs = programs{tools: map[string]bool{}, applets: map[string]bool{}}
	for _, a := range strings.Fields(string(out)) {
		in.progs.applets[a] = true
	}
	if in.standin, err = Program(ctx, dir); err != nil {
		return in, err
	}
	out, err = exec.CommandContext(ctx, in.standin, "-list-tools").Output()
	if err != nil {
		return in, fmt.Errorf("%s -list-tools: %w", in.standin, err)
	}
	for _, t := range strings.Fields(string(out)) {
		in.progs.tools[t] = true
	}
	return in, nil
}

var semverRe = regexp.MustCompile(`[0-9]+\.[0-9]+\.[0-9]+`)

// tagVersion is the program version in an image tag: the versioning policy's version group
// (2.10.2-alpine → 2.10.2), or the first x.y.z in the tag.
func tagVersion(img catalog.Image) (string, error) {
	if img.Versioning != nil {
		if v, _, ok := img.Versioning.Match(img.Tag); ok {
			return v, nil
		}
	}
	if v := semverRe.FindString(img.Tag); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s: no version x.y.z in the tag", ref(img))
}

// Program builds the stand-in program (static, linux/amd64) into dir, once per content of
// its source, and returns its path.
func Program(ctx context.Context, dir string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("standin: cannot find its own source folder")
	}
	src := filepath.Join(filepath.Dir(file), "cmd", "nassella-standin")
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("standin: no Go files in %s (%v)", src, err)
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(data))
		h.Write(data)
	}
	// Named as itself: run under another name, it is that tool.
	out := filepath.Join(dir, "nassella-standin-"+hex.EncodeToString(h.Sum(nil))[:16], "nassella-standin")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp, err := tempName(out)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building the stand-in program in %s: %w\n%s", src, err, b)
	}
	return out, os.Rename(tmp, out)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
