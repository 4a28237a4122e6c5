// Package standinhost builds the rehearsal's stand-in for a nassella host: a disk and a
// kernel QEMU boots (pipelines/vmtest), provisioned by Ignition's own binary from a site's
// real Ignition. No Flatcar image can be downloaded where the rehearsal runs, so the host is
// the closest thing that can be built here: a Debian root filesystem
// (.ci/tools-hostimage.sh) set up like Flatcar's image where the host depends on it.
//
// What differs from Flatcar, and why:
//   - Debian's packages, not Flatcar's: systemd 252, Docker 20.10 (Flatcar ships newer ones),
//     Debian's kernel and initramfs-tools booted directly by QEMU (no bootloader, no A/B /usr
//     partitions, no update engine); the root is one read-write ext4 labelled ROOT.
//   - Ignition runs at build time on this machine against the unpacked root, stage by stage
//     as Flatcar's initramfs runs it at first boot, not inside the guest: Debian's initramfs
//     has no Ignition. So the guest's first boot starts with Ignition's files in place, and
//     systemd's first boot applies Ignition's presets as on Flatcar (machine-id
//     "uninitialized"). A failing Ignition fails Build instead of the boot.
//   - The Docker Compose sysext (a remote https file under /opt/extensions and its
//     /etc/extensions link) is dropped from the config before Ignition runs: extensions are
//     a Flatcar-only mechanism and nothing here reaches the internet. Compose is installed as
//     Docker's CLI plugin instead, built from the catalog's version.
//   - Images are not pulled: a unit loads the tarball Options.Images into Docker once Docker
//     runs, before any unit that runs docker compose.
//   - No cloud metadata (no afterburn, no coreos-metadata-sshkeys): the site's SSH keys come
//     from the Ignition config only.
//   - AppArmor is off (apparmor=0): Flatcar has none, Debian's kernel enables it and Docker
//     would then need its profiles.
package standinhost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nassella/nassella/pipelines/vmtest"
)

// Options are what one stand-in host is built from.
type Options struct {
	// Ignition is the VM's Ignition: vmtest.RenderSite's TestSite.Ignition, the generated
	// config merged with the apply-time files.
	Ignition []byte
	// ComposePlugin is the docker-compose CLI plugin binary (NASSELLA_COMPOSE_PLUGIN, from
	// .ci/tools-docker.sh); without it the host has no `docker compose`.
	ComposePlugin string
	// Images is a `docker load` tarball to have in the guest's Docker; may be empty.
	Images string
	// Dir is where the disk and the boot files are written.
	Dir string

	// IgnitionBinary and HostRoot are Ignition and the Debian root's tarball;
	// NASSELLA_IGNITION and NASSELLA_HOSTROOT (.ci/tools-hostimage.sh) when empty.
	IgnitionBinary, HostRoot string
	// Log receives Ignition's log and the build's steps; nil discards them.
	Log io.Writer
}

// Image is a built stand-in host: boot Kernel with Initrd and the command line Append, the
// root filesystem on Disk (qcow2). Use it copy-on-write (vmtest.Machine's Image): every
// boot is then a first boot.
type Image struct {
	Disk, Kernel, Initrd, Append string
}

// Machine is a vmtest machine booting the image: Debian's kernel, the disk as the boot disk.
func (i *Image) Machine() vmtest.Machine {
	return vmtest.Machine{Image: i.Disk, Kernel: i.Kernel, Initrd: i.Initrd, Append: i.Append}
}

// RootLabel is the root filesystem's label, Flatcar's.
const RootLabel = "ROOT"

// ImagesPath is where the guest finds Options.Images; ImagesUnit loads it into Docker.
const (
	ImagesPath = "/var/lib/nassella-standin/images.tar"
	ImagesUnit = "nassella-standin-images.service"
)

// CommandLine is the kernel command line: the serial console vmtest captures, the root by
// label, read-write from the start (Flatcar's initramfs mounts it so too), no AppArmor (see
// the package comment), and a panic powers the VM off instead of hanging the test.
const CommandLine = "console=ttyS0 root=LABEL=" + RootLabel + " rw apparmor=0 panic=-1"

// diskSize is the root disk's size: the root, the images Docker unpacks and room for the
// containers' writes. The file is sparse and the qcow2 holds only what was written.
const diskSize = 8 << 30

// Build makes the stand-in host's disk and boot files in o.Dir. It needs root (the root
// filesystem's files belong to several users), tar, zstd, mkfs.ext4 and qemu-img.
func Build(ctx context.Context, o Options) (*Image, error) {
	if o.Dir == "" {
		return nil, errors.New("standinhost: Options.Dir is empty")
	}
	ign, root := o.IgnitionBinary, o.HostRoot
	if ign == "" {
		ign = os.Getenv("NASSELLA_IGNITION")
	}
	if root == "" {
		root = os.Getenv("NASSELLA_HOSTROOT")
	}
	if ign == "" || root == "" {
		return nil, errors.New("standinhost: Ignition or the host root is not set; run eval \"$(.ci/tools-hostimage.sh)\" first (NASSELLA_IGNITION, NASSELLA_HOSTROOT)")
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	step := func(what string, start time.Time) {
		fmt.Fprintf(logw, "standinhost: %s in %.1fs\n", what, time.Since(start).Seconds())
	}

	// Ignition writes files in a user's home as that user (internal/exec/util/passwd.go
	// writeAuthKeysFile, as_user), so every folder above the root must let anyone through:
	// the system's temporary folder does, a test's t.TempDir (0700) does not.
	work, err := os.MkdirTemp("", "nassella-standinhost-")
	if err != nil {
		return nil, fmt.Errorf("standinhost: %w", err)
	}
	defer os.RemoveAll(work)
	rootDir := filepath.Join(work, "root")
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, fmt.Errorf("standinhost: %w", err)
	}
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		return nil, fmt.Errorf("standinhost: %w", err)
	}

	t := time.Now()
	if err := run(ctx, "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--zstd", "-xpf", root, "-C", rootDir); err != nil {
		return nil, fmt.Errorf("standinhost: unpacking the host root %s: %w", root, err)
	}
	step("unpacked the host root", t)

	t = time.Now()
	cfg, dropped, err := dropSysext(o.Ignition)
	if err != nil {
		return nil, fmt.Errorf("standinhost: the VM's Ignition: %w", err)
	}
	for _, d := range dropped {
		fmt.Fprintf(logw, "standinhost: left out of Ignition: %s\n", d)
	}
	if err := runIgnition(ctx, ign, cfg, rootDir, work, logw); err != nil {
		return nil, err
	}
	step("Ignition provisioned the root", t)

	if o.ComposePlugin != "" {
		// One of the folders Docker's CLI looks for plugins in (docker/cli
		// cli-plugins/manager/manager_unix.go, defaultSystemPluginDirs).
		if err := copyFile(o.ComposePlugin, filepath.Join(rootDir, "usr/libexec/docker/cli-plugins/docker-compose"), 0o755); err != nil {
			return nil, fmt.Errorf("standinhost: the Compose plugin: %w", err)
		}
	}
	if o.Images != "" {
		if err := addImages(rootDir, o.Images, cfg); err != nil {
			return nil, fmt.Errorf("standinhost: the images: %w", err)
		}
	}

	img := &Image{
		Disk:   filepath.Join(o.Dir, "disk.qcow2"),
		Kernel: filepath.Join(o.Dir, "vmlinuz"),
		Initrd: filepath.Join(o.Dir, "initrd.img"),
		Append: CommandLine,
	}
	if err := bootFiles(rootDir, img); err != nil {
		return nil, err
	}

	t = time.Now()
	raw := filepath.Join(work, "disk.raw")
	if err := vmtest.CreateDisk(raw, diskSize); err != nil {
		return nil, err
	}
	if err := run(ctx, "mkfs.ext4", "-q", "-F", "-L", RootLabel, "-d", rootDir, raw); err != nil {
		return nil, fmt.Errorf("standinhost: making the root filesystem: %w", err)
	}
	step("made the root filesystem", t)
	t = time.Now()
	os.Remove(img.Disk)
	if err := run(ctx, "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, img.Disk); err != nil {
		return nil, fmt.Errorf("standinhost: converting the disk to qcow2: %w", err)
	}
	step("converted the disk to qcow2", t)
	return img, nil
}

// runIgnition runs Ignition's stages on root the way Flatcar's initramfs does at first boot
// (ignition's dracut/30ignition units: fetch-offline, then fetch only when fetch-offline
// flagged that the config needs the network and nothing is cached yet, then disks, mount,
// files; umount after them): each a separate run of the binary with --root, the `file`
// platform (internal/providers/file/file.go reads $IGNITION_CONFIG_FILE), and the config
// cache the fetch stages write and the later stages read (--config-cache, default
// /run/ignition.json: internal/main.go, internal/exec/engine.go acquireConfig).
func runIgnition(ctx context.Context, bin string, cfg []byte, root, work string, logw io.Writer) error {
	state := filepath.Join(work, "ignition")
	sysconf := filepath.Join(state, "system") // Flatcar's /usr/lib/ignition: no base config here
	if err := os.MkdirAll(sysconf, 0o700); err != nil {
		return fmt.Errorf("standinhost: %w", err)
	}
	cfgFile := filepath.Join(state, "config.ign")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		return fmt.Errorf("standinhost: %w", err)
	}
	cache, neednet := filepath.Join(state, "ignition.json"), filepath.Join(state, "neednet")
	env := append(os.Environ(), "IGNITION_CONFIG_FILE="+cfgFile, "IGNITION_SYSTEM_CONFIG_DIR="+sysconf)
	for _, stage := range []string{"fetch-offline", "fetch", "disks", "mount", "files", "umount"} {
		if stage == "fetch" {
			if _, err := os.Stat(neednet); err != nil {
				continue
			}
			if _, err := os.Stat(cache); err == nil {
				continue
			}
		}
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "--root="+root, "--platform=file", "--stage="+stage,
			"--config-cache="+cache, "--state-file="+filepath.Join(state, "state"), "--neednet="+neednet, "--log-to-stdout")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, logw), io.MultiWriter(&out, logw)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("standinhost: Ignition's %s stage failed (%v); as on a server, the host would not boot:\n%s", stage, err, lastLines(out.String(), 15))
		}
	}
	return nil
}

// dropSysext removes the Compose system extension from the VM's Ignition: files under
// /opt/extensions/ and links under /etc/extensions/, in the config and in every config it
// merges (data URLs, as the overlay and Terraform write them), which are re-encoded without
// them. Everything else is what Ignition gets on a server.
func dropSysext(raw []byte) ([]byte, []string, error) {
	var dropped []string
	out, err := dropIn(raw, &dropped)
	return out, dropped, err
}

func dropIn(raw []byte, dropped *[]string) ([]byte, error) {
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	changed := false
	if st, ok := c["storage"].(map[string]any); ok {
		for _, k := range []struct{ key, prefix string }{{"files", "/opt/extensions/"}, {"links", "/etc/extensions/"}} {
			list, _ := st[k.key].([]any)
			var keep []any
			for _, e := range list {
				m, _ := e.(map[string]any)
				p, _ := m["path"].(string)
				if strings.HasPrefix(p, k.prefix) {
					*dropped = append(*dropped, p)
					changed = true
					continue
				}
				keep = append(keep, e)
			}
			if len(keep) != len(list) {
				st[k.key] = keep
			}
		}
	}
	ign, _ := c["ignition"].(map[string]any)
	conf, _ := ign["config"].(map[string]any)
	for _, key := range []string{"merge", "replace"} {
		refs, _ := conf[key].([]any)
		if key == "replace" {
			if r, ok := conf[key].(map[string]any); ok {
				refs = []any{r}
			}
		}
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			src, _ := ref["source"].(string)
			if !strings.HasPrefix(src, "data:") {
				continue
			}
			var comp *string
			if s, ok := ref["compression"].(string); ok {
				comp = &s
			}
			child, err := vmtest.DecodeSource(src, comp)
			if err != nil {
				return nil, err
			}
			n := len(*dropped)
			child, err = dropIn(child, dropped)
			if err != nil {
				return nil, fmt.Errorf("merged config: %w", err)
			}
			if len(*dropped) == n {
				continue
			}
			ref["source"] = "data:;base64," + base64.StdEncoding.EncodeToString(child)
			delete(ref, "compression")
			delete(ref, "verification") // the hash was of the config with the extension
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(c)
}

// addImages copies the images tarball into the root and adds a unit that loads it once
// Docker runs, ordered before every unit that runs docker compose, so none of them pulls.
func addImages(root, images string, cfg []byte) error {
	if err := copyFile(images, filepath.Join(root, ImagesPath), 0o600); err != nil {
		return err
	}
	merged, _, err := vmtest.ResolveIgnition(cfg)
	if err != nil {
		return err
	}
	var before []string
	for _, u := range merged.Systemd.Units {
		// The units that run containers from the images: compose, and the host's backup
		// script (restic's image; the restore before a first boot's apps).
		if u.Contents != nil && (strings.Contains(*u.Contents, "docker compose") || strings.Contains(*u.Contents, "/nassella-backup ")) {
			before = append(before, u.Name)
		}
	}
	sort.Strings(before)
	unit := fmt.Sprintf(`[Unit]
Description=Load the rehearsal's container images (the stand-in host does not pull them)
Requires=docker.service
After=docker.service
Before=%s
ConditionPathExists=%s
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/docker load --input %s
[Install]
WantedBy=multi-user.target
`, strings.Join(before, " "), ImagesPath, ImagesPath)
	dir := filepath.Join(root, "etc/systemd/system")
	if err := os.WriteFile(filepath.Join(dir, ImagesUnit), []byte(unit), 0o644); err != nil {
		return err
	}
	wants := filepath.Join(dir, "multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("../"+ImagesUnit, filepath.Join(wants, ImagesUnit))
}

// bootFiles copies the kernel and the initramfs initramfs-tools made out of the root's /boot.
func bootFiles(root string, img *Image) error {
	kernels, _ := filepath.Glob(filepath.Join(root, "boot/vmlinuz-*"))
	if len(kernels) != 1 {
		return fmt.Errorf("standinhost: the host root has %d kernels in /boot, want 1; rebuild it with .ci/tools-hostimage.sh", len(kernels))
	}
	ver := strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")
	initrd := filepath.Join(root, "boot/initrd.img-"+ver)
	if err := copyFile(kernels[0], img.Kernel, 0o644); err != nil {
		return fmt.Errorf("standinhost: the kernel: %w", err)
	}
	if err := copyFile(initrd, img.Initrd, 0o644); err != nil {
		return fmt.Errorf("standinhost: the initramfs (did initramfs-tools run in the root?): %w", err)
	}
	return nil
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(to, mode)
}

// run runs a command; a failure says what it printed.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, lastLines(string(out), 10))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
