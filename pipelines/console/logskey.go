package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// Owners do not edit YAML: the Logs tab offers a pull request that gives the site the
// console's logs key (admin.logs_key), in place of the one there or as admin's last entry.

// setLogsKey sets admin.logs_key to line, keeping every other byte of data.
func setLogsKey(data []byte, line string) ([]byte, error) {
	m, _, err := topNode(data, "admin")
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "logs_key" {
			return catalogops.SetScalars(siterepo.SiteFile, data, map[string]string{"admin.logs_key": line})
		}
	}
	out, err := appendEntry(data, m, "logs_key: "+strconv.Quote(line))
	if err != nil {
		return nil, err
	}
	return out, sameExcept(data, out, func(doc map[string]any) {
		if a, ok := doc["admin"].(map[string]any); ok {
			a["logs_key"] = line
		}
	})
}

// addLogsKey opens the pull request that gives the site the console's logs key.
func (s *Server) addLogsKey(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) {
	sv := s.cfg.Servers
	if sv == nil || sv.LogsKey == nil {
		s.fail(w, r, sess, http.StatusConflict, "This console reads no logs, so it has no key to give your site.")
		return
	}
	if !s.mayChange(w, r, sess, st) {
		return
	}
	fc, err := s.client(sess, st.Owner, st.Repo)
	if err != nil {
		s.fail(w, r, sess, http.StatusInternalServerError, err.Error())
		return
	}
	line := authorizedLine(sv.LogsKey, "nassella-console-logs")
	body := "Your server gets nassella console's logs key, so the console can show your apps' logs. " +
		"The server lets this key read logs and do nothing else."
	if st.Site.Admin.LogsKey != "" {
		body += " It takes the place of your site's logs key now: whoever reads logs with that one (`nassella logs --logs-key`) can no longer."
	}
	ch := change{slug: "logs-key", title: "Let nassella console read your apps' logs", body: body + "\n\n",
		fields: map[string]string{"logs_key": "admin.logs_key"}, edit: func(data []byte) ([]byte, error) { return setLogsKey(data, line) }}
	s.save(w, r, sess, fc, st, ch, func(p problems, msg string) {
		var more []string
		for _, fp := range append(p.Fields["logs_key"], p.Other...) {
			more = append(more, fp.Msg)
		}
		if len(more) > 0 {
			msg += " (" + strings.Join(more, "; ") + ")"
		}
		s.fail(w, r, sess, http.StatusUnprocessableEntity, msg)
	})
}
