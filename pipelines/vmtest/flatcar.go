package vmtest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/siterepo"
)

// qemuBooter boots Flatcar VMs from the image.
type qemuBooter struct {
	opt   Options
	keys  *Keys
	accel string
	site  SiteOptions
}

func newQEMUBooter(ctx context.Context, opt Options) (*qemuBooter, error) {
	if opt.Image == "" && opt.kit == nil {
		return nil, errors.New("vmtest: no Flatcar image; give its path or URL")
	}
	if opt.QEMU == "" {
		q, err := FindQEMU()
		if err != nil {
			return nil, err
		}
		opt.QEMU = q
	}
	keys, err := NewKeys()
	if err != nil {
		return nil, err
	}
	accel := opt.Accel
	if accel == "" {
		var why string
		accel, why = ProbeAccel(ctx, opt.QEMU)
		fmt.Fprintf(opt.Log, "vmtest: %s\n", why)
	}
	tag := make([]byte, 4)
	rand.Read(tag)
	so := SiteOptions{Name: "vmtest-" + hex.EncodeToString(tag), Backup: opt.Backup}
	return &qemuBooter{opt: opt, keys: keys, accel: accel, site: so}, nil
}

func (b *qemuBooter) Accel() string { return b.accel }

func (b *qemuBooter) Boot(ctx context.Context, cat *catalog.Release, apps []string, disk string) (host, error) {
	ts, err := RenderSite(cat, apps, b.keys, b.site)
	if err != nil {
		return nil, err
	}
	mem := b.opt.MemoryMB
	if mem == 0 {
		mem = max(2048, ts.Site.MemoryMB())
	}
	// The VM lives as long as the run, not just this step.
	m := Machine{
		QEMU: b.opt.QEMU, Accel: b.accel, MemoryMB: mem, CPUs: b.opt.CPUs,
		Image: b.opt.Image, OSDiskGB: b.opt.OSDiskGB, Config: ts.Ignition, DataDisk: disk,
	}
	if k := b.opt.kit; k != nil {
		m.Image, m.Kernel, m.Initrd, m.Append, m.MemoryMB = "", k.Kernel, k.Initrd, k.Append, k.MemoryMB
	}
	vm, err := Start(context.WithoutCancel(ctx), m)
	if err != nil {
		return nil, err
	}
	h := &flatcarHost{vm: vm, site: ts, keys: b.keys, log: b.opt.Log}
	sctx, cancel := h.whileRunning(ctx)
	defer cancel()
	h.ssh, err = DialSSH(sctx, vm.Addr(22), b.keys)
	if err != nil {
		// The scenario collects the failure output of hosts it knows; this one failed
		// before it got one.
		return &failedBoot{h}, err
	}
	return h, nil
}

// flatcarHost is a Flatcar VM running the test site.
type flatcarHost struct {
	vm    *VM
	ssh   *SSH
	site  *TestSite
	keys  *Keys
	log   io.Writer
	roots []string // Caddy CA roots seen, PEM
}

// whileRunning is ctx, ended early should the VM stop.
func (h *flatcarHost) whileRunning(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-h.vm.Done():
			cancel(errors.New("the VM stopped; see its serial log"))
		case <-c.Done():
		}
	}()
	return c, func() { cancel(nil) }
}

func (h *flatcarHost) Run(ctx context.Context, cmd string) (string, error) {
	if h.ssh == nil {
		return "", errors.New("no SSH connection to the VM")
	}
	return h.ssh.Run(ctx, cmd)
}

// Healthy trusts this VM's Caddy CA (read over SSH once Caddy made it; after a restore
// the restored one as well as the one Caddy started with) and waits until every app
// answers its health check over HTTPS through the forwarded port 443.
func (h *flatcarHost) Healthy(ctx context.Context) error {
	ctx, cancel := h.whileRunning(ctx)
	defer cancel()
	for {
		out, err := h.Run(ctx, "sudo cat "+CaddyRoot)
		if err == nil {
			if x509.NewCertPool().AppendCertsFromPEM([]byte(out)) {
				if !contains(h.roots, out) {
					h.roots = append(h.roots, out)
				}
				break
			}
			err = fmt.Errorf("%s holds no certificate", CaddyRoot)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Caddy's internal CA did not appear at %s (is the proxy running?): %w", CaddyRoot, err)
		case <-time.After(3 * time.Second):
		}
	}
	pool := x509.NewCertPool()
	for _, r := range h.roots {
		pool.AppendCertsFromPEM([]byte(r))
	}
	return WaitHealthy(ctx, h.vm.Addr(443), pool, h.site.Targets(), h.log)
}

func (h *flatcarHost) Shutdown(ctx context.Context) error {
	if h.ssh != nil {
		h.ssh.Close()
		h.ssh = nil
	}
	return h.vm.Shutdown(ctx)
}

// Collect keeps the serial log, the site and its Ignition and, while the VM runs, the
// journal, the containers and the failed units, each in its own file; what could not be
// read says why.
func (h *flatcarHost) Collect(ctx context.Context, dir string) {
	write := h.collectFiles(dir)
	if done, _ := h.vm.Exited(); done {
		write("README.txt", "The VM had stopped: only its serial log is here.\n")
		return
	}
	if h.ssh == nil {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s, err := DialSSH(dctx, h.vm.Addr(22), h.keys)
		cancel()
		if err != nil {
			write("README.txt", "SSH did not answer, so only the serial log is here: "+err.Error()+"\n")
			return
		}
		h.ssh = s
	}
	for _, c := range []struct{ file, cmd string }{
		{"journal.txt", "sudo journalctl --no-pager -b -o short-precise"},
		{"docker-ps.txt", "sudo docker ps --all --no-trunc"},
		{"failed-units.txt", "systemctl --failed --no-pager; systemctl list-jobs --no-pager"},
		{"docker-logs.txt", "for c in $(sudo docker ps -aq); do echo \"== $c\"; sudo docker logs --tail 200 $c 2>&1; done"},
	} {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		out, err := h.ssh.Run(cctx, c.cmd)
		cancel()
		if err != nil {
			out += "\n(" + strings.TrimSpace(err.Error()) + ")\n"
		}
		write(c.file, out)
	}
}

// collectFiles writes what the harness has without the VM's help, and returns the writer
// for the rest.
func (h *flatcarHost) collectFiles(dir string) func(name, body string) {
	write := func(name, body string) { os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644) }
	write("serial.log", h.vm.Serial())
	write("ignition.json", string(h.site.Ignition))
	write(siterepo.SiteFile, string(h.site.SiteYAML))
	return write
}

func (h *flatcarHost) Close() error {
	if h.ssh != nil {
		h.ssh.Close()
	}
	return h.vm.Close()
}

// failedBoot is a host that never answered SSH: only its serial log can be collected.
type failedBoot struct{ *flatcarHost }

func (f *failedBoot) Healthy(context.Context) error { return errors.New("the VM never answered SSH") }

func (f *failedBoot) Collect(_ context.Context, dir string) {
	write := f.collectFiles(dir)
	write("README.txt", "The VM never answered SSH: its serial log shows how far it got.\n")
}
