package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/pipelines/doctor"
)

// errProblems makes the exit code 1 after the findings were printed.
var errProblems = errors.New("nassella doctor found problems (see above)")

func runDoctor(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "doctor", "[DIR] [--server-ip IP]... [--backup-key FILE] [--markdown FILE]")
	var ips multi
	fs.Var(&ips, "server-ip", "an address of the server the DNS records must hold (repeatable; default $NASSELLA_SERVER_IP)")
	keyFile := fs.String("backup-key", os.Getenv("NASSELLA_BACKUP_SSH_KEY_FILE"), "private key of admin.backup_key, to read the backup status")
	host := fs.String("host", "", "the server's SSH address (default: the first server IP, else the first app's host)")
	md := fs.String("markdown", "", "also write the findings as an issue body to `FILE`")
	caFile := fs.String("ca-file", "", "trust this CA instead of the system's (tests, internal CAs)")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	l, err := loadSiteDir(dir, *catDir)
	if err != nil {
		return err
	}
	if len(ips) == 0 && os.Getenv("NASSELLA_SERVER_IP") != "" {
		ips = multi{os.Getenv("NASSELLA_SERVER_IP")}
	}
	opt := doctor.Options{ServerIPs: ips, Schedule: l.Backups.Schedule}
	for _, a := range l.Apps {
		opt.Apps = append(opt.Apps, health.Target{App: a.Name, Host: a.Host, Path: a.Spec.Health.Path, Status: a.Spec.Health.Status})
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		opt.RootCAs = x509.NewCertPool()
		opt.RootCAs.AppendCertsFromPEM(pem)
	}
	if *keyFile != "" {
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("reading the backup key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(key)
		if err != nil {
			return fmt.Errorf("the backup key %s is not a private SSH key without a passphrase: %w", *keyFile, err)
		}
		addr := *host
		if addr == "" && len(ips) > 0 {
			addr = ips[0]
		}
		if addr == "" {
			addr = l.Apps[0].Host
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "22")
		}
		opt.Status = doctor.SSHStatus(addr, "core", signer, nil)
	}
	findings := doctor.Run(ctx, opt)
	fmt.Fprint(s.Out, doctor.Text(findings))
	if *md != "" {
		if err := os.WriteFile(*md, []byte(doctor.Markdown(findings)), 0o644); err != nil {
			return err
		}
	}
	if doctor.Problems(findings) > 0 {
		return errProblems
	}
	return nil
}
