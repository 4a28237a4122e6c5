// Package doctor checks a running site from outside, the way its owner would notice
// trouble: every app answers over HTTPS, certificates are far from expiry, DNS points at
// the server, the newest backup is recent and the data volume has room. Each finding says
// in plain words what is wrong and what to do.
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
}

// Finding is one check's outcome.
type Finding struct {
	Check   string // https, certificate, dns, backup, disk
	Subject string // the app or host it is about
	OK      bool
	What    string // what was found
	Fix     string // what to do, when not OK
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
	fs = append(fs, checkBackup(ctx, opt)...)
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
			f.Fix = fmt.Sprintf("look at the app's logs (nassella logs %s); if it stays down, restart the server from the provider's console", r.App)
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
			f.Fix = "check that DNS points at the server (below) and look at the proxy's logs (nassella logs proxy): Caddy gets certificates by itself once DNS is right"
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
			f.Fix = "Caddy renews certificates 30 days before they expire, so renewal is failing: look at nassella logs proxy (DNS, port 80/443 blocked, the CA's rate limits)"
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
			f.Fix = "run the apply workflow again (it writes the records); if the domain is new, check that its registrar points at the DNS service's name servers"
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
				f.Fix = "another record points elsewhere: remove it at the DNS service or run the apply workflow again; changes take up to an hour to spread"
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
			Fix: "give nassella doctor the BACKUP_SSH_KEY secret (--backup-key) and set admin.backup_key in site.yaml"}}
	}
	st, err := opt.Status(ctx)
	if errors.Is(err, ErrNoHostKey) {
		return []Finding{{Check: "backup", Subject: "backups", What: "the backup status was not checked (no host key given)",
			Fix: "give nassella doctor the NASSELLA_HOST_KEY secret (or --host-key FILE), so it reads the status from the site's server only"}}
	}
	if err != nil {
		fix := "check that the server is up and admin.backup_key matches the BACKUP_SSH_KEY secret"
		if errors.Is(err, ErrNoStatus) {
			fix = "no backup has ever finished: look at nassella logs backup; the first one runs at the next scheduled time (" + opt.Schedule + ")"
		}
		return []Finding{{Check: "backup", Subject: "backups", What: "there is no record of any backup: " + err.Error(), Fix: fix}}
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
		f.Fix = "look at nassella logs backup and fix what it says; the data is not protected until a backup works"
	case age > MaxAge(opt.Schedule):
		f.What = fmt.Sprintf("the newest backup is %s old (schedule: %s)", roundAge(age), opt.Schedule)
		if st.Result == "failed" {
			f.What += "; the last try failed: " + st.Error
		}
		f.Fix = "look at nassella logs backup; check the BACKUP_* secrets and that the backup bucket exists and has room"
	default:
		f.OK = true
		f.What = fmt.Sprintf("the newest backup is %s old (snapshot %s)", roundAge(age), st.Snapshot)
		if st.Result == "failed" {
			f.OK = false
			f.What = fmt.Sprintf("the last backup failed (%s); the newest good one is %s old", st.Error, roundAge(age))
			f.Fix = "look at nassella logs backup; the next scheduled run may fix it by itself"
		}
	}
	fs = append(fs, f)
	d := Finding{Check: "disk", Subject: "data volume", OK: st.Disk.UsedPercent < opt.DiskMaxUsage}
	d.What = fmt.Sprintf("the data volume is %d%% full (%s free)", st.Disk.UsedPercent, bytesHuman(st.Disk.AvailBytes))
	if st.Disk.SizeBytes == 0 {
		d.OK, d.What = false, "the data volume's use is unknown"
	}
	if !d.OK {
		d.Fix = fmt.Sprintf("raise provider.hetzner.volume_gb in site.yaml (it grows without downtime) or remove data; above %d%% apps may stop", opt.DiskMaxUsage)
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

// Text is the findings for a terminal.
func Text(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		mark := "ok     "
		if !f.OK {
			mark = "PROBLEM"
		}
		fmt.Fprintf(&b, "%s  %-11s  %s\n", mark, f.Check, f.What)
		if f.Fix != "" && !f.OK {
			fmt.Fprintf(&b, "         what to do: %s\n", f.Fix)
		}
	}
	if n := Problems(fs); n == 0 {
		b.WriteString("everything looks fine\n")
	} else {
		fmt.Fprintf(&b, "%d problem(s) need attention\n", n)
	}
	return b.String()
}

// Marker opens the issue body, so the workflow finds its own issue.
const Marker = "<!-- nassella-doctor -->"

// Markdown is the findings as the body of the site repo's doctor issue.
func Markdown(fs []Finding) string {
	var b strings.Builder
	b.WriteString(Marker + "\n")
	n := Problems(fs)
	if n == 0 {
		b.WriteString("## Everything looks fine\n\n")
	} else {
		fmt.Fprintf(&b, "## %d thing(s) need attention\n\n", n)
	}
	for _, f := range fs {
		if f.OK {
			continue
		}
		fmt.Fprintf(&b, "- **%s** (%s): %s\n  - What to do: %s\n", f.Check, f.Subject, f.What, f.Fix)
	}
	b.WriteString("\n<details><summary>Everything that was checked</summary>\n\n")
	for _, f := range fs {
		mark := "✅"
		if !f.OK {
			mark = "❌"
		}
		fmt.Fprintf(&b, "- %s %s: %s\n", mark, f.Check, f.What)
	}
	b.WriteString("\n</details>\n\nThis issue is opened, updated and closed by the nassella doctor workflow.\n")
	return b.String()
}
