package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/logs"
)

func runLogs(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "logs", "[APP] [--since WHEN] [--follow] [--json] [--host H] [--dir DIR]")
	since := fs.String("since", "", `entries since WHEN ("1 hour ago", "today", "2026-11-03 03:00"); the newest 200 when empty`)
	follow := fs.Bool("follow", false, "keep printing new entries")
	asJSON := fs.Bool("json", false, "print the journal's structured entries (one JSON object a line)")
	dir := fs.String("dir", ".", "the site repo")
	host := fs.String("host", "", "the server's address (default: the first app's host name)")
	user := fs.String("user", "core", "SSH user")
	keyFile := fs.String("identity", firstNonEmpty(os.Getenv("NASSELLA_SSH_KEY_FILE"), filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519")), "private SSH key of one of admin.ssh_keys")
	khFile := fs.String("known-hosts", filepath.Join(os.Getenv("HOME"), ".ssh", "known_hosts"), "known_hosts file with the server's key, when no --host-key is given")
	var hkFlag hostKeyFlag
	hkFlag.add(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	q := logs.Query{Since: *since, Follow: *follow}
	if len(pos) == 1 {
		q.App = pos[0]
	}
	if *host == "" {
		r, err := siterepo.Open(*dir, siterepo.Options{})
		if err != nil {
			return err
		}
		*host = r.Site.Apps[0].Host
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("reading your SSH key: %w (pass --identity FILE)", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return fmt.Errorf("%s is not a private SSH key without a passphrase: %w", *keyFile, err)
	}
	addr := *host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "22")
	}
	r := logs.Remote{Addr: addr, User: *user, Signer: signer}
	if r.Pinned, err = hkFlag.key(); err != nil {
		return err
	}
	if r.Pinned == nil {
		if r.HostKey, err = knownhosts.New(*khFile); err != nil {
			return fmt.Errorf("reading %s: %w (set NASSELLA_HOST_KEY to the site's host key secret, pass --host-key FILE, or add the server with ssh-keyscan %s >> %s)", *khFile, err, *host, *khFile)
		}
	}
	return r.Stream(ctx, q, s.Out, logs.Options{JSON: *asJSON, Color: isTerminal(s.Out), AppWidth: 12})
}

// isTerminal says whether w is a terminal that takes colours.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
