package sshx

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKey is how a dial checks the server's host key. Every dial needs one: the zero
// HostKey is refused, never taken as "accept anything".
type HostKey struct {
	name string
	// callback is built once per dial, so a known_hosts file is read when it is used.
	callback func() (ssh.HostKeyCallback, error)
	// accepted, when set, is told the fingerprint of the key a connection was made with.
	accepted func(fingerprint string)
}

// Pinned accepts only the given public keys.
func Pinned(keys ...ssh.PublicKey) HostKey {
	if len(keys) == 0 {
		return HostKey{}
	}
	return HostKey{name: "pinned", callback: func() (ssh.HostKeyCallback, error) {
		return func(hostname string, _ net.Addr, key ssh.PublicKey) error {
			for _, k := range keys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil
				}
			}
			want := make([]string, len(keys))
			for i, k := range keys {
				want[i] = ssh.FingerprintSHA256(k)
			}
			return fmt.Errorf("host key mismatch: %s shows %s, not the pinned %s", hostname, ssh.FingerprintSHA256(key), strings.Join(want, ", "))
		}, nil
	}}
}

// KnownHosts accepts the keys an OpenSSH known_hosts file lists for the address dialled.
func KnownHosts(path string) HostKey {
	return HostKey{name: "known_hosts " + path, callback: func() (ssh.HostKeyCallback, error) {
		cb, err := knownhosts.New(path)
		if err != nil {
			return nil, fmt.Errorf("reading the known hosts %s: %w (add the server with ssh-keyscan HOST >> %s)", path, err, path)
		}
		return cb, nil
	}}
}

// Verified checks the key with the caller's own callback (knownhosts.New's, say); a nil
// callback gives the zero HostKey.
func Verified(cb ssh.HostKeyCallback) HostKey {
	if cb == nil {
		return HostKey{}
	}
	return HostKey{name: "verified", callback: func() (ssh.HostKeyCallback, error) { return cb, nil }}
}

// TrustOnFirstUse accepts whatever key the server shows and tells report its SHA256
// fingerprint once connected. It is only for servers whose key cannot be known before
// the first connection (a freshly made rescue system or server); a nil report keeps the
// fingerprint in Client.HostKey only.
func TrustOnFirstUse(report func(fingerprint string)) HostKey {
	return HostKey{name: "trust on first use", accepted: report, callback: func() (ssh.HostKeyCallback, error) {
		return func(string, net.Addr, ssh.PublicKey) error { return nil }, nil
	}}
}

var errNoHostKey = errors.New("no host key policy given: pin the server's key (sshx.Pinned), name a known_hosts file (sshx.KnownHosts) or say sshx.TrustOnFirstUse")

// check returns the callback for one dial, which also records the key it accepted.
func (h HostKey) check(seen *ssh.PublicKey) (ssh.HostKeyCallback, error) {
	if h.callback == nil {
		return nil, errNoHostKey
	}
	cb, err := h.callback()
	if err != nil {
		return nil, err
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if err := cb(hostname, remote, key); err != nil {
			return err
		}
		*seen = key
		return nil
	}, nil
}

// String names the policy, for messages.
func (h HostKey) String() string {
	if h.name == "" {
		return "none"
	}
	return h.name
}
