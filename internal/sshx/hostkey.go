package sshx

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
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
	// algos, when set, are the only host key algorithms offered: a server with several
	// host keys (Flatcar makes ECDSA and RSA ones beside a pinned ed25519 key) must show
	// the pinned one, not the one the client prefers.
	algos []string
}

// Pinned accepts only the given public keys.
func Pinned(keys ...ssh.PublicKey) HostKey {
	keys = slices.DeleteFunc(slices.Clone(keys), func(k ssh.PublicKey) bool { return k == nil })
	if len(keys) == 0 {
		return HostKey{}
	}
	var algos []string
	for _, k := range keys {
		if k.Type() == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		} else {
			algos = append(algos, k.Type())
		}
	}
	return HostKey{name: "pinned", algos: algos, callback: func() (ssh.HostKeyCallback, error) {
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

// ParseHostKey reads a server's public host key from what a site owner has at hand: the
// host's private key (the NASSELLA_HOST_KEY secret, OpenSSH PEM without a passphrase), a
// public key line (ssh-ed25519 AAAA... as in a .pub file) or a known_hosts line.
func ParseHostKey(data []byte) (ssh.PublicKey, error) {
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("the host key is a private key that cannot be read: %w (it must be an OpenSSH key without a passphrase)", err)
		}
		return signer.PublicKey(), nil
	}
	if key, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		return key, nil
	}
	if _, _, key, _, _, err := ssh.ParseKnownHosts(data); err == nil {
		return key, nil
	}
	return nil, errors.New("the host key is neither an OpenSSH private key, a public key line (ssh-ed25519 AAAA...) nor a known_hosts line")
}
