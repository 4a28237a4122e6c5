package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nassella/nassella/internal/sshx"
	"github.com/nassella/nassella/pipelines/logs"
)

// The Logs tab: the server's journal read over SSH with the site's logs key, whose forced
// command can do nothing but read logs (pipelines/logs). Everyone who can see the site
// repo may read them: logs are how a reader helps find what went wrong, and the apps'
// secrets are not logged. The plain view works without JavaScript; following live is a
// stream of Server-Sent Events read by static/logs.js.

// logLevels are the level filter's choices: the most verbose syslog priority shown.
type logLevel struct {
	Value, Label string
	Max          int
}

var logLevels = []logLevel{
	{"", "Every level", 7},
	{"info", "All but debug", 6},
	{"notice", "Notices, warnings and errors", 5},
	{"warn", "Warnings and errors", 4},
	{"error", "Errors only", 3},
}

// logLines are the choices of how many of the newest entries are read.
var logLines = []int{100, 200, 500, 1000, 2000}

// logsForm is what the person asked to see.
type logsForm struct {
	App, Level, Text string
	Lines            int
	Follow           bool
}

// query is the plain view's query string.
func (f logsForm) query() string {
	return url.Values{"app": {f.App}, "level": {f.Level}, "q": {f.Text}, "lines": {strconv.Itoa(f.Lines)}}.Encode()
}

// keep says whether an entry passes the level and text filters.
func (f logsForm) keep(e logs.Entry) bool {
	max := 7
	for _, l := range logLevels {
		if l.Value == f.Level {
			max = l.Max
		}
	}
	if max < 7 && (e.Priority < 0 || e.Priority > max) {
		return false
	}
	return f.Text == "" || strings.Contains(strings.ToLower(e.Message), strings.ToLower(f.Text))
}

// logApp is one choice of the app filter.
type logApp struct{ Name, Title string }

// logLine is one entry as the page and the stream show it.
type logLine struct {
	Time    string `json:"time"`
	App     string `json:"app"`
	Level   string `json:"level"`
	Message string `json:"msg"`
}

var ansiRe = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

func logLineOf(e logs.Entry, loc *time.Location) logLine {
	l := logLine{App: e.App, Level: e.Level()}
	if !e.Time.IsZero() {
		l.Time = e.Time.In(loc).Format("2006-01-02 15:04:05")
	}
	l.Message = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, ansiRe.ReplaceAllString(e.Message, ""))
	return l
}

type logsData struct {
	toolHeader
	Form      logsForm
	Apps      []logApp
	Levels    []logLevel
	Lines     []int
	Setup     string // why the console cannot read this site's logs: none, no-key, other-key
	KeyLine   string // the console's logs key as admin.logs_key takes it
	CSRF      string
	CanEdit   bool // the person may open the pull request that adds the key
	Problem   string
	Read      bool // the entries below were read
	Entries   []logLine
	Timezone  string
	StreamURL string // the live view's source
	PlainURL  string // the same filters, without following
}

func (d logsData) title() string { return "Logs of " + d.St.FullName() }

// logsPage serves the Logs tab: the form and the newest entries, the live view, or (with
// stream=1) the live view's event stream.
func (s *Server) logsPage(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) {
	if !s.mustLoad(w, r, sess, st) {
		return
	}
	if r.Method == http.MethodPost {
		s.addLogsKey(w, r, sess, st)
		return
	}
	q := r.URL.Query()
	d := logsData{toolHeader: s.toolHeader(st, "logs"), CSRF: sess.CSRF, CanEdit: st.CanEdit(), Levels: logLevels, Lines: logLines, Timezone: st.Site.Updates.Timezone,
		Apps: []logApp{{"", "All apps"}}}
	for _, a := range st.Site.Apps {
		d.Apps = append(d.Apps, logApp{a.Name, a.Spec.Title})
	}
	d.Apps = append(d.Apps, logApp{"proxy", "The web proxy (every app's address)"}, logApp{"backup", "Backups"})
	d.Form = logsForm{App: q.Get("app"), Level: q.Get("level"), Text: strings.TrimSpace(q.Get("q")), Lines: 200, Follow: q.Get("follow") == "1"}
	if n, err := strconv.Atoi(q.Get("lines")); err == nil {
		d.Form.Lines = n
	}
	switch {
	case !slices.ContainsFunc(d.Apps, func(a logApp) bool { return a.Name == d.Form.App }):
		d.Problem = "Choose one of the apps listed."
	case !slices.ContainsFunc(logLevels, func(l logLevel) bool { return l.Value == d.Form.Level }):
		d.Problem = "Choose one of the levels listed."
	case !slices.Contains(logLines, d.Form.Lines):
		d.Problem = "Choose one of the numbers of entries listed."
	case len(d.Form.Text) > 200:
		d.Problem = "Search for at most 200 characters."
	}
	sv := s.cfg.Servers
	switch {
	case sv == nil || sv.LogsKey == nil:
		d.Setup = "none"
	case st.Site.Admin.LogsKey == "":
		d.Setup, d.KeyLine = "no-key", authorizedLine(sv.LogsKey, "nassella-console-logs")
	case !sameKey(st.Site.Admin.LogsKey, sv.LogsKey):
		d.Setup, d.KeyLine = "other-key", authorizedLine(sv.LogsKey, "nassella-console-logs")
	}
	if d.Problem != "" || d.Setup != "" {
		if q.Get("stream") == "1" {
			http.Error(w, "The console cannot follow these logs; open the Logs tab for why.", http.StatusConflict)
			return
		}
		status := http.StatusOK
		if d.Problem != "" {
			status = http.StatusBadRequest
		}
		s.render(w, r, sess, status, "logs", d)
		return
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.UTC
	}
	login, err := sv.login(st.Site, sv.LogsKey)
	switch {
	case err != nil && q.Get("stream") == "1":
		http.Error(w, s.serverFailed(st, sess, "reading logs", err), http.StatusBadGateway)
		return
	case err != nil:
		d.Problem = s.serverFailed(st, sess, "reading logs", err)
	case q.Get("stream") == "1":
		s.logsStream(w, r, sess, st, d.Form, login, loc)
		return
	case d.Form.Follow:
		d.PlainURL = r.URL.Path + "?" + d.Form.query()
		d.StreamURL = d.PlainURL + "&stream=1"
	default:
		d.Entries, err = s.readLogs(r.Context(), login, d.Form, loc)
		d.Read = err == nil
		if err != nil {
			d.Problem = s.serverFailed(st, sess, "reading logs", err)
		}
	}
	s.render(w, r, sess, http.StatusOK, "logs", d)
}

// readLogs reads the newest entries and returns those the filters keep, newest first.
func (s *Server) readLogs(ctx context.Context, login sshx.Login, f logsForm, loc *time.Location) ([]logLine, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []logLine
	ew := &entryWriter{each: func(e logs.Entry) error {
		if f.keep(e) {
			out = append(out, logLineOf(e, loc))
		}
		return nil
	}}
	if err := logs.Stream(ctx, login, logs.Query{App: f.App, Lines: f.Lines, LogsKey: true}, ew, logs.Options{JSON: true}); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

// streamDeadline is how long one event may take to reach the browser; every event (and
// a heartbeat every streamBeat) moves the connection's write deadline on by as much, so
// a live view outlasts the server's WriteTimeout and a vanished browser is noticed.
const (
	streamDeadline = time.Minute
	streamBeat     = 15 * time.Second
)

// logsStream follows the journal and sends each entry the filters keep as an "entry"
// event, and an "end" event when the server stops. The SSH session lives as long as the
// request: when the browser goes away, its context ends and logs.Stream closes the session.
func (s *Server) logsStream(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState, f logsForm, login sshx.Login, loc *time.Location) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	w.WriteHeader(http.StatusOK)
	var mu sync.Mutex
	send := func(text string) error {
		mu.Lock()
		defer mu.Unlock()
		_ = rc.SetWriteDeadline(time.Now().Add(streamDeadline))
		_, err := fmt.Fprint(w, text)
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			cancel()
		}
		return err
	}
	event := func(name string, v any) error {
		data, _ := json.Marshal(v)
		return send("event: " + name + "\ndata: " + string(data) + "\n\n")
	}
	if send(": following\n\n") != nil {
		return
	}
	go func() {
		t := time.NewTicker(streamBeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = send(": still here\n\n")
			}
		}
	}()
	s.log.Info("following logs", "login", sess.Login, "repo", st.FullName())
	ew := &entryWriter{each: func(e logs.Entry) error {
		if !f.keep(e) {
			return nil
		}
		return event("entry", logLineOf(e, loc))
	}}
	err := logs.Stream(ctx, login, logs.Query{App: f.App, Lines: f.Lines, Follow: true, LogsKey: true}, ew, logs.Options{JSON: true})
	if ctx.Err() != nil {
		s.log.Info("stopped following logs", "login", sess.Login, "repo", st.FullName())
		return
	}
	msg := "The server stopped sending entries; reload the page to follow again."
	if err != nil {
		msg = s.serverFailed(st, sess, "following logs", err)
	}
	_ = event("end", msg)
}

// entryWriter takes `journalctl -o json` lines as logs.Stream writes them and hands each
// entry to each; lines that are not entries (journalctl's own warnings) are left out.
type entryWriter struct {
	buf  []byte
	each func(logs.Entry) error
}

func (w *entryWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	rest := w.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		rest = rest[i+1:]
		if e, err := logs.Parse(line); err == nil {
			if err := w.each(e); err != nil {
				return 0, err
			}
		}
	}
	w.buf = append(w.buf[:0], rest...)
	return len(p), nil
}
