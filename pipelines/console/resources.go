package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
	"github.com/nassella/nassella/pipelines/cost"
)

// The resources form: server type, data volume (grow only), backup schedule, update
// window and automerge. Each field edits one value of site.yaml; the loader checks the
// result and its messages are shown beside the field they concern.

// resourceFields are the form's fields and the site.yaml paths they edit.
var resourceFields = map[string]string{
	"server_type":     typePath,
	"volume_gb":       "provider.hetzner.volume_gb",
	"backup_schedule": "backups.schedule",
	"window":          "updates.window",
	"automerge":       "updates.automerge",
}

type resourceForm struct {
	ServerType string
	VolumeGB   int
	Schedule   string
	Window     string
	Automerge  bool
}

type serverChoice struct {
	site.ServerType
	TooSmall bool
}

type resourcesData struct {
	St       *siteState
	CSRF     string
	Now      resources
	Form     resourceForm
	Types    []serverChoice
	Problems problems
	Message  string
	Cost     costs
}

func (d resourcesData) title() string { return "Resources of " + d.St.FullName() }

func (s *Server) resourcesView(w http.ResponseWriter, r *http.Request, sess *Session) (forge.Client, *resourcesData, bool) {
	fc, st, ok := s.loadSite(w, r, sess)
	if !ok {
		return nil, nil, false
	}
	if st.Site == nil || st.Site.Provider.Hetzner == nil {
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes (the site's page lists them), or its server is not at Hetzner.")
		return nil, nil, false
	}
	now := resourcesOf(st.Site)
	d := &resourcesData{St: st, CSRF: sess.CSRF, Now: now,
		Form: resourceForm{ServerType: now.ServerType, VolumeGB: now.VolumeGB, Schedule: now.Backups, Window: now.Window, Automerge: now.Automerge}}
	for _, t := range site.CurrentServerTypes() {
		d.Types = append(d.Types, serverChoice{ServerType: t, TooSmall: t.MemoryMB < now.NeedMB})
	}
	d.Cost = s.costsOf(r.Context(), st.Site, nil, site.CurrentServerTypes())
	return fc, d, true
}

func (s *Server) resourcesPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	if _, d, ok := s.resourcesView(w, r, sess); ok {
		s.render(w, r, sess, http.StatusOK, "resources", d)
	}
}

func (s *Server) resourcesPost(w http.ResponseWriter, r *http.Request, sess *Session) {
	fc, d, ok := s.resourcesView(w, r, sess)
	if !ok || !s.mayChange(w, r, sess, d.St) {
		return
	}
	f := r.PostForm
	d.Form = resourceForm{ServerType: strings.TrimSpace(f.Get("server_type")), Schedule: strings.TrimSpace(f.Get("backup_schedule")),
		Window: strings.TrimSpace(f.Get("window")), Automerge: f.Get("automerge") == "on"}
	d.Problems.Fields = map[string][]fieldProblem{}
	vol, err := strconv.Atoi(strings.TrimSpace(f.Get("volume_gb")))
	switch {
	case err != nil:
		d.Problems.Fields["volume_gb"] = []fieldProblem{{Msg: "the data volume's size must be a whole number of GB"}}
	case vol < d.Now.VolumeGB:
		d.Problems.Fields["volume_gb"] = []fieldProblem{{Msg: fmt.Sprintf("the data volume can only grow: it is %d GB now", d.Now.VolumeGB),
			Fix: fmt.Sprintf("choose %d GB or more", d.Now.VolumeGB)}}
	}
	d.Form.VolumeGB = vol
	if len(d.Problems.Fields) == 0 {
		d.Cost = s.costsOf(r.Context(), d.St.Site, &cost.Resources{ServerType: d.Form.ServerType, Location: d.Now.Location, VolumeGB: vol}, site.CurrentServerTypes())
	}
	if len(d.Problems.Fields) > 0 {
		d.Message = "Nothing was saved."
		s.render(w, r, sess, http.StatusUnprocessableEntity, "resources", d)
		return
	}
	scalars := map[string]string{}
	var said []string
	var body strings.Builder
	if d.Form.ServerType != d.Now.ServerType {
		scalars[typePath] = d.Form.ServerType
		said = append(said, "server "+d.Form.ServerType)
		to, _ := site.LookupServerType(d.Form.ServerType)
		fmt.Fprintf(&body, "- **Server**: from %s (%s of memory) to %s (%s). Merging rebuilds the server: your apps are offline for a few minutes, and your data stays on its own volume.\n",
			d.Now.ServerType, gb(d.Now.ServerMemoryMB), d.Form.ServerType, gb(to.MemoryMB))
	}
	if vol != d.Now.VolumeGB {
		scalars[resourceFields["volume_gb"]] = strconv.Itoa(vol)
		said = append(said, fmt.Sprintf("data volume %d GB", vol))
		fmt.Fprintf(&body, "- **Data volume**: grows from %d GB to %d GB. It can never shrink again.\n", d.Now.VolumeGB, vol)
	}
	if d.Form.Schedule != d.Now.Backups {
		scalars[resourceFields["backup_schedule"]] = d.Form.Schedule
		said = append(said, "backups "+d.Form.Schedule)
		fmt.Fprintf(&body, "- **Backups**: %s instead of %s (%s).\n", d.Form.Schedule, d.Now.Backups, d.Now.Timezone)
	}
	if d.Form.Window != d.Now.Window {
		scalars[resourceFields["window"]] = d.Form.Window
		said = append(said, "update window "+d.Form.Window)
		fmt.Fprintf(&body, "- **Update window**: %s instead of %s (%s): the server restarts for updates only then.\n", d.Form.Window, d.Now.Window, d.Now.Timezone)
	}
	flag := d.Form.Automerge != d.Now.Automerge
	if flag {
		word := map[bool]string{true: "on", false: "off"}[d.Form.Automerge]
		said = append(said, "automatic merging "+word)
		fmt.Fprintf(&body, "- **Updates merged by themselves** once their checks pass: %s.\n", word)
	}
	if len(said) == 0 {
		d.Message = "Nothing changed, so nothing was saved."
		s.render(w, r, sess, http.StatusOK, "resources", d)
		return
	}
	edit := func(data []byte) ([]byte, error) {
		out := data
		var err error
		if len(scalars) > 0 {
			if out, err = catalogops.SetScalars(siterepo.SiteFile, out, scalars); err != nil {
				return nil, err
			}
		}
		if flag {
			return setFlag(out, "updates", "automerge", d.Form.Automerge)
		}
		return out, nil
	}
	body.WriteString("\n" + costLine(d.Cost))
	s.save(w, r, sess, fc, d.St, change{slug: "resources", fields: resourceFields, title: "Change " + strings.Join(said, ", "),
		body: "Your site's resources change:\n\n" + body.String(), edit: edit}, func(p problems, msg string) {
		d.Problems, d.Message = p, msg
		s.render(w, r, sess, http.StatusUnprocessableEntity, "resources", d)
	})
}
