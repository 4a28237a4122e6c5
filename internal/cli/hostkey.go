package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
)

// hostKeyEnv are the variables that may hold the site's host key secret: the name the
// forge stores it under, and the one the workflows hand it to OpenTofu with.
var hostKeyEnv = []string{"NASSELLA_HOST_KEY", "TF_VAR_ssh_host_key"}

// hostKeyFlag is --host-key FILE: the server's public SSH host key, from the file or else
// from the secret in the environment. Every source given must name the same key.
type hostKeyFlag struct{ file string }

func (h *hostKeyFlag) add(fs *flag.FlagSet) {
	fs.StringVar(&h.file, "host-key", "", "the server's SSH host key in `FILE` (a public key or known_hosts line; default: the secret in $NASSELLA_HOST_KEY or $TF_VAR_ssh_host_key)")
}

// key returns the host key, or nil when none was given.
func (h hostKeyFlag) key() (ssh.PublicKey, error) {
	var key ssh.PublicKey
	var from string
	take := func(name string, data []byte) error {
		k, err := sshx.ParseHostKey(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if key != nil && !bytes.Equal(k.Marshal(), key.Marshal()) {
			return fmt.Errorf("%s and %s hold different host keys (%s, %s): give one", from, name, ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(k))
		}
		key, from = k, name
		return nil
	}
	if h.file != "" {
		data, err := os.ReadFile(h.file)
		if err != nil {
			return nil, fmt.Errorf("reading the host key: %w", err)
		}
		if err := take(h.file, data); err != nil {
			return nil, err
		}
	}
	for _, name := range hostKeyEnv {
		if v := os.Getenv(name); v != "" {
			if err := take("$"+name, []byte(v)); err != nil {
				return nil, err
			}
		}
	}
	return key, nil
}
