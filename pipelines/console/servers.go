package console

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/sshx"
)

// Servers is how the console logs in to the sites' servers: the Logs tab with a key that
// may only read logs, the Credentials tab with an administrator's key, each server's own
// key pinned from a known_hosts file the co-op keeps.
type Servers struct {
	// LogsKey is the private half of the sites' admin.logs_key: the server lets it run
	// one command, which reads the journal (site-template/host/nassella-logs.sh).
	LogsKey ssh.Signer
	// AdminKey, when set, is the private half of one of the sites' admin.ssh_keys: it
	// reads the apps' first sign-ins (nassella-claim credentials, as root). Nil leaves
	// the sign-ins to `nassella credentials`.
	AdminKey ssh.Signer
	// KnownHosts is an OpenSSH known_hosts file listing each site's server under the
	// address the console dials (its first app's host name, as nassella logs dials it);
	// the key found there is the only one accepted. Read at every login, so a new site
	// needs no restart.
	KnownHosts string
	// User logs in; core (Flatcar's) when empty.
	User string
	// Addr is where a site's server answers SSH; its first app's host on port 22 when nil.
	Addr func(*site.Loaded) string
}

// serverAddr is where the site's server answers SSH.
func (sv *Servers) serverAddr(l *site.Loaded) string {
	if sv.Addr != nil {
		return sv.Addr(l)
	}
	return net.JoinHostPort(l.Apps[0].Host, "22")
}

// errUnknownServer is a login refused before dialling: the console does not know the
// server's key.
var errUnknownServer = errors.New("the console does not know this server's key")

// login is how to reach l's server with key: its address and its key from the known_hosts
// file, pinned.
func (sv *Servers) login(l *site.Loaded, key ssh.Signer) (sshx.Login, error) {
	addr := sv.serverAddr(l)
	pinned, err := knownKey(sv.KnownHosts, addr)
	if err != nil {
		return sshx.Login{}, err
	}
	user := sv.User
	if user == "" {
		user = "core"
	}
	return sshx.Login{Addr: addr, User: user, Signer: key, Pinned: pinned}, nil
}

// knownKey is the key the known_hosts file lists for addr (host:port), an ed25519 one
// when there are several. knownhosts' callback answers a key it does not know with the
// keys it knows for that address (KeyError.Want, "if Want is non-empty, there was a
// mismatch"), so it is asked about a key no server has.
func knownKey(file, addr string) (ssh.PublicKey, error) {
	if file == "" {
		return nil, fmt.Errorf("%w: the console was started without --known-hosts", errUnknownServer)
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", errUnknownServer, file, err)
	}
	probe, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	err = cb(addr, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil, fmt.Errorf("%w: %s lists no key for %s (add it: echo \"%s $(ssh-keygen -y -f HOST_KEY)\" >> %s, with HOST_KEY the site's NASSELLA_HOST_KEY)",
			errUnknownServer, file, addr, knownhosts.Normalize(addr), file)
	}
	for _, k := range ke.Want {
		if k.Key.Type() == ssh.KeyAlgoED25519 {
			return k.Key, nil
		}
	}
	return ke.Want[0].Key, nil
}

// authorizedLine is key's public half as a site.yaml line holds it.
func authorizedLine(key ssh.Signer, comment string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey()))) + " " + comment
}

// sameKey says whether the authorized_keys line holds key's public half.
func sameKey(line string, key ssh.Signer) bool {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	return err == nil && bytes.Equal(k.Marshal(), key.PublicKey().Marshal())
}

// serverFailed is what a page says when the server could not be asked: the cause is
// for the co-op's log; the person reads what to do.
func (s *Server) serverFailed(st *siteState, sess *Session, what string, err error) string {
	s.log.Warn(what+" failed", "login", sess.Login, "repo", st.FullName(), "error", err)
	if errors.Is(err, errUnknownServer) {
		return "The console does not know your server's key yet, so it did not connect (a server it cannot check could be anyone's). Ask " +
			st.Site.Support.Text() + " to add your server to the console's known hosts."
	}
	return "The console could not reach your server: " + err.Error() + "."
}

// ownTools are the console's Logs and Credentials tabs, but for those a SiteTool replaces.
func (s *Server) ownTools() []SiteTool {
	taken := map[string]bool{}
	for _, t := range s.cfg.SiteTools {
		taken[t.Slug] = true
	}
	var out []SiteTool
	for _, t := range []SiteTool{{Slug: "logs", Label: "Logs", page: s.logsPage}, {Slug: "credentials", Label: "Sign-ins", page: s.credentialsPage}} {
		if !taken[t.Slug] {
			out = append(out, t)
		}
	}
	return out
}

// toolHeader is the top of a tab's page.
type toolHeader struct {
	St    *siteState
	Tools []SiteTool
	Slug  string // the tab shown
}

func (s *Server) toolHeader(st *siteState, slug string) toolHeader {
	return toolHeader{St: st, Tools: s.cfg.SiteTools, Slug: slug}
}

// mustLoad refuses a tab for a site whose site.yaml does not load.
func (s *Server) mustLoad(w http.ResponseWriter, r *http.Request, sess *Session, st *siteState) bool {
	if st.Site == nil {
		s.fail(w, r, sess, http.StatusConflict, "This site's site.yaml has mistakes; the site's page lists them. Fix them first.")
		return false
	}
	return true
}
