package console

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
	"github.com/nassella/nassella/pipelines/cost"
)

// The resources form: the server's size (a Hetzner server type, an OpenStack flavor, or
// memory and CPUs on one's own machine), the data volume (grow only, where merging
// grows it), backup schedule, update window and automerge. Each field edits one value
// of site.yaml; the loader checks the result and its messages are shown beside the
// field they concern.

// resourceFields are the form's fields on a platform and the site.yaml paths they edit.
func resourceFields(platform string) map[string]string {
	f := map[string]string{
		"backup_schedule": "backups.schedule",
		"window":          "updates.window",
		"automerge":       "updates.automerge",
	}
	switch platform {
	case "hetzner":
		f["server_type"], f["volume_gb"] = typePath, "provider.hetzner.volume_gb"
	case "openstack":
		f["flavor"], f["volume_gb"] = "provider.openstack.flavor", "provider.openstack.volume_gb"
	case "libvirt":
		// No volume_gb: the provider cannot grow a libvirt volume (libvirt/volume.tf), so
		// a larger figure would change nothing; the owner grows it on the machine.
		f["memory_mb"], f["vcpus"] = "provider.libvirt.memory_mb", "provider.libvirt.vcpus"
	}
	return f
}

type resourceForm struct {
	ServerType string
	Flavor     string
	MemoryMB   int
	VCPUs      int
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
	if st.Site == nil || resourcesOf(st.Site).Platform == "" {
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes: the site's page lists them.")
		return nil, nil, false
	}
	now := resourcesOf(st.Site)
	d := &resourcesData{St: st, CSRF: sess.CSRF, Now: now,
		Form: resourceForm{ServerType: now.ServerType, Flavor: now.Flavor, MemoryMB: now.ServerMemoryMB, VCPUs: now.VCPUs,
			VolumeGB: now.VolumeGB, Schedule: now.Backups, Window: now.Window, Automerge: now.Automerge}}
	if now.Platform == "hetzner" {
		for _, t := range site.CurrentServerTypes() {
			d.Types = append(d.Types, serverChoice{ServerType: t, TooSmall: t.MemoryMB < now.NeedMB})
		}
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
	now := d.Now
	fields := resourceFields(now.Platform)
	d.Form = resourceForm{ServerType: now.ServerType, Flavor: now.Flavor, MemoryMB: now.ServerMemoryMB, VCPUs: now.VCPUs, VolumeGB: now.VolumeGB,
		Schedule: strings.TrimSpace(f.Get("backup_schedule")), Window: strings.TrimSpace(f.Get("window")), Automerge: f.Get("automerge") == "on"}
	d.Problems.Fields = map[string][]fieldProblem{}
	number := func(field, what string, to *int) {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(field)))
		if err != nil {
			d.Problems.Fields[field] = []fieldProblem{{Msg: what + " must be a whole number"}}
			return
		}
		*to = n
	}
	switch now.Platform {
	case "hetzner":
		d.Form.ServerType = strings.TrimSpace(f.Get("server_type"))
	case "openstack":
		d.Form.Flavor = strings.TrimSpace(f.Get("flavor"))
	case "libvirt":
		number("memory_mb", "the memory in MiB", &d.Form.MemoryMB)
		number("vcpus", "the number of virtual CPUs", &d.Form.VCPUs)
	}
	if _, ok := fields["volume_gb"]; ok {
		number("volume_gb", "the data volume's size in GB", &d.Form.VolumeGB)
		if vol := d.Form.VolumeGB; vol < now.VolumeGB && len(d.Problems.Fields["volume_gb"]) == 0 {
			d.Problems.Fields["volume_gb"] = []fieldProblem{{Msg: fmt.Sprintf("the data volume can only grow: it is %d GB now", now.VolumeGB),
				Fix: fmt.Sprintf("choose %d GB or more", now.VolumeGB)}}
		}
	}
	if len(d.Problems.Fields) == 0 && now.Platform == "hetzner" {
		d.Cost = s.costsOf(r.Context(), d.St.Site, &cost.Resources{ServerType: d.Form.ServerType, Location: now.Location, VolumeGB: d.Form.VolumeGB}, site.CurrentServerTypes())
	}
	if len(d.Problems.Fields) > 0 {
		d.Message = "Nothing was saved."
		s.render(w, r, sess, http.StatusUnprocessableEntity, "resources", d)
		return
	}
	scalars := map[string]string{}
	added := map[string]int{} // keys site.yaml may not have yet (vcpus)
	var said []string
	var body strings.Builder
	if d.Form.ServerType != now.ServerType {
		scalars[typePath] = d.Form.ServerType
		said = append(said, "server "+d.Form.ServerType)
		to, _ := site.LookupServerType(d.Form.ServerType)
		fmt.Fprintf(&body, "- **Server**: from %s (%s of memory) to %s (%s). Merging rebuilds the server: your apps are offline for a few minutes, and your data stays on its own volume.\n",
			now.ServerType, gb(now.ServerMemoryMB), d.Form.ServerType, gb(to.MemoryMB))
	}
	if d.Form.Flavor != now.Flavor {
		scalars[fields["flavor"]] = d.Form.Flavor
		said = append(said, "flavor "+d.Form.Flavor)
		// Nova resizes the server in place, which restarts it (Nova's "Resize an
		// instance"; the provider resizes on a new flavor_id, resource_openstack_compute_instance_v2.go).
		fmt.Fprintf(&body, "- **Server**: flavor %s instead of %s. Merging resizes the server, which restarts it: your apps are offline for a few minutes, and your data stays on its own volume. "+
			"The plan checks that %s has the %s of memory your apps and the system need.\n", d.Form.Flavor, now.Flavor, d.Form.Flavor, gb(now.NeedMB))
	}
	// libvirt sets memory and CPUs when it creates a server (both force a new domain in
	// the provider's schema, libvirt/resource_libvirt_domain.go).
	rebuild := "Merging rebuilds the server, as libvirt sets this when it creates one: your apps are offline for a few minutes, and your data stays on its own disk."
	if d.Form.MemoryMB != now.ServerMemoryMB && now.Platform == "libvirt" {
		added[fields["memory_mb"]] = d.Form.MemoryMB
		said = append(said, "memory "+gb(d.Form.MemoryMB))
		fmt.Fprintf(&body, "- **Memory**: %s instead of %s; %s must have it free. %s\n", gb(d.Form.MemoryMB), gb(now.ServerMemoryMB), strings.TrimPrefix(now.Where, "your own machine "), rebuild)
	}
	if d.Form.VCPUs != now.VCPUs && now.Platform == "libvirt" {
		added[fields["vcpus"]] = d.Form.VCPUs
		said = append(said, fmt.Sprintf("%d virtual CPUs", d.Form.VCPUs))
		fmt.Fprintf(&body, "- **Virtual CPUs**: %d instead of %d. %s\n", d.Form.VCPUs, now.VCPUs, rebuild)
	}
	if vol := d.Form.VolumeGB; vol != now.VolumeGB {
		scalars[fields["volume_gb"]] = strconv.Itoa(vol)
		said = append(said, fmt.Sprintf("data volume %d GB", vol))
		fmt.Fprintf(&body, "- **Data volume**: grows from %d GB to %d GB. It can never shrink again.\n", now.VolumeGB, vol)
	}
	if d.Form.Schedule != d.Now.Backups {
		scalars[fields["backup_schedule"]] = d.Form.Schedule
		said = append(said, "backups "+d.Form.Schedule)
		fmt.Fprintf(&body, "- **Backups**: %s instead of %s (%s).\n", d.Form.Schedule, d.Now.Backups, d.Now.Timezone)
	}
	if d.Form.Window != d.Now.Window {
		scalars[fields["window"]] = d.Form.Window
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
		for _, path := range slices.Sorted(maps.Keys(added)) {
			parent, key := path[:strings.LastIndex(path, ".")], path[strings.LastIndex(path, ".")+1:]
			if out, err = setEntry(out, parent, key, strconv.Itoa(added[path]), added[path]); err != nil {
				return nil, err
			}
		}
		if flag {
			return setFlag(out, "updates", "automerge", d.Form.Automerge)
		}
		return out, nil
	}
	body.WriteString("\n" + costLine(d.Cost))
	s.save(w, r, sess, fc, d.St, change{slug: "resources", fields: fields, title: "Change " + strings.Join(said, ", "),
		body: "Your site's resources change:\n\n" + body.String(), edit: edit}, func(p problems, msg string) {
		d.Problems, d.Message = p, msg
		s.render(w, r, sess, http.StatusUnprocessableEntity, "resources", d)
	})
}
