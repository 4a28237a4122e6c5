package site

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // timezones are checked the same on every machine

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/strictyaml"
)

// App is one app of a site, resolved against the catalog.
type App struct {
	Name string
	Host string // fully qualified, e.g. cloud.acme.example
	Zone string // the DNS zone the host's records go in
	Spec *catalog.App
}

// Loaded is a valid site with its apps resolved.
type Loaded struct {
	*Site
	File string
	Apps []App // sorted by name
}

// Zones returns the DNS zones the site needs, sorted.
func (l *Loaded) Zones() []string {
	if l.DNS.RecordsOnly != nil {
		return nil // the owner's DNS host keeps the records (dns.go)
	}
	seen := map[string]bool{}
	var zones []string
	for _, a := range l.Apps {
		if !seen[a.Zone] {
			seen[a.Zone] = true
			zones = append(zones, a.Zone)
		}
	}
	sort.Strings(zones)
	return zones
}

// AppNames returns the site's app names, sorted.
func (l *Loaded) AppNames() []string {
	names := make([]string, len(l.Apps))
	for i, a := range l.Apps {
		names[i] = a.Name
	}
	return names
}

// MemoryMB is what the apps and the host need together.
func (l *Loaded) MemoryMB() int {
	total := HostReserveMB
	for _, a := range l.Apps {
		total += a.Spec.MemoryMB
	}
	return total
}

// Load decodes and checks site.yaml (named file in messages) against a catalog release.
// The error, when not nil, is a diag.List with every problem found.
func Load(file string, data []byte, cat *catalog.Release) (*Loaded, error) {
	s := &Site{}
	doc, errs := strictyaml.Decode(file, data, s)
	if len(errs) > 0 && len(doc.Values) == 0 {
		return nil, errs.Err()
	}
	l := &Loaded{Site: s, File: file}
	c := checker{doc: doc, errs: &errs, cat: cat}
	c.site(l)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

type checker struct {
	doc  *strictyaml.Doc
	errs *diag.List
	cat  *catalog.Release
}

func (c *checker) add(path, msg, fix string) { c.errs.Add(c.doc.At(path, msg, fix)) }

// required reports a missing field at its parent and returns false.
func (c *checker) required(path, example string) bool {
	if c.doc.Bad[path] {
		return false
	}
	if c.doc.Has(path) {
		return true
	}
	i := strings.LastIndexByte(path, '.')
	key := path[i+1:]
	where := "at the top level"
	if i > 0 {
		where = "under " + path[:i]
	}
	c.add(path, fmt.Sprintf("%s is missing", path), fmt.Sprintf("add %s: %s %s", key, example, where))
	return false
}

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)
	labelRe    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tldRe      = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	bucketRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	scheduleRe = regexp.MustCompile(`^daily ([01][0-9]|2[0-3]):([0-5][0-9])$`)
	restoreRe  = regexp.MustCompile(`^(latest|[0-9a-f]{8,64})$`)
	windowRe   = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

func (c *checker) site(l *Loaded) {
	s := l.Site
	if c.required("version", "1") && s.Version != 1 {
		c.add("version", fmt.Sprintf("version %d is not supported", s.Version), "this nassella reads version: 1")
	}
	if c.required("name", "acme") && !nameRe.MatchString(s.Name) {
		c.add("name", fmt.Sprintf("name %q must be 1 to 32 lowercase letters, digits and dashes, not starting or ending with a dash", s.Name), "for example: name: acme")
	}
	if c.required("domain", "acme.example") {
		c.domain("domain", s.Domain)
	}
	c.admin(s)
	c.provider(s)
	c.apps(l)
	c.serverTypeGone(l)
	c.dns(l) // after apps: the records must not take an app's name (dns.go)
	c.backups(s)
	c.updates(s)
	c.support(s)
	c.mail(s)
	c.state(s)
}

func (c *checker) state(s *Site) {
	if s.State == nil {
		return
	}
	if s.State.S3 == nil {
		c.add("state", "no state storage is set", "add s3: { endpoint: https://…, bucket: … } under state, or remove state")
		return
	}
	c.s3("state.s3", s.State.S3)
}

// domain checks a DNS name the apps are served under.
func (c *checker) domain(path, d string) bool {
	if d != strings.ToLower(d) {
		c.add(path, fmt.Sprintf("domain %q has capital letters", d), fmt.Sprintf("write it in lowercase: %s", strings.ToLower(d)))
		return false
	}
	bad := func(why string) bool {
		c.add(path, fmt.Sprintf("%q is not a valid domain: %s", d, why), "write the bare domain, like acme.example (no https://, no slash)")
		return false
	}
	if strings.HasSuffix(d, ".") {
		return bad("it ends with a dot")
	}
	if strings.Contains(d, "://") || strings.ContainsAny(d, "/ :@") {
		return bad("it has a scheme, path, port or space")
	}
	if len(d) > 253 {
		return bad("it is longer than 253 characters")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return bad("it needs at least one dot")
	}
	for _, lb := range labels {
		if !labelRe.MatchString(lb) {
			return bad(fmt.Sprintf("%q is not a valid part of a domain", lb))
		}
	}
	if !tldRe.MatchString(labels[len(labels)-1]) {
		return bad("its last part must start with a letter")
	}
	return true
}

func (c *checker) admin(s *Site) {
	if !c.required("admin", "{ email: you@example.org, ssh_keys: [...] }") {
		return
	}
	if c.required("admin.email", "you@example.org") {
		a, err := mail.ParseAddress(s.Admin.Email)
		if err != nil || a.Address != s.Admin.Email || !strings.Contains(s.Admin.Email[strings.LastIndexByte(s.Admin.Email, '@')+1:], ".") {
			c.add("admin.email", fmt.Sprintf("%q is not an email address", s.Admin.Email), "write just the address, like ops@acme.example")
		}
	}
	if !c.required("admin.ssh_keys", `[ "ssh-ed25519 AAAA… you@laptop" ]`) {
		return
	}
	if len(s.Admin.SSHKeys) == 0 {
		c.add("admin.ssh_keys", "admin.ssh_keys is empty", "add at least one public key so someone can reach the server in an emergency")
	}
	seen := map[string]int{}
	for i, k := range s.Admin.SSHKeys {
		p := fmt.Sprintf("admin.ssh_keys.%d", i)
		if strings.Contains(k, "PRIVATE KEY") {
			c.add(p, "this is a PRIVATE key", "remove it now and paste the public key instead (the .pub file); replace this key pair, as it is no longer secret")
			continue
		}
		pub, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(k))
		if err == nil && len(opts) > 0 {
			c.add(p, "this key has options in front of it", `remove the options; write just "ssh-ed25519 AAAA… you@laptop"`)
			continue
		}
		if err != nil || len(rest) > 0 || strings.ContainsRune(strings.TrimSpace(k), '\n') {
			c.add(p, "this is not one public SSH key", `paste one line from your .pub file, like "ssh-ed25519 AAAA… you@laptop"`)
			continue
		}
		if strings.Contains(k, exampleKey) {
			c.add(p, "this is the example key from the template", "replace it with your own public key (the .pub file)")
			continue
		}
		fp := ssh.FingerprintSHA256(pub)
		if j, dup := seen[fp]; dup {
			c.add(p, fmt.Sprintf("this key is the same as ssh_keys item %d", j+1), "remove one of them")
		}
		seen[fp] = i
	}
	c.forcedKeys(s)
}

func (c *checker) provider(s *Site) {
	if !c.required("provider", "{ hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 } }") {
		return
	}
	if c.platform("provider", s.Provider) {
		c.previous(s)
	}
}

// platform checks the one provider set under path (provider, or provider.previous) and
// says whether it is sound.
func (c *checker) platform(path string, p Provider) bool {
	if set := p.Platforms(); len(set) > 1 {
		fix := "keep the one the server runs on; to move the site, keep the new one and put the old one under provider.previous (docs/owner/moving.md)"
		if path != "provider" {
			fix = "keep the one the site runs on now"
		}
		c.add(path+"."+set[len(set)-1], fmt.Sprintf("%s providers are set, %s", map[int]string{2: "two"}[len(set)]+map[int]string{3: "three"}[len(set)], strings.Join(set, " and ")), fix)
		return false
	}
	before := len(*c.errs)
	switch {
	case p.OpenStack != nil:
		c.openstack(path, p.OpenStack)
	case p.Libvirt != nil:
		c.libvirt(path, p.Libvirt)
	case p.Hetzner != nil:
		c.hetzner(path, p.Hetzner)
	case path == "provider":
		c.add(path, "no provider is set", "add hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 } under provider, libvirt: { ... } for your own hardware, or openstack: { ... } for an OpenStack cloud")
	default:
		c.add(path, "the provider the site is moving from is not set", "copy the block that was under provider before the move, like hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 }")
	}
	return len(*c.errs) == before
}

func (c *checker) hetzner(path string, h *Hetzner) {
	p := path + ".hetzner"
	if c.required(p+".location", "nbg1") {
		if _, ok := hetznerDatacenters[h.Location]; !ok {
			c.add(p+".location", fmt.Sprintf("location %q is not a Hetzner location", h.Location),
				suggest(h.Location, sortedKeys(hetznerDatacenters), "use one of fsn1, nbg1, hel1 (Europe), ash, hil (USA), sin (Singapore)"))
		}
	}
	if c.required(p+".server_type", "cx33") {
		if _, ok := serverType(h.ServerType); !ok {
			fix := suggest(h.ServerType, serverTypeNames(), "use one of "+strings.Join(serverTypeNames(), ", "))
			if strings.HasPrefix(h.ServerType, "cax") {
				fix = "Arm (cax) servers are not supported yet; use an x86 type such as cx33"
			}
			c.add(p+".server_type", fmt.Sprintf("server type %q is not one nassella supports", h.ServerType), fix)
		}
	}
	if c.required(p+".volume_gb", "50") && (h.VolumeGB < 10 || h.VolumeGB > 10240) {
		c.add(p+".volume_gb", fmt.Sprintf("volume_gb %d is out of range", h.VolumeGB), "Hetzner volumes are 10 to 10240 GB")
	}
}

// previous checks a move (docs/owner/moving.md): the old platform is another provider,
// and the old server can be backed up before the new one restores that backup.
func (c *checker) previous(s *Site) {
	prev := s.Provider.Previous
	if prev == nil || !c.platform("provider.previous", prev.Provider()) {
		return
	}
	from, to := prev.Provider().Platforms()[0], s.Provider.Platforms()[0]
	if from == to {
		c.add("provider.previous."+from, fmt.Sprintf("the site would move from %s to %s", from, to),
			"a move within one provider (another location, region or host) is not supported yet: both servers would have the same names there; ask your co-op")
		return
	}
	if !prev.Retire && s.Admin.BackupKey == "" {
		c.add("provider.previous", "the site cannot be backed up before it moves: admin.backup_key is not set",
			"add admin.backup_key (the public key of the CI secret BACKUP_SSH_KEY): the move takes a fresh backup of the old server, which the new one restores")
	}
}

func (c *checker) apps(l *Loaded) {
	s := l.Site
	if !c.required("apps", "{ nextcloud: {} }") {
		return
	}
	if len(s.Apps) == 0 {
		c.add("apps", "no apps are listed", fmt.Sprintf("add at least one, e.g. vaultwarden: {}; available: %s", strings.Join(c.cat.Names(), ", ")))
		return
	}
	names := make([]string, 0, len(s.Apps))
	for n := range s.Apps {
		names = append(names, n)
	}
	sort.Strings(names)
	hosts := map[string]string{} // host → app that has it
	for _, name := range names {
		conf := s.Apps[name]
		p := "apps." + name
		spec, ok := c.cat.Apps[name]
		if !ok {
			c.errs.Add(c.doc.AtKey(p, fmt.Sprintf("there is no app %q in catalog %s", name, c.cat.Release),
				suggest(name, c.cat.Names(), "available: "+strings.Join(c.cat.Names(), ", "))))
			continue
		}
		sub := spec.Subdomain
		if conf.Subdomain != "" {
			sub = conf.Subdomain
			if !labelRe.MatchString(sub) {
				c.add(p+".subdomain", fmt.Sprintf("subdomain %q is not valid", sub), "use lowercase letters, digits and dashes, like cloud")
				continue
			}
		}
		zone := s.Domain
		if conf.Domain != "" {
			if !c.domain(p+".domain", conf.Domain) {
				continue
			}
			zone = conf.Domain
		}
		host := sub + "." + zone
		if other, dup := hosts[host]; dup {
			c.add(p+".subdomain", fmt.Sprintf("%s and %s would both answer at %s", other, name, host),
				fmt.Sprintf("give one of them another subdomain, e.g. subdomain: %s-2", sub))
			continue
		}
		hosts[host] = name
		l.Apps = append(l.Apps, App{Name: name, Host: host, Zone: zone, Spec: spec})
	}
	c.memory(l)
}

// memory checks the apps fit the server with room for the host.
func (c *checker) memory(l *Loaded) {
	c.memoryLibvirt(l)
	h := l.Provider.Hetzner
	if h == nil {
		return
	}
	t, ok := serverType(h.ServerType)
	if !ok || GoneIn(t.Name, h.Location) {
		return // serverTypeGone names a successor that fits
	}
	need := l.MemoryMB()
	if need <= t.MemoryMB {
		return
	}
	fix := "remove an app"
	if bigger, ok := smallestCurrent(family(t.Name), need); ok {
		fix = fmt.Sprintf("choose server_type: %s (%s) or remove an app", bigger.Name, gb(bigger.MemoryMB))
	}
	c.add("provider.hetzner.server_type", fmt.Sprintf("the apps need %s of memory (with %s for the system) but %s has %s",
		gb(need), gb(HostReserveMB), t.Name, gb(t.MemoryMB)), fix)
}

func gb(mb int) string {
	if mb%1024 == 0 {
		return fmt.Sprintf("%d GB", mb/1024)
	}
	return fmt.Sprintf("%.1f GB", float64(mb)/1024)
}

func (c *checker) backups(s *Site) {
	if !c.required("backups", "{ schedule: daily 03:00, keep: {...}, target: {...} }") {
		return
	}
	b := s.Backups
	if c.required("backups.schedule", "daily 03:00") && b.Schedule != "hourly" && !scheduleRe.MatchString(b.Schedule) {
		c.add("backups.schedule", fmt.Sprintf("schedule %q is not understood", b.Schedule), `write "daily HH:MM" (24-hour clock, like daily 03:00) or "hourly"`)
	}
	if c.required("backups.keep", "{ daily: 7, weekly: 4, monthly: 6 }") {
		k := b.Keep
		for _, f := range []struct {
			name string
			n    int
		}{{"daily", k.Daily}, {"weekly", k.Weekly}, {"monthly", k.Monthly}} {
			if f.n < 0 || f.n > 1000 {
				c.add("backups.keep."+f.name, fmt.Sprintf("keep.%s %d is out of range", f.name, f.n), "use a number from 0 to 1000")
			}
		}
		if k.Daily+k.Weekly+k.Monthly <= 0 {
			c.add("backups.keep", "no backups would be kept", "keep at least one, e.g. daily: 7")
		}
	}
	c.heartbeat(b)
	if b.Restore != "" && !restoreRe.MatchString(b.Restore) {
		c.add("backups.restore", fmt.Sprintf("%q is not a backup nassella can restore", b.Restore), "write latest, or a snapshot ID as nassella-backup snapshots lists it (8 to 64 hex digits), or remove restore")
	}
	if !c.required("backups.target", "{ s3: { endpoint: https://…, bucket: acme-backups } }") {
		return
	}
	t := b.Target.S3
	if t == nil {
		c.add("backups.target", "no backup target is set", "add s3: { endpoint: https://…, bucket: … } under target")
		return
	}
	c.s3("backups.target.s3", t)
}

// heartbeat checks the optional address called after each successful backup.
func (c *checker) heartbeat(b Backups) {
	if !c.doc.Has("backups.heartbeat_url") || c.doc.Bad["backups.heartbeat_url"] {
		return
	}
	u, err := url.Parse(b.HeartbeatURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(b.HeartbeatURL, " '\"\\`$") {
		c.add("backups.heartbeat_url", fmt.Sprintf("heartbeat_url %q is not an https address", b.HeartbeatURL),
			"copy the address your monitoring service shows, like https://hc-ping.com/your-uuid, or remove heartbeat_url")
	}
}

// s3 checks an S3 bucket's endpoint and name.
func (c *checker) s3(path string, t *S3) {
	if c.required(path+".endpoint", "https://fsn1.your-objectstorage.com") {
		u, err := url.Parse(t.Endpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
			c.add(path+".endpoint", fmt.Sprintf("endpoint %q is not an https address of an S3 service", t.Endpoint),
				"write it like https://fsn1.your-objectstorage.com, without the bucket, a path or credentials")
		}
	}
	if c.required(path+".bucket", "acme-backups") && (!bucketRe.MatchString(t.Bucket) || strings.Contains(t.Bucket, "..")) {
		c.add(path+".bucket", fmt.Sprintf("bucket %q is not a valid bucket name", t.Bucket), "use 3 to 63 lowercase letters, digits, dots and dashes")
	}
}

func (c *checker) updates(s *Site) {
	if !c.required("updates", "{ channel: stable, window: Sun 03:00, timezone: Europe/Berlin }") {
		return
	}
	u := s.Updates
	c.plan(u)
	if c.required("updates.channel", "stable") && u.Channel != "stable" && u.Channel != "testing" {
		c.add("updates.channel", fmt.Sprintf("channel %q is unknown", u.Channel), suggest(u.Channel, []string{"stable", "testing"}, "use stable or testing"))
	}
	if c.required("updates.window", "Sun 03:00") && !windowRe.MatchString(u.Window) {
		c.add("updates.window", fmt.Sprintf("window %q is not understood", u.Window), `write a weekday and a 24-hour time, like "Sun 03:00"`)
	}
	if c.required("updates.timezone", "Europe/Berlin") {
		if u.Timezone == "" || u.Timezone == "Local" {
			c.add("updates.timezone", "timezone is empty", "name an IANA timezone, like Europe/Berlin or UTC")
		} else if _, err := time.LoadLocation(u.Timezone); err != nil {
			c.add("updates.timezone", fmt.Sprintf("timezone %q is unknown", u.Timezone), "name an IANA timezone, like Europe/Berlin or UTC")
		}
	}
}

// suggest is "did you mean X?" for a likely typo, or the fallback.
func suggest(got string, candidates []string, fallback string) string {
	if c := diag.Closest(got, candidates); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return fallback
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exampleKey is the placeholder key in site-template/site.yaml; nobody holds its private key.
const exampleKey = "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"

// BackupOnCalendar is the systemd OnCalendar expression of the backup schedule.
func (s *Site) BackupOnCalendar() string {
	if s.Backups.Schedule == "hourly" {
		return "hourly"
	}
	m := scheduleRe.FindStringSubmatch(s.Backups.Schedule)
	return fmt.Sprintf("*-*-* %s:%s:00", m[1], m[2])
}
