package vmtest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// kvmProbe is testdata/kvmprobe.S assembled: a multiboot image that enters 64-bit mode,
// runs a short loop and exits QEMU with status 85 through isa-debug-exit.
var kvmProbe = mustHex("02b0ad1b00000100fe4f51e40000100000001000000000000000000020001000" +
	"bf0000200031c0b9000c0000f3abc7050000200003102000c7050010200003202000c7050020200083000000" +
	"c70508202000830020000f20e083c8200f22e0b8000020000f22d8b9800000c00f320d000100000f300f20c0" +
	"0d010000800f22c00f0115c0001000ea8e0010000800b900000004ffc975fc48b8000000002a00000048c1e8" +
	"20e6f4f4ebfd8db6000000000000000000000000ffff0000009aaf000f00b0001000")

const kvmProbeExit = 85 // 42<<1 | 1

// KVMProbeTimeout is how long the probe guest may take under KVM. Where KVM works it exits
// in well under a second; some nested setups expose /dev/kvm but run guests so slowly
// that they look hung.
var KVMProbeTimeout = 8 * time.Second

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var probes = struct {
	sync.Mutex
	done map[string][2]string
}{done: map[string][2]string{}}

// ProbeAccel returns "kvm" when QEMU runs a real guest under KVM here, else "tcg", with
// the reason. The answer is kept for the life of the process.
func ProbeAccel(ctx context.Context, qemu string) (accel, reason string) {
	probes.Lock()
	defer probes.Unlock()
	if r, ok := probes.done[qemu]; ok {
		return r[0], r[1]
	}
	err := probeKVM(ctx, qemu)
	if err != nil {
		accel, reason = "tcg", "KVM does not work here ("+err.Error()+"); using TCG, which is much slower"
	} else {
		accel, reason = "kvm", "KVM works"
	}
	if ctx.Err() == nil {
		probes.done[qemu] = [2]string{accel, reason}
	}
	return accel, reason
}

func probeKVM(ctx context.Context, qemu string) error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot open /dev/kvm: %w", err)
	}
	f.Close()
	dir, err := os.MkdirTemp("", "nassella-kvmprobe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(img, kvmProbe, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, KVMProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "pc,accel=kvm", "-cpu", "host", "-m", "16",
		"-kernel", img, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == kvmProbeExit:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("a test guest did not finish within %s", KVMProbeTimeout)
	case err == nil:
		return errors.New("the test guest exited without running")
	default:
		return fmt.Errorf("the test guest failed: %v: %s", err, firstLine(string(out)))
	}
}
