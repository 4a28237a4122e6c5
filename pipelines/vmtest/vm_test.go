package vmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests boot real VMs with QEMU (under TCG here: KVM does not work on these
// machines) from the boot kit that testdata/build-kit.sh builds: Debian's kernel and a
// busybox initramfs whose init (testdata/kit-init.sh) serves the fw_cfg config over HTTP,
// keeps a marker on the data disk and powers off on request.

// kitMachine is a machine booting the kit, or skips the test when there is no kit (and
// fails in CI, which must build it).
func kitMachine(t *testing.T) Machine {
	t.Helper()
	dir := testtool.Require(t, "NASSELLA_VMKIT", ".ci/tools-vm.sh")
	qemu, err := FindQEMU()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vmlinuz", "initramfs.cpio.gz"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("NASSELLA_VMKIT=%s is not a boot kit: %v; rebuild it with .ci/tools-vm.sh", dir, err)
		}
	}
	return Machine{
		QEMU: qemu, MemoryMB: 256, CPUs: 1,
		Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initramfs.cpio.gz"),
		Append: "console=ttyS0 panic=-1",
	}
}

// get asks the guest's HTTP server through the forwarded port 80 until it answers 200.
func get(ctx context.Context, vm *VM, path string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + vm.Addr(80) + path
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return string(body), nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("GET %s: %w (last: %v)", url, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// childQEMUs lists this process's children that are QEMU, zombies included: after a VM is
// closed there must be none.
func childQEMUs(t *testing.T) []string {
	t.Helper()
	var out []string
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		comm := s[strings.IndexByte(s, '(')+1 : i]
		if len(fields) > 1 && fields[1] == me && strings.HasPrefix(comm, "qemu") {
			out = append(out, e.Name()+" "+comm+" state "+fields[0])
		}
	}
	return out
}

// assertGone checks the VM's process and temporary folder are gone.
func assertGone(t *testing.T, vm *VM) {
	t.Helper()
	if err := vm.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(vm.Dir()); !os.IsNotExist(err) {
		t.Errorf("the VM's temporary folder %s is still there (%v)", vm.Dir(), err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(vm.Pid()))); !os.IsNotExist(err) {
		t.Errorf("QEMU (pid %d) is still in the process table", vm.Pid())
	}
	if left := childQEMUs(t); len(left) > 0 {
		t.Errorf("QEMU processes left behind: %v", left)
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Two boots on one data disk: the config each boot gets through fw_cfg comes back over
// the forwarded port, the disk is formatted once and keeps what the first boot wrote, the
// serial console is captured, and both ways of powering off work (ACPI power button
// through QMP, and a request to the guest).
func TestVMKeepsDataAcrossBoots(t *testing.T) {
	m := kitMachine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	disk := filepath.Join(t.TempDir(), "data.raw")
	if err := CreateDisk(disk, 64<<20); err != nil {
		t.Fatal(err)
	}
	m.DataDisk = disk
	m.Forward = []int{80}

	first := []byte(`{"ignition":{"version":"3.3.0"},"vmtest":"first ` + token() + `"}`)
	m.Config = first
	start := time.Now()
	vm, err := Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	t.Logf("accelerator: %s", vm.Accel())
	boots, err := get(ctx, vm, "/boots")
	if err != nil {
		t.Fatalf("%v\nserial:\n%s", err, vm.Serial())
	}
	t.Logf("boot 1 answered on port 80 after %.1fs", time.Since(start).Seconds())
	if strings.TrimSpace(boots) != "1" {
		t.Errorf("boots = %q, want 1", boots)
	}
	if got, _ := get(ctx, vm, "/config"); got != string(first) {
		t.Errorf("the guest read config %q from fw_cfg, want %q", got, first)
	}
	if got, _ := get(ctx, vm, "/marker"); strings.TrimSpace(got) != sha256hex(first) {
		t.Errorf("marker = %q, want the first config's sha256", got)
	}
	for _, want := range []string{"Linux version", "formatting the blank data disk", "marker written", "config read: " + strconv.Itoa(len(first)) + " bytes", "vmkit: ready"} {
		if !strings.Contains(vm.Serial(), want) {
			t.Errorf("serial log lacks %q", want)
		}
	}
	stop := time.Now()
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	err = vm.Shutdown(sctx)
	scancel()
	if err != nil {
		t.Fatalf("power button: %v\nserial:\n%s", err, vm.Serial())
	}
	t.Logf("boot 1 powered off by the ACPI button in %.1fs; %.1fs in all", time.Since(stop).Seconds(), time.Since(start).Seconds())
	if !strings.Contains(vm.Serial(), "vmkit: powering off") {
		t.Error("the guest did not power itself off")
	}
	assertGone(t, vm)

	second := []byte(`{"ignition":{"version":"3.3.0"},"vmtest":"second ` + token() + `"}`)
	m.Config = second
	start = time.Now()
	vm, err = Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	boots, err = get(ctx, vm, "/boots")
	if err != nil {
		t.Fatalf("%v\nserial:\n%s", err, vm.Serial())
	}
	t.Logf("boot 2 answered on port 80 after %.1fs", time.Since(start).Seconds())
	if strings.TrimSpace(boots) != "2" {
		t.Errorf("boots = %q, want 2: the data disk did not keep the first boot's count", boots)
	}
	if got, _ := get(ctx, vm, "/config"); got != string(second) {
		t.Errorf("boot 2 read config %q, want %q", got, second)
	}
	if got, _ := get(ctx, vm, "/marker"); strings.TrimSpace(got) != sha256hex(first) {
		t.Errorf("marker = %q, want the first boot's: the data disk lost it", got)
	}
	if s := vm.Serial(); !strings.Contains(s, "marker found: "+sha256hex(first)) || strings.Contains(s, "formatting") {
		t.Errorf("boot 2's serial log should find the marker without formatting:\n%s", s)
	}
	if _, err := get(ctx, vm, "/cgi-bin/poweroff"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = vm.Wait(wctx)
	wcancel()
	if err != nil {
		t.Fatalf("poweroff request: %v", err)
	}
	t.Logf("boot 2 powered off on request; %.1fs in all", time.Since(start).Seconds())
	assertGone(t, vm)
}

// A guest that never answers: waiting for it times out, the power button is ignored, so
// Shutdown kills QEMU at its deadline, and nothing is left behind.
func TestVMThatNeverAnswersIsKilled(t *testing.T) {
	m := kitMachine(t)
	m.Append += " vmkit.hang"
	m.Forward = []int{80}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	vm, err := Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	wctx, wcancel := context.WithTimeout(ctx, 4*time.Second)
	_, err = get(wctx, vm, "/boots")
	wcancel()
	if err == nil {
		t.Fatal("the hanging guest answered")
	}
	t.Logf("waiting for the guest: %v", err)
	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	err = vm.Shutdown(sctx)
	scancel()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Shutdown of a guest that ignores the power button = %v, want it killed", err)
	}
	if done, _ := vm.Exited(); !done {
		t.Fatal("QEMU still runs after Shutdown gave up")
	}
	t.Logf("killed after %.1fs: %v", time.Since(start).Seconds(), err)
	assertGone(t, vm)
}

// The end of the VM's context (an interrupted run) kills QEMU without Close; Close then
// removes the files.
func TestVMEndsWithItsContext(t *testing.T) {
	m := kitMachine(t)
	m.Forward = []int{80}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vm, err := Start(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	sctx, scancel := context.WithTimeout(ctx, 40*time.Second)
	err = vm.WaitSerial(sctx, "vmkit: init started")
	scancel()
	if err != nil {
		t.Fatalf("%v\nserial:\n%s", err, vm.Serial())
	}
	cancel()
	select {
	case <-vm.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still runs 10s after its context ended")
	}
	if _, err := os.Stat(vm.Dir()); err != nil {
		t.Errorf("the files should stay until Close: %v", err)
	}
	assertGone(t, vm)
}

// Start reports what QEMU says when it cannot start, and leaves nothing behind.
func TestStartReportsQEMUErrors(t *testing.T) {
	m := kitMachine(t)
	m.Kernel = filepath.Join(t.TempDir(), "no-such-kernel")
	_, err := Start(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "QEMU exited at start") || !strings.Contains(err.Error(), "no-such-kernel") {
		t.Fatalf("err = %v, want QEMU's own message naming the missing kernel", err)
	}
	if left := childQEMUs(t); len(left) > 0 {
		t.Errorf("QEMU processes left behind: %v", left)
	}
}

// A boot disk image is used copy-on-write: as is (snapshot) or through a grown qcow2
// overlay in the VM's folder. Nothing boots from this blank image; QEMU must accept the
// disks, and the image must stay as it was.
func TestStartWithImageLeavesItUnchanged(t *testing.T) {
	m := kitMachine(t)
	img := filepath.Join(t.TempDir(), "blank.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(img)
	m.Kernel, m.Initrd, m.Append, m.Image = "", "", "", img
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, grow := range []int{0, 3} {
		m.OSDiskGB = grow
		vm, err := Start(ctx, m)
		if err != nil {
			t.Fatalf("OSDiskGB %d: %v", grow, err)
		}
		defer vm.Close()
		overlay := filepath.Join(vm.Dir(), "os.qcow2")
		if grow > 0 {
			out, err := exec.Command(filepath.Join(filepath.Dir(m.QEMU), "qemu-img"), "info", "-U", "--output=json", overlay).Output()
			if err != nil {
				t.Fatalf("qemu-img info: %v", err)
			}
			if !strings.Contains(string(out), `"virtual-size": 3221225472`) || !strings.Contains(string(out), img) {
				t.Errorf("overlay is not 3 GiB on top of the image:\n%s", out)
			}
		} else if _, err := os.Stat(overlay); err == nil {
			t.Error("an overlay was made without OSDiskGB")
		}
		assertGone(t, vm)
	}
	if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
		t.Error("the image was written to")
	}
}
