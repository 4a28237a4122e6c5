// Package logs reads a site's logs from the server's journal: every app's containers log
// to journald tagged with the app's name (see the compose renderer), the host's nassella
// units log there too. It runs `journalctl -o json` over SSH and prints one aligned line per
// entry, or passes the structured entries through.
package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nassella/nassella/internal/sshx"
)

// Entry is one journal entry.
type Entry struct {
	Time     time.Time
	App      string // the app, proxy, or the unit/program for host lines
	Priority int    // syslog priority 0 (emerg) … 7 (debug); -1 when unknown
	Message  string
	Raw      json.RawMessage // the entry as journalctl printed it
}

// Parse reads one line of `journalctl -o json`.
func Parse(line []byte) (Entry, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(line, &f); err != nil {
		return Entry{}, fmt.Errorf("not a journal entry: %w", err)
	}
	e := Entry{Priority: -1, Raw: json.RawMessage(bytes.TrimSpace(line))}
	if us, err := strconv.ParseInt(field(f, "__REALTIME_TIMESTAMP"), 10, 64); err == nil {
		e.Time = time.UnixMicro(us)
	}
	if p, err := strconv.Atoi(field(f, "PRIORITY")); err == nil {
		e.Priority = p
	}
	e.App = field(f, "CONTAINER_TAG")
	if e.App == "" {
		e.App = field(f, "SYSLOG_IDENTIFIER")
	}
	if unit := field(f, "_SYSTEMD_UNIT"); e.App == "" || strings.HasPrefix(unit, "nassella-app-") {
		if a, ok := strings.CutPrefix(strings.TrimSuffix(unit, ".service"), "nassella-app-"); ok {
			e.App = a
		} else if e.App == "" {
			e.App = strings.TrimSuffix(unit, ".service")
		}
	}
	if e.App == "" {
		e.App = field(f, "_COMM")
	}
	e.Message = strings.TrimRight(field(f, "MESSAGE"), "\r\n")
	return e, nil
}

// field reads a journal field: a string, or an array of bytes when it is not UTF-8.
func field(f map[string]json.RawMessage, name string) string {
	raw, ok := f[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b []byte
	var nums []int
	if json.Unmarshal(raw, &nums) == nil {
		for _, n := range nums {
			b = append(b, byte(n))
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return ""
}

var levels = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

// Level is the priority's name, or "" when unknown.
func (e Entry) Level() string {
	if e.Priority < 0 || e.Priority >= len(levels) {
		return ""
	}
	return levels[e.Priority]
}

// Options say how entries are printed.
type Options struct {
	JSON     bool           // pass the entries through as JSON lines
	Color    bool           // colour levels and apps (a terminal)
	Location *time.Location // times in this zone; local when nil
	AppWidth int            // width of the app column; 12 when 0
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// Format is the entry's line: time, app, level, message.
func Format(e Entry, opt Options) string {
	if opt.JSON {
		return string(e.Raw)
	}
	loc := opt.Location
	if loc == nil {
		loc = time.Local
	}
	width := opt.AppWidth
	if width == 0 {
		width = 12
	}
	msg := ansi.ReplaceAllString(e.Message, "")
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' {
			return ' '
		}
		return r
	}, msg)
	ts := "                   "
	if !e.Time.IsZero() {
		ts = e.Time.In(loc).Format("2006-01-02 15:04:05")
	}
	app := fmt.Sprintf("%-*s", width, e.App)
	lvl := fmt.Sprintf("%-6s", e.Level())
	if opt.Color {
		app = "\x1b[36m" + app + "\x1b[0m"
		switch {
		case e.Priority >= 0 && e.Priority <= 3:
			lvl, msg = "\x1b[31m"+lvl, msg+"\x1b[0m"
		case e.Priority == 4:
			lvl, msg = "\x1b[33m"+lvl, msg+"\x1b[0m"
		case e.Priority == 7:
			lvl, msg = "\x1b[2m"+lvl, msg+"\x1b[0m"
		}
	}
	return strings.TrimRight(ts+"  "+app+"  "+lvl+"  "+msg, " ")
}

// Copy reads `journalctl -o json` lines from r and writes each entry to w. A line that is
// not JSON (a journalctl warning) is printed as it is.
func Copy(ctx context.Context, r io.Reader, w io.Writer, opt Options) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := Parse(line)
		out := string(line)
		if err == nil {
			out = Format(e, opt)
		}
		if _, err := fmt.Fprintln(w, out); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Query is what to read from the journal.
type Query struct {
	App    string // one app (or proxy, backup); every entry when empty
	Since  string // journalctl --since: "1h ago", "2026-11-03 03:00", "today"
	Follow bool
	Lines  int // the newest N entries when Since is empty; 200 when 0
	// LogsKey says the login is admin.logs_key, whose forced command takes a request in
	// its own grammar (see hostcontract.LogsScript) instead of a journalctl command line.
	LogsKey bool
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Command is the journalctl command line run on the server, or with LogsKey the request
// the logs key's forced command takes.
func (q Query) Command() (string, error) {
	if q.LogsKey {
		return q.request()
	}
	args := []string{"journalctl", "--output=json", "--no-pager", "--quiet"}
	if q.Since != "" {
		args = append(args, "--since="+sshx.Quote(q.Since))
	} else {
		n := q.Lines
		if n == 0 {
			n = 200
		}
		args = append(args, "--lines="+strconv.Itoa(n))
	}
	if q.Follow {
		args = append(args, "--follow")
	}
	if q.App != "" {
		if !nameRe.MatchString(q.App) {
			return "", fmt.Errorf("%q is not an app name", q.App)
		}
		unit := "nassella-app-" + q.App + ".service"
		switch q.App {
		case "proxy":
			unit = "nassella-proxy.service"
		case "backup":
			unit = "nassella-backup.service"
		}
		args = append(args, "SYSLOG_IDENTIFIER="+q.App, "+", "_SYSTEMD_UNIT="+unit)
	}
	return strings.Join(args, " "), nil
}
