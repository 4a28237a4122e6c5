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

// qmp runs one QEMU machine protocol command on a fresh connection.
func (v *VM) qmp(ctx context.Context, command string) error {
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
	for _, c := range []string{"qmp_capabilities", command} {
		if err := json.NewEncoder(conn).Encode(map[string]string{"execute": c}); err != nil {
			return fmt.Errorf("qmp %s: %w", c, err)
		}
		if err := qmpAnswer(r, c); err != nil {
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
