package doctor

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/siterepo"
)

// SiteCheck is a doctor run on a site as the command line names it.
type SiteCheck struct {
	Site      *site.Loaded
	ServerIPs []string // the addresses the DNS records must hold
	// BackupKeyFile is the private key of admin.backup_key, to read the backup status over
	// SSH at Host (default: the first server IP, else the first app's host; port 22).
	BackupKeyFile, Host string
	// HostKey is the server's public SSH host key; the status is read from no other.
	HostKey ssh.PublicKey
	CAFile  string // the only CA the HTTPS checks trust, when set
	// DNSResolver (host:port) is asked for the DNS setup's records (dns.go); "": the
	// system's resolver.
	DNSResolver string
	// Lock is the site's nassella.lock and Newest the newest catalog release this nassella
	// knows: the doctor says how far behind it the apps are (updates.go).
	Lock   *generator.Lock
	Newest *catalog.Release
}

// Options are the checks of c's site: its apps, its backup schedule and, with the backup
// key, the host's backup status.
func (c SiteCheck) Options() (Options, error) {
	opt := Options{ServerIPs: c.ServerIPs, Schedule: c.Site.Backups.Schedule, Apps: siterepo.Targets(c.Site), DNS: DNSSetupOf(c.Site, c.DNSResolver),
		Updates: UpdatesOf(c.Site, c.Lock, c.Newest), Mail: MailSetupOf(c.Site)}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return opt, err
		}
		opt.RootCAs = x509.NewCertPool()
		opt.RootCAs.AppendCertsFromPEM(pem)
	}
	if c.BackupKeyFile == "" {
		return opt, nil
	}
	key, err := os.ReadFile(c.BackupKeyFile)
	if err != nil {
		return opt, fmt.Errorf("reading the backup key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return opt, fmt.Errorf("the backup key %s is not a private SSH key without a passphrase: %w", c.BackupKeyFile, err)
	}
	opt.Status = SSHStatus(c.statusAddr(), "core", signer, c.HostKey)
	return opt, nil
}

func (c SiteCheck) statusAddr() string {
	addr := c.Host
	if addr == "" && len(c.ServerIPs) > 0 {
		addr = c.ServerIPs[0]
	}
	if addr == "" {
		addr = c.Site.Apps[0].Host
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "22")
	}
	return addr
}
