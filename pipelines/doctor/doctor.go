// Package doctor checks a running site from outside, the way its owner would notice
// trouble: every app answers over HTTPS, certificates are far from expiry, DNS points at
// the server, the newest backup is recent and the data volume has room. Each finding says
// in plain words what is wrong, what the owner can do and what the co-op does about it.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Resolver looks up a host's addresses (net.DefaultResolver in use, a fake in tests).
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options are the site and how to reach it.
type Options struct {
	Apps      []health.Target
	ServerIPs []string          // the addresses the DNS records must hold; not checked when empty
	Resolver  Resolver          // net.DefaultResolver when nil
	Resolve   map[string]string // host → ip:port for HTTPS (tests); DNS otherwise
	RootCAs   *x509.CertPool    // the system's when nil
	// Status reads the host's backup status record; an error means it could not be read.
	Status       func(ctx context.Context) (*hostcontract.Status, error)
	Schedule     string // backups.schedule: "hourly" or "daily HH:MM"
	Now          func() time.Time
	Timeout      time.Duration // for each app's HTTPS check; 1 minute when 0
	CertMinDays  int           // 14 when 0
	DiskMaxUsage int           // percent; 80 when 0
	DNS          *DNSSetup     // the records-only records or the delegation (dns.go); not checked when nil
	Mail         *MailSetup    // the mail relay and the apps that send e-mail (mail.go); not said when nil
	Updates      *Updates      // how far behind the apps are (updates.go); not said when nil
}

// Finding is one check's outcome. A problem says what the owner can do and what the
// co-op does, apart: the owner never runs a command, the co-op has the logs and secrets.
type Finding struct {
	Check   string // https, certificate, dns, backup, disk, updates
	Subject string // the app or host it is about
	OK      bool
	What    string // what was found
	// Owner is what the site's owner can do, in plain words; empty when it is the co-op's
	// alone.
	Owner string
	// Coop is what the co-op (the site's support contact) does about it: the technical
	// steps, commands and secrets.
	Coop string
}

// Run runs every check and returns the findings, problems first.
func Run(ctx context.Context, opt Options) []Finding {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	if opt.Timeout == 0 {
		opt.Timeout = time.Minute
	}
	if opt.CertMinDays == 0 {
		opt.CertMinDays = 14
	}
	if opt.DiskMaxUsage == 0 {
		opt.DiskMaxUsage = 80
	}
	var fs []Finding
	fs = append(fs, checkHTTPS(ctx, opt)...)
	fs = append(fs, checkCerts(ctx, opt)...)
	fs = append(fs, checkDNS(ctx, opt)...)
	fs = append(fs, CheckDNSSetup(ctx, opt)...)
	fs = append(fs, checkBackup(ctx, opt)...)
	fs = append(fs, checkMail(opt)...)
	fs = append(fs, checkUpdates(opt)...)
	sort.SliceStable(fs, func(i, j int) bool { return !fs[i].OK && fs[j].OK })
	return fs
}

func checkHTTPS(ctx context.Context, opt Options) []Finding {
	var fs []Finding
	for _, r := range health.Check(ctx, opt.Apps, health.Options{Resolve: opt.Resolve, RootCAs: opt.RootCAs, Timeout: opt.Timeout, Interval: 2 * time.Second}) {
		f := Finding{Check: "https", Subject: r.App, OK: r.OK}
		if r.OK {
			f.What = fmt.Sprintf("%s answers", r.URL())
		} else {
			f.What = fmt.Sprintf("%s does not answer as it should: %s", r.URL(), r.Last)
			f.Owner = "try the address again in a few minutes; if it still does not open, tell your support contact what you were doing when it stopped"
			f.Coop = fmt.Sprintf("look at the app's logs (nassella logs %s); if it stays down, restart the server from the provider's console", r.App)
			if r.Setup == hostcontract.SetupFailed {
				f.Owner = "the app stays closed until its administrator account exists, so nobody else can take it over; your support contact has been told"
				f.Coop = fmt.Sprintf("nassella credentials %s gives the reason, nassella logs %s the details; once fixed, run sudo systemctl restart %s on the server", r.App, r.App, hostcontract.ClaimUnitName(r.App))
			}
		}
		fs = append(fs, f)
	}
	return fs
}

func checkCerts(ctx context.Context, opt Options) []Finding {
	var fs []Finding
	for _, t := range opt.Apps {
		addr := net.JoinHostPort(t.Host, "443")
		if a, ok := opt.Resolve[t.Host]; ok {
			addr = a
		}
		f := Finding{Check: "certificate", Subject: t.Host}
		d := tls.Dialer{Config: &tls.Config{ServerName: t.Host, RootCAs: opt.RootCAs}}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		conn, err := d.DialContext(cctx, "tcp", addr)
		cancel()
		if err != nil {
			f.What = fmt.Sprintf("no valid HTTPS certificate for %s: %v", t.Host, err)
			f.Owner = "if you changed your domain's settings lately (name servers, records), say so to your support contact; visitors may see a security warning until this is fixed"
			f.Coop = "check that DNS points at the server (below) and look at the proxy's logs (nassella logs proxy): Caddy gets certificates by itself once DNS is right"
			fs = append(fs, f)
			continue
		}
		leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
		conn.Close()
		left := leaf.NotAfter.Sub(opt.Now())
		days := int(left.Hours() / 24)
		f.OK = left >= time.Duration(opt.CertMinDays)*24*time.Hour
		f.What = fmt.Sprintf("the certificate of %s is valid for %d more days", t.Host, days)
		if !f.OK {
			f.Owner = fmt.Sprintf("nothing yet: the address works for %d more days", days)
			f.Coop = "Caddy renews certificates 30 days before they expire, so renewal is failing: look at nassella logs proxy (DNS, port 80/443 blocked, the CA's rate limits)"
		}
		fs = append(fs, f)
	}
	return fs
}

func checkDNS(ctx context.Context, opt Options) []Finding {
	var fs []Finding
	for _, t := range opt.Apps {
		f := Finding{Check: "dns", Subject: t.Host}
		addrs, err := opt.Resolver.LookupHost(ctx, t.Host)
		switch {
		case err != nil || len(addrs) == 0:
			f.What = fmt.Sprintf("%s has no DNS record: %v", t.Host, err)
			f.Owner = "if the domain is new or moved lately, check at the company you bought it from that its name servers are the ones your support contact gave you"
			f.Coop = "run the apply workflow again (it writes the records); if the domain is new, check that its registrar points at the DNS service's name servers"
		case len(opt.ServerIPs) == 0:
			f.OK = true
			f.What = fmt.Sprintf("%s resolves to %s (the server's addresses were not given, so not compared)", t.Host, strings.Join(addrs, ", "))
		default:
			var wrong []string
			for _, a := range addrs {
				if !slices.Contains(opt.ServerIPs, a) {
					wrong = append(wrong, a)
				}
			}
			f.OK = len(wrong) == 0
			f.What = fmt.Sprintf("%s resolves to %s", t.Host, strings.Join(addrs, ", "))
			if !f.OK {
				f.What += fmt.Sprintf(", but the server is %s", strings.Join(opt.ServerIPs, ", "))
				f.Owner = "if you added a record for this address yourself, at your domain's company or DNS host, remove it"
				f.Coop = "another record points elsewhere: remove it at the DNS service or run the apply workflow again; changes take up to an hour to spread"
			}
		}
		fs = append(fs, f)
	}
	return fs
}

// MaxAge is how old the newest backup may be for a schedule before it counts as missed.
func MaxAge(schedule string) time.Duration {
	if schedule == "hourly" {
		return 3 * time.Hour
	}
	return 30 * time.Hour
}

func checkBackup(ctx context.Context, opt Options) []Finding {
	if opt.Status == nil {
		return []Finding{{Check: "backup", Subject: "backups", What: "the backup status was not checked (no backup key given)",
			Coop: "give nassella doctor the BACKUP_SSH_KEY secret (--backup-key) and set admin.backup_key in site.yaml"}}
	}
	st, err := opt.Status(ctx)
	if errors.Is(err, ErrNoHostKey) {
		return []Finding{{Check: "backup", Subject: "backups", What: "the backup status was not checked (no host key given)",
			Coop: "give nassella doctor the NASSELLA_HOST_KEY secret (or --host-key FILE), so it reads the status from the site's server only"}}
	}
	if err != nil {
		fix := "check that the server is up and admin.backup_key matches the BACKUP_SSH_KEY secret"
		if errors.Is(err, ErrNoStatus) {
			fix = "no backup has ever finished: look at nassella logs backup; the first one runs at the next scheduled time (" + opt.Schedule + ")"
		}
		return []Finding{{Check: "backup", Subject: "backups", What: "there is no record of any backup: " + err.Error(), Coop: fix}}
	}
	var fs []Finding
	f := Finding{Check: "backup", Subject: "backups"}
	last := st.LastSuccessTime()
	age := opt.Now().Sub(last)
	switch {
	case last.IsZero():
		f.What = "no backup has worked yet"
		if st.Result == "failed" {
			f.What += "; the last try failed: " + st.Error
		}
		f.Owner = "nothing, but know that your data has no backup until this is fixed"
		f.Coop = "look at nassella logs backup and fix what it says; the data is not protected until a backup works"
	case age > MaxAge(opt.Schedule):
		f.What = fmt.Sprintf("the newest backup is %s old (schedule: %s)", roundAge(age), opt.Schedule)
		if st.Result == "failed" {
			f.What += "; the last try failed: " + st.Error
		}
		f.Owner = fmt.Sprintf("nothing, but know that your newest backup is %s old until this is fixed", roundAge(age))
		f.Coop = "look at nassella logs backup; check the BACKUP_* secrets and that the backup bucket exists and has room"
	default:
		f.OK = true
		f.What = fmt.Sprintf("the newest backup is %s old (snapshot %s)", roundAge(age), st.Snapshot)
		if st.Result == "failed" {
			f.OK = false
			f.What = fmt.Sprintf("the last backup failed (%s); the newest good one is %s old", st.Error, roundAge(age))
			f.Owner = "nothing: the next backup may work by itself"
			f.Coop = "look at nassella logs backup; the next scheduled run may fix it by itself"
		}
	}
	fs = append(fs, f)
	d := Finding{Check: "disk", Subject: "data volume", OK: st.Disk.UsedPercent < opt.DiskMaxUsage}
	d.What = fmt.Sprintf("the data volume is %d%% full (%s free)", st.Disk.UsedPercent, bytesHuman(st.Disk.AvailBytes))
	if st.Disk.SizeBytes == 0 {
		d.OK, d.What = false, "the data volume's use is unknown"
	}
	if !d.OK {
		d.Owner = "make the disk bigger: raise provider.hetzner.volume_gb in your site.yaml in a pull request (it grows without downtime), or delete what you no longer need"
		d.Coop = fmt.Sprintf("grow the volume (provider.hetzner.volume_gb) or help remove data; above %d%% apps may stop", opt.DiskMaxUsage)
	}
	return append(fs, d)
}

// ErrNoStatus is returned by a status source when the host has no status record yet.
var ErrNoStatus = errors.New("no backup status record on the server")

func roundAge(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	if d < 72*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Problems counts the findings that are not OK.
func Problems(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if !f.OK {
			n++
		}
	}
	return n
}

// ownerDefault is what the owner reads for a problem that is the co-op's alone.
const ownerDefault = "nothing: it is for your support contact to fix"

// owner is what the owner can do about f.
func (f Finding) owner() string {
	if f.Owner == "" {
		return ownerDefault
	}
	return f.Owner
}

// Text is the findings for a terminal: every check, then for the problems what the owner
// can do and what the co-op does, apart.
func Text(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		mark := "ok     "
		if !f.OK {
			mark = "PROBLEM"
		}
		fmt.Fprintf(&b, "%s  %-11s  %s\n", mark, f.Check, f.What)
	}
	n := Problems(fs)
	if n == 0 {
		b.WriteString("everything looks fine\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problem(s) need attention\n\nwhat the owner can do:\n", n)
	for _, f := range fs {
		if !f.OK {
			fmt.Fprintf(&b, "  %s (%s): %s\n", f.Check, f.Subject, f.owner())
		}
	}
	b.WriteString("\nwhat the co-op does:\n")
	for _, f := range fs {
		if !f.OK {
			fmt.Fprintf(&b, "  %s (%s): %s\n", f.Check, f.Subject, f.Coop)
		}
	}
	return b.String()
}

// Marker opens the issue body, so the workflow finds its own issue.
const Marker = "<!-- nassella-doctor -->"

// Markdown is the findings as the body of the site repo's doctor issue: what is wrong,
// what the owner can do, what the co-op does, and who that is (support, from site.yaml).
func Markdown(fs []Finding, support *site.Support) string {
	var b strings.Builder
	b.WriteString(Marker + "\n")
	n := Problems(fs)
	if n == 0 {
		b.WriteString("## Everything looks fine\n\n")
	} else {
		fmt.Fprintf(&b, "## %d thing(s) need attention\n\n", n)
	}
	for _, f := range fs {
		if !f.OK {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", f.Check, f.Subject, f.What)
		}
	}
	if n > 0 {
		b.WriteString("\n### What you can do\n\n")
		for _, f := range fs {
			if !f.OK {
				fmt.Fprintf(&b, "- **%s** (%s): %s\n", f.Check, f.Subject, upper(strings.ReplaceAll(f.owner(), "your support contact", who(support))))
			}
		}
		fmt.Fprintf(&b, "\n### What %s does\n\n", who(support))
		for _, f := range fs {
			if !f.OK {
				fmt.Fprintf(&b, "- **%s** (%s): %s\n", f.Check, f.Subject, upper(f.Coop))
			}
		}
		fmt.Fprintf(&b, "\nQuestions? Ask %s.\n", support.Markdown())
	}
	b.WriteString("\n<details><summary>Everything that was checked</summary>\n\n")
	for _, f := range fs {
		mark := "✅"
		if !f.OK {
			mark = "❌"
		}
		fmt.Fprintf(&b, "- %s %s: %s\n", mark, f.Check, f.What)
	}
	b.WriteString("\n</details>\n\nThis issue is opened, updated and closed by the workflow \"Check on your server\" (nassella doctor), which runs every six hours.\n")
	return b.String()
}

// who names the co-op in a heading: its name from site.yaml, or "your co-op".
func who(s *site.Support) string {
	if s == nil {
		return site.NoSupport
	}
	return s.Name
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
