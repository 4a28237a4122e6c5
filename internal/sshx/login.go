package sshx

import (
	"context"
	"errors"

	"golang.org/x/crypto/ssh"
)

// Login is how an owner's command reaches the site's server: its address, the user, the
// owner's key, and the server's own key, pinned (the site's NASSELLA_HOST_KEY) or from a
// known_hosts file. The CLI fills it from the same flags for every such command.
type Login struct {
	Addr    string // host:port
	User    string // core when empty
	Signer  ssh.Signer
	HostKey ssh.HostKeyCallback // required unless Pinned: nothing is asked of a server that is not known
	Pinned  ssh.PublicKey       // when set, the only host key accepted
}

// ErrNoHostKey is Login.Dial's error when there is no way to check the server's key.
var ErrNoHostKey = errors.New("the server's host key is unknown, so nothing is asked of it: set NASSELLA_HOST_KEY to the site's host key secret, or pass --host-key FILE or --known-hosts FILE")

// Dial logs in, checking the server's key against the pinned one, else the known_hosts
// callback.
func (l Login) Dial(ctx context.Context) (*Client, error) {
	hk := Verified(l.HostKey)
	if l.Pinned != nil {
		hk = Pinned(l.Pinned)
	} else if l.HostKey == nil {
		return nil, ErrNoHostKey
	}
	user := l.User
	if user == "" {
		user = "core"
	}
	return Dial(ctx, l.Addr, Config{User: user, Signer: l.Signer, HostKey: hk})
}
