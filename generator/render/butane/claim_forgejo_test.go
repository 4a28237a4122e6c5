package butane_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// forgejoCLI models `forgejo admin user create` as Forgejo's source has it, with a user
// table standing in for the database. Read in Forgejo's GitHub mirrors (codeberg is not
// in the stored repositories): cmd/admin_user_create.go (microcmdUserCreate, runCreateUser)
// of creator-signal/fork-forgejo-forgejo, the same command and flags as Gitea's
// (go-gitea/gitea cmd/admin_user_create.go), and models/user/user.go (createUser).
type forgejoCLI struct {
	users map[string]*forgejoUser // by lower-case name
}

type forgejoUser struct {
	Name, Email, Password     string
	Admin, MustChangePassword bool
}

// forgejoCreateFlags are microcmdUserCreate's flags: name → kind.
var forgejoCreateFlags = map[string]string{
	"name": "string", "username": "string", "password": "string", "email": "string",
	"admin": "bool", "random-password": "bool", "must-change-password": "bool",
	"random-password-length": "int", "access-token": "bool", "access-token-name": "string",
	"access-token-scopes": "string", "restricted": "bool", "fullname": "string", "source-id": "int",
}

// Some of models/user/user.go's reservedUsernames, and an approximation of
// modules/validation's IsValidUsername (letters, digits, - and _, no special character at
// the end).
var (
	forgejoReserved    = []string{"admin", "api", "user", "org", "repo", "explore", "ghost", "forgejo-actions"}
	forgejoUsernameRe  = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_]*$`)
	forgejoBadEndingRe = regexp.MustCompile(`[-_]{2,}|[-_]$`)
)

// run is one call of the command: its exit status and what it printed. urfave/cli ends
// with status 1 on any error (cmd/main.go, RunMainApp).
func (f *forgejoCLI) run(argv []string) (int, string) {
	if len(argv) < 4 || !slices.Equal(argv[:4], []string{"forgejo", "admin", "user", "create"}) {
		return 1, fmt.Sprintf("No help topic for %q", strings.Join(argv, " "))
	}
	set := map[string]string{}
	for i := 4; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--") {
			return 1, "unexpected arguments: " + a // noDanglingArgs
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		kind, ok := forgejoCreateFlags[name]
		switch {
		case !ok:
			return 1, "flag provided but not defined: -" + name
		case kind == "bool" && !hasValue:
			value = "true"
		case kind == "bool":
			if _, err := strconv.ParseBool(value); err != nil {
				return 1, fmt.Sprintf("invalid boolean value %q for flag -%s", value, name)
			}
		case !hasValue && i+1 < len(argv):
			i++
			value = argv[i]
		case !hasValue:
			return 1, "flag needs an argument: -" + name
		}
		set[name] = value
	}
	_, hasName := set["name"]
	_, hasUsername := set["username"]
	_, hasPassword := set["password"]
	_, hasRandom := set["random-password"]
	switch {
	case strings.TrimSpace(set["email"]) == "":
		return 1, "email is not set"
	case hasName && hasUsername:
		return 1, "cannot set both --name and --username flags"
	case !hasName && !hasUsername:
		return 1, "one of --name or --username flags must be set"
	case hasPassword && hasRandom:
		return 1, "cannot set both -random-password and -password flags"
	case !hasPassword:
		return 1, "must set either password or random-password flag"
	}
	name := set["username"] + set["name"]
	if !forgejoUsernameRe.MatchString(name) || forgejoBadEndingRe.MatchString(name) {
		return 1, fmt.Sprintf("CreateUser: name is invalid [%s]: must be valid alpha or numeric or dash(-_) or dot characters", name)
	}
	if slices.Contains(forgejoReserved, strings.ToLower(name)) {
		return 1, fmt.Sprintf("CreateUser: name is reserved [name: %s]", name)
	}
	if f.users[strings.ToLower(name)] != nil {
		return 1, fmt.Sprintf("CreateUser: user already exists [name: %s]", name)
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Email, set["email"]) {
			return 1, fmt.Sprintf("CreateUser: e-mail already in use [email: %s]", set["email"])
		}
	}
	// The first user needs no new password unless the flag says otherwise.
	mustChange := len(f.users) > 0
	if v, ok := set["must-change-password"]; ok {
		mustChange, _ = strconv.ParseBool(v)
	}
	admin, _ := strconv.ParseBool(set["admin"])
	f.users[strings.ToLower(name)] = &forgejoUser{Name: name, Email: set["email"], Password: set["password"], Admin: admin, MustChangePassword: mustChange}
	return 0, fmt.Sprintf("New user '%s' has been successfully created!\n", name)
}

// signIn finds the user a login form accepts: services/auth/signin.go, UserSignIn, takes
// a user name or, with an @, an e-mail address.
func (f *forgejoCLI) signIn(login, password string) *forgejoUser {
	for _, u := range f.users {
		if (strings.EqualFold(u.Name, login) || strings.Contains(login, "@") && strings.EqualFold(u.Email, login)) && u.Password == password {
			return u
		}
	}
	return nil
}

// noHTTP stands in for an app whose claim sends no request.
func noHTTP(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
}

// wantClaimed checks that a run claimed app, and that the owner is shown login and the
// password the host generated, which it returns. The per-app claim tests share it.
func wantClaimed(t *testing.T, r claimRun, app, login string) string {
	t.Helper()
	if r.Err != nil || !r.Claimed || r.Failed != "" {
		t.Fatalf("the claim failed: err %v, claimed %v, reason %q\n%s", r.Err, r.Claimed, r.Failed, r.Output)
	}
	if want := app + "\tclaimed\t" + login + "\t" + r.Secrets["ADMIN_PASSWORD"] + "\t\n"; r.Credentials != want {
		t.Errorf("credentials %q, want %q", r.Credentials, want)
	}
	return r.Secrets["ADMIN_PASSWORD"]
}

// wantRefused checks that a run failed for reason and left the app shut.
func wantRefused(t *testing.T, r claimRun, reason string) {
	t.Helper()
	if r.Err == nil || r.Claimed || r.Failed != reason {
		t.Fatalf("err %v, claimed %v, reason %q, want %q\n%s", r.Err, r.Claimed, r.Failed, reason, r.Output)
	}
}

func TestClaimForgejo(t *testing.T) {
	cli := &forgejoCLI{users: map[string]*forgejoUser{}}
	first := runClaim(t, "forgejo", noHTTP(t))
	pw := wantClaimed(t, first, "forgejo", "ops@everything.example")
	// As git, the image's user and app.ini's RUN_USER: Forgejo refuses root.
	want := []string{"--user", "git", "server", "forgejo", "admin", "user", "create", "--admin", "--username", "owner",
		"--email", "ops@everything.example", "--password", pw, "--must-change-password=false"}
	if len(first.Execs) != 1 || !slices.Equal(first.Execs[0], want) {
		t.Fatalf("execs %q, want one: %q", first.Execs, want)
	}
	argv := first.Execs[0][3:]
	if code, out := cli.run(argv); code != 0 {
		t.Fatalf("Forgejo would refuse the claim: %s", out)
	}
	if u := cli.signIn("ops@everything.example", pw); u == nil || !u.Admin || u.MustChangePassword {
		t.Errorf("the owner cannot sign in as an administrator with what they are shown: %+v", u)
	}

	// The same command again, as a second claim would run it: the model refuses it, and
	// the runner, given that exit status, fails and keeps the app shut.
	code, out := cli.run(argv)
	if code == 0 || !strings.Contains(out, "user already exists") {
		t.Fatalf("a second administrator: status %d, %s", code, out)
	}
	wantRefused(t, runClaim(t, "forgejo", noHTTP(t), claimOptions{ExecStatus: code}), "step 1 (forgejo in server) exited with status 1")
}

// The model refuses what the command refuses, such as the name admin, which is why the
// administrator is owner.
func TestClaimForgejoModel(t *testing.T) {
	base := []string{"forgejo", "admin", "user", "create", "--email", "a@b.example", "--password", "x"}
	for args, want := range map[string]string{
		"--username admin":                         "name is reserved",
		"--username owner --must-change-pw":        "flag provided but not defined: -must-change-pw",
		"--username owner --admin=maybe":           "invalid boolean value",
		"--username owner extra":                   "unexpected arguments",
		"--name owner --username owner":            "cannot set both",
		"--username owner --random-password":       "cannot set both -random-password and -password",
		"--username owner- --must-change-password": "name is invalid",
	} {
		cli := &forgejoCLI{users: map[string]*forgejoUser{}}
		if code, out := cli.run(append(slices.Clone(base), strings.Fields(args)...)); code != 1 || !strings.Contains(out, want) {
			t.Errorf("%s: status %d, %q, want %q", args, code, out, want)
		}
	}
}
