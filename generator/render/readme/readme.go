// Package readme renders what the owner reads in the site repo, in plain words: the
// README (what may be edited, what is generated) and the owner's guide (every setting,
// what merging does, the first login to each app, getting the data out, who to ask).
package readme

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// Path is the README's place in the site repo.
const Path = "README.md"

// GuidePath is the owner's guide's place in the site repo, linked from the README.
const GuidePath = "GUIDE.md"

var tmpl = template.Must(template.ParseFS(sitetemplate.FS, "README.md.tmpl", "GUIDE.md.tmpl"))

type app struct{ Name, Title, Summary, Host, Version string }

// data is what both templates may show.
type data struct {
	Header, Name, Guide string
	Apps                []app
	// Support is the support contact in Markdown, or "your co-op"; Ask is its name
	// linked to the page's "Who to ask", for every later mention. HasSupport says
	// site.yaml names one.
	Support, Ask string
	HasSupport   bool
	// BackupKey says admin.backup_key is set: a rebuild is preceded by a backup.
	BackupKey                              bool
	Window, Timezone, Schedule             string
	Keep                                   string
	Settings                               []setting
	Volume, VolumeWhere, DataDir, AppsData string
	// Bigger says which site.yaml fields size the server and its disk on its platform.
	Bigger string
	// Repository is the restic repository of the backups; BackupHost and BackupTag pick
	// the site's own snapshots in it.
	Repository, BackupHost, BackupTag string
	// DNS is the README's section on the site's DNS setup (DNSSection).
	DNS string
	// Mail is the README's section on the e-mail the apps send (MailSection).
	Mail string
	// Updates is the README's section on the update plan (UpdatesSection).
	Updates string
}

func newData(in render.Input) data {
	s := in.Site
	d := data{
		Header:     strings.ReplaceAll(strings.TrimSpace(render.Header("", in)), "\n ", " "),
		Name:       s.Name,
		Guide:      GuidePath,
		Support:    s.Support.Markdown(),
		Ask:        site.NoSupport,
		HasSupport: s.Support != nil,
		BackupKey:  s.Admin.BackupKey != "",
		Window:     s.Updates.Window,
		Timezone:   s.Updates.Timezone,
		Schedule:   s.Backups.Schedule,
		Keep:       keep(s.Backups.Keep.Daily, s.Backups.Keep.Weekly, s.Backups.Keep.Monthly),
		Settings:   settings(),
		// The volume's name in site-template/terraform/<platform>/volume.tf.
		Volume:      s.Name + "-data",
		VolumeWhere: "at Hetzner",
		Bigger:      "`provider.hetzner.server_type` and `volume_gb` (the disk can\n  grow, never shrink)",
		DataDir:     hostcontract.DataDir,
		AppsData:    hostcontract.AppsData,
		BackupHost:  s.Name,
		BackupTag:   hostcontract.BackupTag,
		DNS:         DNSSection(s),
		Updates:     UpdatesSection(s),
	}
	if v := s.Provider.Libvirt; v != nil {
		d.Volume = s.Name + "-data.qcow2"
		d.VolumeWhere = fmt.Sprintf("in the libvirt pool %s on %s", v.PoolOrDefault(), v.Host)
		d.Bigger = "`provider.libvirt.memory_mb` and `vcpus`; the disk grows on the\n  machine itself (`virsh vol-resize`), never through site.yaml"
	}
	if o := s.Provider.OpenStack; o != nil {
		d.VolumeWhere = fmt.Sprintf("in your OpenStack project (region %s)", o.Region)
		d.Bigger = "`provider.openstack.flavor` and `volume_gb` (the disk can\n  grow, never shrink)"
	}
	if s.Support != nil {
		d.Ask = fmt.Sprintf("[%s](#who-to-ask)", s.Support.Name)
	}
	d.Mail = MailSection(s, d.Ask)
	if t := s.Backups.Target.S3; t != nil {
		d.Repository = hostcontract.Repository(t.Endpoint, t.Bucket, s.Name)
	}
	for _, a := range s.Apps {
		d.Apps = append(d.Apps, app{a.Name, a.Spec.Title, a.Spec.Summary, a.Host, a.Spec.Version})
	}
	return d
}

// keep says how many backups are kept, in words: "7 daily, 4 weekly and 6 monthly".
func keep(daily, weekly, monthly int) string {
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{{daily, "daily"}, {weekly, "weekly"}, {monthly, "monthly"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func execute(name string, in render.Input) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, newData(in)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b.Bytes(), nil
}

// Render returns the README.
func Render(in render.Input) ([]byte, error) { return execute(Path+".tmpl", in) }

// Guide returns the owner's guide.
func Guide(in render.Input) ([]byte, error) { return execute(GuidePath+".tmpl", in) }
