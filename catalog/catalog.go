// Package catalog is nassella's app catalog: which apps a site can run and exactly how,
// released as a whole so every site builds from one tested, pinned set. A release ships
// inside the binary (go:embed) so the CLI needs no other files; maintainers can point the
// CLI at a catalog folder to test a change.
package catalog

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/strictyaml"
)

//go:embed release.yaml apps/*.yaml
var embedded embed.FS

// Embedded returns the release built into this binary.
func Embedded() *Release {
	r, err := Load(embedded)
	if err != nil {
		// The embedded catalog is checked by this package's tests; reaching this is a build bug.
		panic("nassella: the built-in catalog is invalid: " + err.Error())
	}
	return r
}

// Load reads a release from fsys: release.yaml and apps/*.yaml.
func Load(fsys fs.FS) (*Release, error) {
	var errs diag.List
	data, err := inputfile.ReadFS(fsys, "release.yaml")
	if err != nil {
		return nil, fmt.Errorf("catalog: %w (a catalog folder holds release.yaml and apps/*.yaml)", err)
	}
	r := &Release{Apps: map[string]*App{}, Files: map[string]string{}}
	doc, derrs := strictyaml.Decode("release.yaml", data, r)
	errs = append(errs, derrs...)
	if len(derrs) == 0 {
		r.check(doc, &errs)
	}
	files, err := fs.Glob(fsys, "apps/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := inputfile.ReadFS(fsys, f)
		if err != nil {
			return nil, err
		}
		a := &App{}
		doc, derrs := strictyaml.Decode(f, data, a)
		errs = append(errs, derrs...)
		if len(derrs) > 0 {
			continue
		}
		a.check(doc, strings.TrimSuffix(path.Base(f), ".yaml"), &errs)
		r.Apps[a.Name] = a
		r.Files[a.Name] = f
	}
	if len(files) == 0 {
		errs.Add(diag.Diagnostic{File: "apps/", Msg: "the catalog has no apps", Fix: "add apps/<name>.yaml files"})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Names returns the app names, sorted.
func (r *Release) Names() []string {
	names := make([]string, 0, len(r.Apps))
	for n := range r.Apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Unpinned lists every image (and the compose sysext) that has no digest yet, as
// "app/service image:tag": the host's pieces first, then the given apps' services in
// their order, each app's by service name.
func (r *Release) Unpinned(apps []string) []string {
	var out []string
	if r.Compose.SHA512 == "" {
		out = append(out, "host/docker-compose sysext "+r.Compose.Version)
	}
	if r.Proxy.Digest == "" {
		out = append(out, "proxy/caddy "+r.Proxy.Image+":"+r.Proxy.Tag)
	}
	if r.Backup.Image != "" && r.Backup.Digest == "" {
		out = append(out, "host/restic "+r.Backup.Image+":"+r.Backup.Tag)
	}
	for _, name := range apps {
		a := r.Apps[name]
		for _, s := range a.ServiceNames() {
			if img := a.Services[s].Image; img.Digest == "" {
				out = append(out, name+"/"+s+" "+img.Image+":"+img.Tag)
			}
		}
	}
	return out
}

// ServiceNames returns the app's service names, sorted.
func (a *App) ServiceNames() []string {
	names := make([]string, 0, len(a.Services))
	for n := range a.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	releaseRe   = regexp.MustCompile(`^[0-9]{4}\.(0[1-9]|1[0-2])\.[0-9]+$`)
	nameRe      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	secretRe    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	digestRe    = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	sha512Re    = regexp.MustCompile(`^[0-9a-f]{128}$`)
	ownerRe     = regexp.MustCompile(`^[0-9]+:[0-9]+$`)
	modeRe      = regexp.MustCompile(`^0[0-7]{3}$`)
	imageRe     = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$`)
	tagRe       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)
	sizeRe      = regexp.MustCompile(`^[0-9]+(b|k|m|g|kb|mb|gb)$`)
	durationRe  = regexp.MustCompile(`^([0-9]+(ms|s|m|h))+$`)
)

// Placeholders are the values a catalog entry may use in environment values and Caddy
// directives; the generator fills them per site.
var Placeholders = []string{"{{host}}", "{{url}}", "{{domain}}", "{{admin_email}}", "{{timezone}}"}

func (r *Release) check(doc *strictyaml.Doc, errs *diag.List) {
	if !releaseRe.MatchString(r.Release) {
		errs.Add(doc.At("release", fmt.Sprintf("release %q is not of the form YYYY.MM.N", r.Release), "for example 2026.11.0"))
	}
	if r.Channel != "stable" && r.Channel != "testing" {
		errs.Add(doc.At("channel", fmt.Sprintf("channel %q is unknown", r.Channel), "use stable or testing"))
	}
	if r.Flatcar.Channel == "" || r.Flatcar.MinVersion == "" {
		errs.Add(doc.At("flatcar", "flatcar needs channel and min_version", ""))
	}
	if r.Compose.Version == "" || !strings.HasPrefix(r.Compose.URL, "https://") {
		errs.Add(doc.At("compose", "compose needs a version and an https url", ""))
	}
	if r.Compose.SHA512 != "" && !sha512Re.MatchString(r.Compose.SHA512) {
		errs.Add(doc.At("compose.sha512", "sha512 must be 128 lowercase hex digits", "leave it empty until it is read from the release"))
	}
	checkChecked(doc, "compose.checked", r.Compose.Checked, errs)
	checkImage(doc, "proxy", r.Proxy, errs)
	if r.Backup != (Image{}) {
		checkImage(doc, "backup", r.Backup, errs)
	}
	for _, h := range []struct {
		path string
		img  Image
	}{{"proxy", r.Proxy}, {"backup", r.Backup}} {
		checkVersioning(doc, h.path, h.img, errs)
		checkChecked(doc, h.path+".checked", h.img.Checked, errs)
		if v := h.img.Versioning; v != nil && v.SameAs != "" {
			errs.Add(doc.At(h.path+".versioning.same_as", "release.yaml's images have no service to move with", "remove same_as"))
		}
	}
}

func checkImage(doc *strictyaml.Doc, path string, img Image, errs *diag.List) {
	if !imageRe.MatchString(img.Image) {
		errs.Add(doc.At(path+".image", fmt.Sprintf("image %q is not a fully qualified repository", img.Image), "write it with its registry, e.g. docker.io/library/postgres"))
	}
	if !tagRe.MatchString(img.Tag) || img.Tag == "latest" {
		errs.Add(doc.At(path+".tag", fmt.Sprintf("tag %q is not a pinned tag", img.Tag), "name an exact upstream version, never latest"))
	}
	if img.Digest != "" && !digestRe.MatchString(img.Digest) {
		errs.Add(doc.At(path+".digest", fmt.Sprintf("digest %q is not sha256:<64 hex digits>", img.Digest), "leave it empty; the catalog pipeline fills it from the registry"))
	}
}

// checkVersioning checks an image's update policy, and that its own tag is one of the tags
// the policy describes: a pattern that does not match the current tag would never find
// the next one either.
func checkVersioning(doc *strictyaml.Doc, path string, img Image, errs *diag.List) {
	v := img.Versioning
	if v == nil {
		return
	}
	p := path + ".versioning"
	switch v.Allow {
	case "", AllowPatch, AllowMinor, AllowMajor:
	default:
		errs.Add(doc.At(p+".allow", fmt.Sprintf("allow %q is unknown", v.Allow), "use patch, minor (the default) or major"))
	}
	checkMajors(doc, p, v, errs)
	if v.Tags == "" {
		errs.Add(doc.At(p, "versioning needs tags, a regular expression with a group named version", `for example tags: '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'`))
		return
	}
	if _, err := v.Pattern(); err != nil {
		errs.Add(doc.At(p+".tags", "versioning.tags "+err.Error(), `write one like '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'`))
		return
	}
	if _, _, ok := v.Match(img.Tag); !ok && tagRe.MatchString(img.Tag) {
		errs.Add(doc.At(p+".tags", fmt.Sprintf("tag %q does not match versioning.tags, or its version group is not a semantic version", img.Tag),
			"change the pattern so it reads the version of the current tag"))
	}
}

// appCheck checks one catalog entry, step by step; each step adds what it finds to errs.
type appCheck struct {
	a    *App
	doc  *strictyaml.Doc
	errs *diag.List
	// secrets and volumes are the names the app declares.
	secrets, volumes map[string]bool
}

func (c *appCheck) add(path, msg, fix string) { c.errs.Add(c.doc.At(path, msg, fix)) }

func (a *App) check(doc *strictyaml.Doc, file string, errs *diag.List) {
	c := &appCheck{a: a, doc: doc, errs: errs, secrets: map[string]bool{}, volumes: map[string]bool{}}
	c.fields(file)
	checkPlaceholders(doc, "caddy", a.Caddy, errs)
	c.declared()
	c.backup()
	for _, name := range a.ServiceNames() {
		c.service(name)
	}
	c.upgrades()
	c.mail()
	c.files()
	c.claim()
}

// fields checks the entry's own fields: names, texts, URLs, version, HTTP and health.
func (c *appCheck) fields(file string) {
	a, add := c.a, c.add
	if a.Name != file {
		add("name", fmt.Sprintf("name %q does not match the file name %q", a.Name, file+".yaml"), "rename one of them")
	}
	if !nameRe.MatchString(a.Name) {
		add("name", fmt.Sprintf("app name %q must be lowercase letters, digits and dashes", a.Name), "")
	}
	for _, f := range []struct{ path, v string }{{"title", a.Title}, {"summary", a.Summary}, {"version", a.Version}} {
		if f.v == "" {
			add(f.path, f.path+" is required", "")
		}
	}
	for _, f := range []struct{ path, v string }{{"homepage", a.Homepage}, {"changelog", a.Changelog}} {
		if !strings.HasPrefix(f.v, "https://") {
			add(f.path, f.path+" must be an https URL", "")
		}
	}
	if a.ChangelogTemplate != "" {
		if !strings.HasPrefix(a.ChangelogTemplate, "https://") {
			add("changelog_template", "changelog_template must be an https URL", "")
		} else if v, ok := a.AppVersion(); ok {
			switch url, err := ExpandChangelog(a.ChangelogTemplate, v); {
			case err != nil:
				add("changelog_template", err.Error(), "")
			case url != a.Changelog:
				add("changelog_template", fmt.Sprintf("changelog_template gives %s for version %s, but changelog is %s", url, v, a.Changelog), "make the template give the changelog URL")
			}
		}
	}
	if v, ok := a.AppVersion(); ok && v != a.Version {
		add("version", fmt.Sprintf("version %q is not the version %q in the tag of the http service %q", a.Version, v, a.HTTP.Service),
			"keep version and the tag in step: the catalog pipeline reads new versions from the tag")
	}
	if !nameRe.MatchString(a.Subdomain) {
		add("subdomain", fmt.Sprintf("subdomain %q is not a valid DNS label", a.Subdomain), "")
	}
	if a.MemoryMB < 64 {
		add("memory_mb", "memory_mb must say what the app needs, at least 64", "")
	}
	if len(a.Services) == 0 {
		add("services", "the app has no services", "")
	}
	if _, ok := a.Services[a.HTTP.Service]; !ok {
		add("http.service", fmt.Sprintf("http.service %q is not one of the app's services", a.HTTP.Service), "")
	}
	if a.HTTP.Port < 1 || a.HTTP.Port > 65535 {
		add("http.port", "http.port must be 1 to 65535", "")
	}
	if !strings.HasPrefix(a.Health.Path, "/") {
		add("health.path", "health.path must start with /", "")
	}
	if a.Health.Status < 100 || a.Health.Status > 599 {
		add("health.status", "health.status must be an HTTP status code", "")
	}
}

// declared checks the secrets and volumes the app declares, and records their names.
func (c *appCheck) declared() {
	a, add, secrets, volumes := c.a, c.add, c.secrets, c.volumes
	for i, s := range a.Secrets {
		p := "secrets." + strconv.Itoa(i)
		if !secretRe.MatchString(s.Name) {
			add(p+".name", fmt.Sprintf("secret name %q must be UPPER_CASE", s.Name), "")
		}
		if secrets[s.Name] {
			add(p+".name", fmt.Sprintf("secret %q is listed twice", s.Name), "")
		}
		secrets[s.Name] = true
		if s.Length < 16 || s.Length > 128 {
			add(p+".length", "length must be 16 to 128", "")
		}
	}
	for i, v := range a.Volumes {
		p := "volumes." + strconv.Itoa(i)
		if !nameRe.MatchString(v.Name) || volumes[v.Name] {
			add(p+".name", fmt.Sprintf("volume name %q must be unique, lowercase letters, digits and dashes", v.Name), "")
		}
		volumes[v.Name] = true
		if v.Owner != "" && !ownerRe.MatchString(v.Owner) {
			add(p+".owner", fmt.Sprintf("owner %q must be uid:gid in numbers", v.Owner), "")
		}
		if v.Mode != "" && !modeRe.MatchString(v.Mode) {
			add(p+".mode", fmt.Sprintf("mode %q must be octal like 0750", v.Mode), "")
		}
	}
}

// backup checks the excluded volumes and the hooks that dump data before a backup.
func (c *appCheck) backup() {
	a, add, volumes := c.a, c.add, c.volumes
	for i, e := range a.Backup.Exclude {
		if !volumes[e] {
			add("backup.exclude."+strconv.Itoa(i), fmt.Sprintf("%q is not one of the app's volumes", e), "")
		}
	}
	outputs := map[string]bool{}
	for i, h := range a.Backup.Hooks {
		p := "backup.hooks." + strconv.Itoa(i)
		if _, ok := a.Services[h.Service]; !ok {
			add(p+".service", fmt.Sprintf("hook service %q is not one of the app's services", h.Service), "")
		}
		if len(h.Command) == 0 {
			add(p+".command", "a hook needs a command", "")
		}
		if !nameRe.MatchString(strings.ReplaceAll(h.Output, ".", "-")) {
			add(p+".output", fmt.Sprintf("output %q must be a plain file name", h.Output), "")
		} else if outputs[h.Output] {
			add(p+".output", fmt.Sprintf("output %q is written by two hooks", h.Output), "give each hook its own file")
		}
		outputs[h.Output] = true
	}
}

// service checks one service: its image and versioning, mounts, dependencies, health
// check, and the secrets it refers to.
func (c *appCheck) service(name string) {
	a, add, volumes := c.a, c.add, c.volumes
	s := a.Services[name]
	p := "services." + name
	if !nameRe.MatchString(name) {
		add(p, fmt.Sprintf("service name %q must be lowercase letters, digits and dashes", name), "")
	}
	checkImage(c.doc, p, s.Image, c.errs)
	checkVersioning(c.doc, p, s.Image, c.errs)
	if v := s.Versioning; v != nil && v.SameAs != "" {
		c.sameAs(p, name, s, v)
	}
	for i, m := range s.Volumes {
		parts := strings.Split(m, ":")
		ok := (len(parts) == 2 || len(parts) == 3 && parts[2] == "ro") && volumes[parts[0]] && strings.HasPrefix(parts[1], "/")
		if !ok {
			add(fmt.Sprintf("%s.volumes.%d", p, i), fmt.Sprintf("%q must be <volume>:<absolute path>[:ro] with a volume the app declares", m), "")
		}
	}
	for i, dep := range s.DependsOn {
		if _, ok := a.Services[dep]; !ok || dep == name {
			add(fmt.Sprintf("%s.depends_on.%d", p, i), fmt.Sprintf("%q is not another service of the app", dep), "")
		}
	}
	if s.ShmSize != "" && !sizeRe.MatchString(s.ShmSize) {
		add(p+".shm_size", fmt.Sprintf("shm_size %q must be a size like 128mb", s.ShmSize), "")
	}
	if h := s.Healthcheck; h != nil {
		if len(h.Test) < 2 || (h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL") {
			add(p+".healthcheck.test", "test must start with CMD or CMD-SHELL and have a command", "")
		}
		for _, d := range []struct{ k, v string }{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}} {
			if d.v != "" && !durationRe.MatchString(d.v) {
				add(p+".healthcheck."+d.k, fmt.Sprintf("%s %q must be a duration like 30s", d.k, d.v), "")
			}
		}
	}
	c.refs(p, s)
}

// sameAs checks a service whose version moves with another's: that one leads, and both
// tags hold the same version.
func (c *appCheck) sameAs(p, name string, s *Service, v *Versioning) {
	a, add := c.a, c.add
	other := a.Services[v.SameAs]
	switch {
	case other == nil || v.SameAs == name:
		add(p+".versioning.same_as", fmt.Sprintf("%q is not another service of the app", v.SameAs), "")
	case other.Versioning == nil || other.Versioning.SameAs != "":
		add(p+".versioning.same_as", fmt.Sprintf("service %q has no versioning of its own to follow", v.SameAs), "name the service whose versioning leads")
	default:
		mine, _, ok1 := v.Match(s.Tag)
		theirs, _, ok2 := other.Versioning.Match(other.Tag)
		if ok1 && ok2 && mine != theirs {
			add(p+".tag", fmt.Sprintf("version %s differs from %s's %s, which this service moves with", mine, v.SameAs, theirs), "use the same version in both tags")
		}
	}
}

// refs checks the ${X} a service refers to: Compose substitutes them everywhere in the
// file, not only in the environment, so every field it reads must name declared secrets.
func (c *appCheck) refs(p string, s *Service) {
	add, secrets := c.add, c.secrets
	checkRefs := func(path, v string) {
		for _, ref := range interpolations(v) {
			if !secrets[ref] {
				add(path, fmt.Sprintf("${%s} is not one of the app's secrets", ref), "declare it under secrets, or write $$ for a literal dollar sign")
			}
		}
	}
	for _, k := range sortedKeys(s.Environment) {
		checkPlaceholders(c.doc, p+".environment."+k, s.Environment[k], c.errs)
		checkRefs(p+".environment."+k, s.Environment[k])
	}
	for _, l := range []struct {
		path string
		vs   []string
	}{{"command", s.Command}, {"entrypoint", s.Entrypoint}, {"tmpfs", s.Tmpfs}} {
		for i, v := range l.vs {
			checkRefs(fmt.Sprintf("%s.%s.%d", p, l.path, i), v)
		}
	}
	if s.Healthcheck != nil {
		for i, v := range s.Healthcheck.Test {
			checkRefs(fmt.Sprintf("%s.healthcheck.test.%d", p, i), v)
		}
	}
	checkRefs(p+".user", s.User)
}

func checkPlaceholders(doc *strictyaml.Doc, path, s string, errs *diag.List) {
	for _, p := range placeholder.FindAllString(s, -1) {
		known := false
		for _, k := range Placeholders {
			known = known || p == k
		}
		if !known {
			errs.Add(doc.At(path, fmt.Sprintf("unknown placeholder %s", p), "use one of "+strings.Join(Placeholders, ", ")))
		}
	}
}

// ${X} may carry a compose modifier (${X:-default}, ${X?message}, ${X:+alt}); it still
// reads X.
var interpolationRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolations returns the variables compose would substitute in s.
func interpolations(s string) []string {
	var out []string
	for _, m := range interpolationRe.FindAllStringSubmatch(s, -1) {
		switch {
		case m[1] != "":
			out = append(out, m[1])
		case m[2] != "":
			out = append(out, m[2])
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
