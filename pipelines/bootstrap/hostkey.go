package bootstrap

import (
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
)

// HostKeySecret holds the server's SSH host key. Terraform writes it to every server the
// site gets, so nassella checks the server it backs up, asks for its status or reads its
// logs against a key known before the server exists. It stays across rebuilds: a new one
// would be refused by the backup before the rebuild that brings it.
const HostKeySecret = "NASSELLA_HOST_KEY"

// ensureHostKey makes the site's host key when none was given. A made key never replaces
// one the forge already has (see storeSecrets).
func (r *runner) ensureHostKey() {
	step := Step{Name: "server host key"}
	if given := r.cfg.Secrets[HostKeySecret]; given != "" {
		key, err := sshx.ParseHostKey([]byte(given))
		switch {
		case err != nil || !strings.HasPrefix(strings.TrimSpace(given), "-----BEGIN"):
			step.Status, step.Detail = Failed, HostKeySecret+" is not an OpenSSH private key without a passphrase"
			step.Fix = "leave " + HostKeySecret + " unset and bootstrap makes one, or give the key ssh-keygen -t ed25519 -N '' -f FILE wrote"
		case key.Type() != ssh.KeyAlgoED25519:
			step.Status, step.Detail = Failed, HostKeySecret+" is a "+key.Type()+" key, not ed25519"
			step.Fix = "give an ed25519 key (ssh-keygen -t ed25519 -N '' -f FILE), or leave it unset and bootstrap makes one"
		default:
			step.Status, step.Detail = AlreadyThere, "given: "+ssh.FingerprintSHA256(key)
		}
		r.report(step)
		return
	}
	pem, pub, err := newKeyPair("nassella host key of " + r.cfg.Site.Name)
	if err != nil {
		step.Status, step.Detail, step.Fix = Failed, err.Error(), "run again"
		r.report(step)
		return
	}
	r.cfg.Secrets[HostKeySecret] = pem
	r.generated = map[string]bool{HostKeySecret: true}
	step.Status = Done
	step.Detail = "made " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " (" + ssh.FingerprintSHA256(pub) + "); stored as " + HostKeySecret + " unless the forge already has one"
	r.report(step)
}
