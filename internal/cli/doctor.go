package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/doctor"
)

// errProblems makes the exit code 1 after the findings were printed.
var errProblems = errors.New("nassella doctor found problems (see above)")

func runDoctor(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "doctor", "[DIR] [--server-ip IP]... [--backup-key FILE] [--host-key FILE] [--markdown FILE]")
	var ips multi
	fs.Var(&ips, "server-ip", "an address of the server the DNS records must hold (repeatable; default $NASSELLA_SERVER_IP)")
	var c doctor.SiteCheck
	fs.StringVar(&c.BackupKeyFile, "backup-key", os.Getenv("NASSELLA_BACKUP_SSH_KEY_FILE"), "private key of admin.backup_key, to read the backup status")
	fs.StringVar(&c.Host, "host", "", "the server's SSH address (default: the first server IP, else the first app's host)")
	md := fs.String("markdown", "", "also write the findings as an issue body to `FILE`")
	fs.StringVar(&c.DNSResolver, "dns-resolver", "", "ask the resolver at `ADDR` (host:port) for the domain's records (default: the system's)")
	fs.StringVar(&c.CAFile, "ca-file", "", "trust this CA instead of the system's (tests, internal CAs)")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	var hk hostKeyFlag
	hk.add(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if c.HostKey, err = hk.key(); err != nil {
		return err
	}
	r, err := siterepo.Open(dirArg(pos), siterepo.Options{CatalogDir: *catDir})
	if err != nil {
		return err
	}
	if len(ips) == 0 && os.Getenv("NASSELLA_SERVER_IP") != "" {
		ips = multi{os.Getenv("NASSELLA_SERVER_IP")}
	}
	c.Site, c.ServerIPs = r.Site, ips
	c.Lock, c.Newest = r.Lock, catalog.Embedded() // with --catalog, the site's apps against this build's
	opt, err := c.Options()
	if err != nil {
		return err
	}
	findings := doctor.Run(ctx, opt)
	fmt.Fprint(s.Out, doctor.Text(findings))
	if *md != "" {
		if err := os.WriteFile(*md, []byte(doctor.Markdown(findings, r.Site.Support)), 0o644); err != nil {
			return err
		}
	}
	if doctor.Problems(findings) > 0 {
		return errProblems
	}
	return nil
}
