package cli

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/sshx"
)

// serverFlags are the flags of the verbs that log in to the site's server over SSH: where,
// as whom, with which key, and how the server's own key is known.
type serverFlags struct {
	host, user, identity, knownHosts string
	hostKey                          hostKeyFlag
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	f := &serverFlags{}
	fs.StringVar(&f.host, "host", "", "the server's address (default: the first app's host name)")
	fs.StringVar(&f.user, "user", "core", "SSH user")
	fs.StringVar(&f.identity, "identity", firstNonEmpty(os.Getenv("NASSELLA_SSH_KEY_FILE"), filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519")), "private SSH key of one of admin.ssh_keys")
	fs.StringVar(&f.knownHosts, "known-hosts", filepath.Join(os.Getenv("HOME"), ".ssh", "known_hosts"), "known_hosts file with the server's key, when no --host-key is given")
	f.hostKey.add(fs)
	return f
}

// login reads the key files the flags name: the server's first, as nothing is asked of a
// server that is not known. The server is s's first app's host unless --host names one
// (s may then be nil).
func (f *serverFlags) login(s *site.Loaded) (sshx.Login, error) {
	host := f.host
	if host == "" {
		host = s.Apps[0].Host
	}
	l := sshx.Login{Addr: host, User: f.user}
	if _, _, err := net.SplitHostPort(host); err != nil {
		l.Addr = net.JoinHostPort(host, "22")
	}
	var err error
	if l.Pinned, err = f.hostKey.key(); err != nil {
		return sshx.Login{}, err
	}
	if l.Pinned == nil {
		if l.HostKey, err = knownhosts.New(f.knownHosts); err != nil {
			return sshx.Login{}, fmt.Errorf("reading %s: %w (set NASSELLA_HOST_KEY to the site's host key secret, pass --host-key FILE, or add the server with ssh-keyscan %s >> %s)", f.knownHosts, err, host, f.knownHosts)
		}
	}
	key, err := os.ReadFile(f.identity)
	if err != nil {
		return sshx.Login{}, fmt.Errorf("reading your SSH key: %w (pass --identity FILE)", err)
	}
	if l.Signer, err = ssh.ParsePrivateKey(key); err != nil {
		return sshx.Login{}, fmt.Errorf("%s is not a private SSH key without a passphrase: %w", f.identity, err)
	}
	return l, nil
}
