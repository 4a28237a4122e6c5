package vmtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmpReady waits until QEMU's machine protocol answers: the machine is set up.
func (v *VM) qmpReady(ctx context.Context) error {
	for {
		err := v.qmp(ctx, "query-status")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", context.Cause(ctx), err)
		case <-v.done:
			return fmt.Errorf("QEMU exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// qmp runs one QEMU machine protocol command without arguments on a fresh connection.
func (v *VM) qmp(ctx context.Context, command string) error {
	return v.qmpRun(ctx, qmpCommand{Execute: command})
}

// qmpCommand is one command of QEMU's machine protocol (docs/interop/qmp-spec.rst).
type qmpCommand struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

// HotplugDataDisk attaches the raw disk at path while the guest runs, as a virtio disk with
// serial DataSerial, the way a cloud attaches a volume to a running server: blockdev-add
// opens the file as a block node, device_add plugs a virtio-blk-pci device on it into the
// PCI root (qapi/block-core.json, qapi/qdev.json; the guest sees an ACPI hot-plug).
func (v *VM) HotplugDataDisk(ctx context.Context, path string) error {
	for _, c := range []qmpCommand{
		{"blockdev-add", map[string]any{"driver": "raw", "node-name": "hotdata",
			"file": map[string]any{"driver": "file", "filename": path}}},
		{"device_add", map[string]any{"driver": "virtio-blk-pci", "id": "hotdata", "drive": "hotdata", "serial": DataSerial}},
	} {
		if err := v.qmpRun(ctx, c); err != nil {
			return fmt.Errorf("hot-plugging %s: %w", path, err)
		}
	}
	return nil
}

func (v *VM) qmpRun(ctx context.Context, command qmpCommand) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", v.qmpPath())
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	r := bufio.NewReader(conn)
	var greeting struct {
		QMP json.RawMessage `json:"QMP"`
	}
	if err := readQMP(r, &greeting); err != nil || greeting.QMP == nil {
		return fmt.Errorf("qmp: no greeting: %v", err)
	}
	for _, c := range []qmpCommand{{Execute: "qmp_capabilities"}, command} {
		if err := json.NewEncoder(conn).Encode(c); err != nil {
			return fmt.Errorf("qmp %s: %w", c.Execute, err)
		}
		if err := qmpAnswer(r, c.Execute); err != nil {
			return err
		}
	}
	return nil
}

// qmpAnswer reads past events to the command's answer.
func qmpAnswer(r *bufio.Reader, command string) error {
	for {
		var msg struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
		}
		if err := readQMP(r, &msg); err != nil {
			return fmt.Errorf("qmp %s: %w", command, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("qmp %s: %s: %s", command, msg.Error.Class, msg.Error.Desc)
		}
		if msg.Return != nil {
			return nil
		}
	}
}

func readQMP(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}
