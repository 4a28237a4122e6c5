package butane_test

import (
	"slices"
	"strings"
	"testing"
)

// nextcloudOCC models the one occ call the claim makes, as Nextcloud's source shows it:
// console.php refuses any user but the owner of config/config.php (www-data in the
// image: nextcloud/docker's entrypoint runs occ so, run_as); the user commands exist only
// once Nextcloud is installed (core/register_command.php; occ says "Nextcloud is not
// installed - only a limited number of commands are available"); and
// core/Command/User/Setting.php sets "settings email" through setEMailAddress, or fails
// when the user does not exist. Symfony's console ends with status 1 on each failure.
type nextcloudOCC struct {
	installed bool
	emails    map[string]string // user → e-mail
}

func (o *nextcloudOCC) run(user string, argv []string) (int, string) {
	if len(argv) < 2 || !slices.Equal(argv[:2], []string{"php", "/var/www/html/occ"}) {
		return 1, "Could not open input file"
	}
	if user != "www-data" {
		return 1, "Console has to be executed with the user that owns the file config/config.php"
	}
	args := argv[2:]
	if !o.installed {
		return 1, "Nextcloud is not installed - only a limited number of commands are available\nThere are no commands defined in the \"user\" namespace."
	}
	if len(args) != 5 || args[0] != "user:setting" {
		return 1, "Command not defined or wrong arguments: " + strings.Join(args, " ")
	}
	uid, app, key, value := args[1], args[2], args[3], args[4]
	if _, ok := o.emails[uid]; !ok {
		return 1, "The user " + uid + " must exist to set this setting."
	}
	if app != "settings" || key != "email" {
		return 1, "this model knows only settings email"
	}
	o.emails[uid] = value
	return 0, ""
}

func TestClaimNextcloud(t *testing.T) {
	// The image has installed Nextcloud with the administrator admin (docker-entrypoint.sh,
	// occ maintenance:install --admin-user).
	occ := &nextcloudOCC{installed: true, emails: map[string]string{"admin": ""}}
	first := runClaim(t, "nextcloud", noHTTP(t))
	wantClaimed(t, first, "nextcloud", "admin")
	want := []string{"--user", "www-data", "app", "php", "/var/www/html/occ", "user:setting", "admin", "settings", "email", "ops@everything.example"}
	if len(first.Execs) != 1 || !slices.Equal(first.Execs[0], want) {
		t.Fatalf("execs %q, want one: %q", first.Execs, want)
	}
	if code, out := occ.run(first.Execs[0][1], first.Execs[0][3:]); code != 0 || occ.emails["admin"] != "ops@everything.example" {
		t.Fatalf("occ: status %d, %s; admin's e-mail %q", code, out, occ.emails["admin"])
	}

	// Every install attempt failed, and the image started Apache anyway: the web installer
	// would make the first visitor the administrator. occ fails, so does the claim, and the
	// app stays shut.
	broken := &nextcloudOCC{emails: map[string]string{}}
	code, out := broken.run(first.Execs[0][1], first.Execs[0][3:])
	if code == 0 || !strings.Contains(out, "not installed") {
		t.Fatalf("occ on an instance that is not installed: status %d, %s", code, out)
	}
	wantRefused(t, runClaim(t, "nextcloud", noHTTP(t), claimOptions{ExecStatus: code}), "step 1 (php in app) exited with status 1")

	// As root, the user docker exec would pick without --user, occ refuses to run.
	if code, _ := occ.run("root", first.Execs[0][3:]); code == 0 {
		t.Errorf("occ ran as root")
	}
}
