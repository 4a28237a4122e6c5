package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/sshx"
)

// Remote is how to reach the server.
type Remote = sshx.Login

// ErrNoHostKey is Fetch's error when the caller gave no way to check the server's key:
// no password is asked of a server that is not known.
var ErrNoHostKey = sshx.ErrNoHostKey

// Command is what runs on the server: the claim runner, as root (it reads the apps'
// secrets). Flatcar's core user may sudo through the wheel group without a password
// (flatcar.org/docs/latest/setup/security/hardening-guide, "Local users"); -n makes sudo
// fail rather than wait for one where that is not so (sudo(8), -n).
func Command(app string) (string, error) {
	cmd := "sudo -n " + hostcontract.ClaimScript + " credentials"
	if app == "" {
		return cmd, nil
	}
	if !appNameRe.MatchString(app) {
		return "", fmt.Errorf("%q is not an app name", app)
	}
	return cmd + " " + app, nil
}

// Fetch asks the server for the sign-in of app, or of every app when app is empty.
func Fetch(ctx context.Context, r Remote, app string) ([]Entry, error) {
	cmd, err := Command(app)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := r.Dial(ctx)
	if err != nil {
		switch msg := err.Error(); {
		case errors.Is(err, ErrNoHostKey):
			return nil, err
		case strings.Contains(msg, "unable to authenticate"):
			return nil, fmt.Errorf("%w (is your key in admin.ssh_keys?)", err)
		case strings.Contains(msg, "key mismatch") || strings.Contains(msg, "key is unknown"):
			// sshx's pinned key and x/crypto/ssh/knownhosts' KeyError say so.
			return nil, fmt.Errorf("%w: nothing was asked of that server (is --host your site's server, and the host key your site's?)", err)
		}
		return nil, err
	}
	defer c.Close()
	out, err := c.Run(ctx, cmd)
	// The runner's messages name apps and steps, never a password; only its stdout holds
	// those, and it is only parsed.
	msg := strings.TrimSpace(string(out.Stderr[:min(len(out.Stderr), 2048)]))
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitStatus() == 2 && app != "":
		return nil, fmt.Errorf("the server has no app %s yet (%s): it arrives when the change that adds it is merged and applied", app, firstNonEmpty(msg, "exit status 2"))
	// sudo exits 1 when it cannot run the command, and says so on stderr (sudo(8), EXIT
	// VALUE): a server set up before the claim runner existed.
	case errors.As(err, &exit) && strings.Contains(msg, "command not found"):
		return nil, fmt.Errorf("the server has no %s (%s): its setup is older than this nassella; merge and apply a change to the site to bring it up to date", hostcontract.ClaimCommand, msg)
	case err != nil:
		return nil, fmt.Errorf("asking %s for the sign-in: %s: %v: %s", r.Addr, hostcontract.ClaimCommand, err, msg)
	}
	return Parse(out.Stdout)
}
