// Package claimhost stands in for a site's server as `nassella credentials` reaches it:
// OpenSSH's sshd on 127.0.0.1 (sshtest.SSHD), whose sudo runs a stand-in of the host's
// claim runner that answers `nassella-claim credentials [APP]` from the lines a test
// gives, as the real runner does (site-template/host/nassella-claim.sh).
package claimhost

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// Host is the stand-in server.
type Host struct {
	*sshtest.SSHD
	Client ssh.Signer // a key the server lets in
	dir    string
}

// sudo stands in for sudo(8): it runs the claim runner's path only, and says "command not
// found" with exit status 1 when it is missing, as sudo does.
const sudo = `#!/bin/sh
# sudo STUB: runs the stand-in claim runner for its real path.
[ "$1" = -n ] || { echo "sudo: a terminal is required to read the password" >&2; exit 1; }
shift
if [ "$1" != %[1]s ] || [ ! -x %[2]s/nassella-claim ]; then
	echo "sudo: $1: command not found" >&2
	exit 1
fi
shift
exec %[2]s/nassella-claim "$@"
`

// runner stands in for the claim runner's credentials command.
const runner = `#!/bin/sh
# nassella-claim STUB: answers "credentials [APP]" from the lines in answer.
echo "$@" >> %[1]s/calls
[ "$1" = credentials ] || { echo "usage: nassella-claim run APP | credentials [APP]" >&2; exit 2; }
if [ -z "$2" ]; then
	cat %[1]s/answer
	exit 0
fi
tab=$(printf '\t')
grep "^$2$tab" %[1]s/answer && exit 0
echo "no app $2 on this server" >&2
exit 2
`

// Start starts the server; its claim runner answers with lines (APP, STATE, LOGIN,
// PASSWORD, REASON, separated by tabs), in order.
func Start(t *testing.T, lines ...string) *Host {
	t.Helper()
	h := &Host{dir: t.TempDir()}
	os.Chmod(h.dir, 0o755)
	bin := filepath.Join(h.dir, "bin")
	os.Mkdir(bin, 0o755)
	write(t, filepath.Join(bin, "sudo"), fmt.Sprintf(sudo, hostcontract.ClaimScript, h.dir), 0o755)
	write(t, filepath.Join(h.dir, "nassella-claim"), fmt.Sprintf(runner, h.dir), 0o755)
	answer := strings.Join(lines, "\n")
	if answer != "" {
		answer += "\n"
	}
	write(t, filepath.Join(h.dir, "answer"), answer, 0o600)
	h.SSHD = sshtest.StartSSHD(t, fmt.Sprintf("SetEnv PATH=%s:/usr/bin:/bin\n", bin))
	h.Client = sshtest.NewKey(t)
	h.Authorize(t, h.Client.PublicKey())
	return h
}

// Answer replaces what the claim runner prints.
func (h *Host) Answer(t *testing.T, out string) {
	write(t, filepath.Join(h.dir, "answer"), out, 0o600)
}

// RemoveRunner takes the claim runner away: a server set up by an older nassella.
func (h *Host) RemoveRunner(t *testing.T) {
	if err := os.Remove(filepath.Join(h.dir, "nassella-claim")); err != nil {
		t.Fatal(err)
	}
}

// Calls are the claim runner's arguments so far, one string per run.
func (h *Host) Calls() []string {
	data, _ := os.ReadFile(filepath.Join(h.dir, "calls"))
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func write(t *testing.T, name, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
