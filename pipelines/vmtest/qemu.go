package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ConfigFwCfg is the fw_cfg name Flatcar's Ignition reads its config from on QEMU.
const ConfigFwCfg = "opt/org.flatcar-linux/config"

// DataSerial is the serial number of the data disk: Flatcar's udev names it
// /dev/disk/by-id/virtio-nassella-data.
const DataSerial = "nassella-data"

// DataDevice is the data disk's device path on a Flatcar guest.
const DataDevice = "/dev/disk/by-id/virtio-" + DataSerial

// Machine describes one throwaway VM: what it boots, the config it gets and its data disk.
type Machine struct {
	QEMU     string // qemu-system-x86_64; "" means NASSELLA_QEMU or PATH
	Accel    string // "kvm" or "tcg"; "" probes KVM and falls back to TCG
	MemoryMB int    // 2048 when 0
	CPUs     int    // 2 when 0

	// Image is a boot disk (Flatcar's QEMU image, qcow2 or raw). It is used copy-on-write:
	// the file is never changed, so every boot is a first boot.
	Image string
	// OSDiskGB grows the boot disk the guest sees (Flatcar grows its root filesystem to
	// fill it at first boot), through a qcow2 overlay made with qemu-img; 0 keeps the
	// image's size. Container images are pulled onto this disk.
	OSDiskGB int
	// Kernel, Initrd and Append boot a kernel directly (the test kit); with Image too, the
	// kernel mounts its root from that disk (the stand-in host, internal/testenv/standinhost).
	Kernel, Initrd, Append string

	// Config is passed through fw_cfg under ConfigFwCfg, where Ignition looks for it.
	Config []byte
	// DataDisk is a raw disk file (see CreateDisk) attached as a virtio disk with serial
	// DataSerial; it outlives the VM.
	DataDisk string
	// Forward lists the guest TCP ports reachable on 127.0.0.1 through free host ports
	// chosen at start (see VM.Port); 22, 80 and 443 when empty.
	Forward []int
	// Reboots lets the guest reboot inside the same QEMU process (its boot disk's changes
	// kept); otherwise a guest reboot ends QEMU.
	Reboots bool
}

// VM is a running QEMU process. Close always ends it and removes its temporary files.
type VM struct {
	accel  string
	dir    string // temporary: config, serial log, QMP socket, QEMU's stderr
	ports  map[int]int
	cmd    *exec.Cmd
	done   chan struct{} // closed when QEMU has exited
	err    error         // QEMU's exit status, valid once done is closed
	closed sync.Once
}

// CreateDisk makes a blank sparse raw disk of size bytes at path.
func CreateDisk(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("data disk: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("data disk %s: %w", path, err)
	}
	return f.Close()
}

// FindQEMU returns the QEMU binary: NASSELLA_QEMU, then qemu-system-x86_64 on PATH.
func FindQEMU() (string, error) {
	if p := os.Getenv("NASSELLA_QEMU"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", errors.New("qemu-system-x86_64 was not found; install it (Debian: apt-get install qemu-system-x86) or set NASSELLA_QEMU")
	}
	return p, nil
}

// Start boots the machine. The VM lives until Close, Shutdown or the end of ctx, whichever
// comes first; QEMU runs in its own process group and is killed with it.
func Start(ctx context.Context, m Machine) (*VM, error) {
	if m.QEMU == "" {
		q, err := FindQEMU()
		if err != nil {
			return nil, err
		}
		m.QEMU = q
	}
	if m.Image == "" && m.Kernel == "" {
		return nil, errors.New("vmtest: a machine boots an Image, a Kernel or both")
	}
	accel := m.Accel
	if accel == "" {
		accel, _ = ProbeAccel(ctx, m.QEMU)
	}
	// A free port may be taken between choosing it and QEMU binding it: try again then.
	var lastErr error
	for range 3 {
		vm, err := start(ctx, m, accel)
		if err == nil {
			return vm, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

var errPortTaken = errors.New("a forwarded port was taken")

func start(ctx context.Context, m Machine, accel string) (_ *VM, err error) {
	dir, err := os.MkdirTemp("", "nassella-vm-")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	vm := &VM{accel: accel, dir: dir, ports: map[int]int{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			vm.Close()
		}
	}()
	forward := m.Forward
	if len(forward) == 0 {
		forward = []int{22, 80, 443}
	}
	netdev := "user,id=net0"
	for _, g := range forward {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		vm.ports[g] = p
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", p, g)
	}
	cfg := filepath.Join(dir, "config.ign")
	if err := os.WriteFile(cfg, m.Config, 0o600); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	mem, cpus := m.MemoryMB, m.CPUs
	if mem == 0 {
		mem = 2048
	}
	if cpus == 0 {
		cpus = 2
	}
	args := []string{
		"-name", "nassella-vmtest",
		"-nodefaults", "-no-user-config", "-display", "none",
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-serial", "file:" + vm.SerialLog(),
		"-qmp", "unix:" + vm.qmpPath() + ",server=on,wait=off",
		"-fw_cfg", "name=" + ConfigFwCfg + ",file=" + cfg,
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
	}
	if !m.Reboots {
		args = append(args, "-no-reboot")
	}
	switch accel {
	case "kvm":
		args = append(args, "-machine", "pc,accel=kvm", "-cpu", "host")
	case "tcg":
		args = append(args, "-machine", "pc,accel=tcg", "-cpu", "max")
	default:
		return nil, fmt.Errorf("vm: unknown accelerator %q; use kvm or tcg", accel)
	}
	if m.Image != "" {
		format, err := imageFormat(m.Image)
		if err != nil {
			return nil, err
		}
		drive := "file=" + m.Image + ",format=" + format + ",snapshot=on"
		if m.OSDiskGB > 0 {
			overlay := filepath.Join(dir, "os.qcow2")
			if err := createOverlay(ctx, m.QEMU, m.Image, format, overlay, m.OSDiskGB); err != nil {
				return nil, err
			}
			drive = "file=" + overlay + ",format=qcow2"
		}
		args = append(args,
			"-drive", "if=none,id=os,"+drive,
			"-device", "virtio-blk-pci,drive=os,bootindex=1")
	}
	if m.Kernel != "" {
		args = append(args, "-kernel", m.Kernel, "-initrd", m.Initrd, "-append", m.Append)
	}
	if m.DataDisk != "" {
		args = append(args,
			"-drive", "if=none,id=data,file="+m.DataDisk+",format=raw",
			"-device", "virtio-blk-pci,drive=data,serial="+DataSerial)
	}

	stderr, err := os.Create(filepath.Join(dir, "qemu.stderr"))
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	defer stderr.Close()
	cmd := exec.Command(m.QEMU, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	// Own process group, so Close kills QEMU and anything it started; and killed with us
	// should this process die without running Close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vm: starting %s: %w", m.QEMU, err)
	}
	vm.cmd = cmd
	go func() {
		vm.err = cmd.Wait()
		close(vm.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			vm.kill()
		case <-vm.done:
		}
	}()

	// QEMU answers QMP once the machine is set up; an early exit is a bad argument, image
	// or port, which its stderr names.
	ready, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := vm.qmpReady(ready); err != nil {
		select {
		case <-vm.done:
			msg := strings.TrimSpace(vm.stderr())
			if strings.Contains(msg, "host forwarding rule") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, msg)
			}
			return nil, fmt.Errorf("vm: QEMU exited at start: %s", msg)
		default:
		}
		return nil, fmt.Errorf("vm: QEMU did not come up: %w", err)
	}
	return vm, nil
}

// Accel is the accelerator the VM runs with: kvm or tcg.
func (v *VM) Accel() string { return v.accel }

// Pid is QEMU's process id (also its process group id).
func (v *VM) Pid() int { return v.cmd.Process.Pid }

// Dir is the VM's temporary folder; Close removes it.
func (v *VM) Dir() string { return v.dir }

// Port is the host port on 127.0.0.1 that forwards to the guest's TCP port.
func (v *VM) Port(guest int) int { return v.ports[guest] }

// Addr is "127.0.0.1:<host port>" of a forwarded guest port.
func (v *VM) Addr(guest int) string { return fmt.Sprintf("127.0.0.1:%d", v.ports[guest]) }

// SerialLog is the file the guest's serial console is written to (inside Dir).
func (v *VM) SerialLog() string { return filepath.Join(v.dir, "serial.log") }

// Serial returns what the guest has written to its serial console so far.
func (v *VM) Serial() string {
	b, _ := os.ReadFile(v.SerialLog())
	return string(b)
}

func (v *VM) qmpPath() string { return filepath.Join(v.dir, "qmp.sock") }

func (v *VM) stderr() string {
	b, _ := os.ReadFile(filepath.Join(v.dir, "qemu.stderr"))
	return string(b)
}

// Done is closed when QEMU has exited.
func (v *VM) Done() <-chan struct{} { return v.done }

// Exited reports whether QEMU has exited, and how.
func (v *VM) Exited() (bool, error) {
	select {
	case <-v.done:
		return true, v.err
	default:
		return false, nil
	}
}

// WaitSerial waits until the serial console shows text.
func (v *VM) WaitSerial(ctx context.Context, text string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if strings.Contains(v.Serial(), text) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the guest's serial console did not show %q: %w", text, context.Cause(ctx))
		case <-v.done:
			if strings.Contains(v.Serial(), text) {
				return nil
			}
			return fmt.Errorf("the VM stopped before its serial console showed %q", text)
		case <-t.C:
		}
	}
}

// Wait waits for QEMU to exit by itself (the guest powered off).
func (v *VM) Wait(ctx context.Context) error {
	select {
	case <-v.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the VM did not power off: %w", context.Cause(ctx))
	}
}

// Shutdown presses the ACPI power button and waits for the guest to power off; when ctx
// ends first, QEMU is killed and the error says so (the data disk may then be unclean).
func (v *VM) Shutdown(ctx context.Context) error {
	select {
	case <-v.done:
		return nil
	default:
	}
	if err := v.qmp(ctx, "system_powerdown"); err != nil {
		select {
		case <-v.done: // powered off before QMP answered
			return nil
		default:
		}
		v.kill()
		return fmt.Errorf("vm: could not press the power button: %w", err)
	}
	if err := v.Wait(ctx); err != nil {
		v.kill()
		<-v.done
		return fmt.Errorf("vm: the guest did not power off in time and was killed: %w", err)
	}
	return nil
}

// kill ends QEMU's whole process group at once.
func (v *VM) kill() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	select {
	case <-v.done:
		return
	default:
	}
	_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
}

// Close kills QEMU if it still runs, waits for it and removes the temporary folder. It is
// safe to call more than once and from a defer in any case.
func (v *VM) Close() error {
	var err error
	v.closed.Do(func() {
		if v.cmd != nil {
			v.kill()
			select {
			case <-v.done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("vm: QEMU (pid %d) did not end after SIGKILL", v.cmd.Process.Pid)
			}
		}
		if rerr := os.RemoveAll(v.dir); rerr != nil && err == nil {
			err = rerr
		}
	})
	return err
}

// createOverlay makes a qcow2 file of sizeGB whose unwritten blocks read from base, with
// qemu-img from beside QEMU or from PATH.
func createOverlay(ctx context.Context, qemu, base, format, overlay string, sizeGB int) error {
	img := filepath.Join(filepath.Dir(qemu), "qemu-img")
	if _, err := os.Stat(img); err != nil {
		if img, err = exec.LookPath("qemu-img"); err != nil {
			return errors.New("vm: growing the boot disk needs qemu-img (Debian: apt-get install qemu-utils); or leave the disk at the image's size")
		}
	}
	abs, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, img, "create", "-q", "-f", "qcow2", "-F", format, "-b", abs, overlay, strconv.Itoa(sizeGB)+"G").CombinedOutput()
	if err != nil {
		return fmt.Errorf("vm: qemu-img create: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("vm: no free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// imageFormat tells qcow2 from raw by the qcow2 magic.
func imageFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("vm image: %w", err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0); err != nil {
		return "", fmt.Errorf("vm image %s: %w", path, err)
	}
	if bytes.Equal(magic, []byte{'Q', 'F', 'I', 0xfb}) {
		return "qcow2", nil
	}
	return "raw", nil
}
