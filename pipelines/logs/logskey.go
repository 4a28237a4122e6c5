package logs

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/nassella/nassella/internal/hostcontract"
)

// sinceRe is what the logs key's forced command takes after --since: the characters of
// journalctl's times ("1 hour ago", "2026-11-03 03:00", "-1h", "@1700000000"), no quote.
var sinceRe = regexp.MustCompile(`^[A-Za-z0-9 :.+@-]{1,40}$`)

// request is q in the grammar of the logs key's forced command:
// logs [--app NAME] [--lines N] [--since 'WHEN'] [--follow], asking for what Command's
// journalctl line asks for.
func (q Query) request() (string, error) {
	req := hostcontract.LogsVerb
	if q.App != "" {
		if !nameRe.MatchString(q.App) || len(q.App) > 63 {
			return "", fmt.Errorf("%q is not an app name", q.App)
		}
		req += " --app " + q.App
	}
	if q.Since == "" {
		n := q.Lines
		if n == 0 {
			n = 200
		}
		if n < 1 || n > hostcontract.LogsMax {
			return "", fmt.Errorf("%d entries: the logs key reads 1 to %d at a time", n, hostcontract.LogsMax)
		}
		req += " --lines " + strconv.Itoa(n)
	} else {
		if !sinceRe.MatchString(q.Since) {
			return "", fmt.Errorf(`since %q: with the logs key, say when in at most 40 letters, digits, spaces and :.+@- (like "1 hour ago" or "2026-11-03 03:00")`, q.Since)
		}
		req += " --since '" + q.Since + "'"
	}
	if q.Follow {
		req += " --follow"
	}
	return req, nil
}
