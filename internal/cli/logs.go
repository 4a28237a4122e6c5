package cli

import (
	"context"
	"os"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/logs"
)

func runLogs(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "logs", "[APP] [--since WHEN] [--follow] [--json] [--logs-key FILE] [--host H] [--dir DIR]")
	since := fs.String("since", "", `entries since WHEN ("1 hour ago", "today", "2026-11-03 03:00"); the newest 200 when empty`)
	follow := fs.Bool("follow", false, "keep printing new entries")
	asJSON := fs.Bool("json", false, "print the journal's structured entries (one JSON object a line)")
	dir := fs.String("dir", ".", "the site repo")
	logsKey := fs.String("logs-key", os.Getenv("NASSELLA_LOGS_SSH_KEY_FILE"), "private key of admin.logs_key, which may only read logs (instead of --identity)")
	server := addServerFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	q := logs.Query{Since: *since, Follow: *follow, LogsKey: *logsKey != ""}
	if q.LogsKey {
		server.identity = *logsKey
	}
	if len(pos) == 1 {
		q.App = pos[0]
	}
	var st *site.Loaded // only for the default host
	if server.host == "" {
		r, err := siterepo.Open(*dir, siterepo.Options{})
		if err != nil {
			return err
		}
		st = r.Site
	}
	login, err := server.login(st)
	if err != nil {
		return err
	}
	return logs.Stream(ctx, login, q, s.Out, logs.Options{JSON: *asJSON, Color: isTerminal(s.Out), AppWidth: 12})
}

// isTerminal says whether w is a terminal that takes colours.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
