package dockertest

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// journal stands in for systemd-journald's native socket, which the site's compose files
// need: they log with Docker's journald driver, and dockerd refuses to start such a
// container unless /run/systemd/journal/socket takes a datagram ("journald is not
// enabled on this host"; the check is go-systemd's journal.Enabled, which dials it). It
// keeps each entry's fields so a test can read what a container logged.
type journal struct {
	conn    *net.UnixConn
	mu      sync.Mutex
	entries []map[string]string
}

// startJournal listens on dir/socket; dir is bound at /run/systemd/journal.
func startJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "socket"), Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	j := &journal{conn: conn}
	go j.serve()
	return j, nil
}

func (j *journal) serve() {
	buf := make([]byte, 1<<20)
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		n, oobn, _, _, err := j.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return // closed
		}
		data := buf[:n]
		// An entry too large for a datagram comes as a file descriptor (go-systemd's
		// journal.Send, as systemd's native protocol allows).
		if oobn > 0 {
			data = readPassedFile(oob[:oobn])
		}
		if e := parseEntry(data); len(e) > 0 {
			j.mu.Lock()
			j.entries = append(j.entries, e)
			j.mu.Unlock()
		}
	}
}

func readPassedFile(oob []byte) []byte {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) == 0 {
		return nil
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil
	}
	f := os.NewFile(uintptr(fds[0]), "journal entry")
	defer f.Close()
	var b bytes.Buffer
	b.ReadFrom(f)
	return b.Bytes()
}

// parseEntry reads systemd's native journal protocol: fields as NAME=value lines, or, for
// a value holding newlines, NAME, a newline, the value's length as 64-bit little endian,
// the value and a newline (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).
func parseEntry(b []byte) map[string]string {
	e := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			break
		}
		line := b[:nl]
		b = b[nl+1:]
		if k, v, ok := bytes.Cut(line, []byte("=")); ok {
			e[string(k)] = string(v)
			continue
		}
		if len(b) < 8 {
			break
		}
		size := binary.LittleEndian.Uint64(b[:8])
		if uint64(len(b)-8) < size {
			break
		}
		e[string(line)] = string(b[8 : 8+size])
		b = b[8+size:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
	return e
}

// messages returns the MESSAGE of each entry whose SYSLOG_IDENTIFIER is tag, a line each.
func (j *journal) messages(tag string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out strings.Builder
	for _, e := range j.entries {
		if e["SYSLOG_IDENTIFIER"] == tag {
			out.WriteString(strings.TrimSuffix(e["MESSAGE"], "\n"))
			out.WriteByte('\n')
		}
	}
	return out.String()
}
