// Package credentials tells the owner how to sign in to each app the first time. The
// server created each app's administrator itself (the app's claim, run by the host's
// claim runner) before anyone could reach the app; this asks the host for those sign-ins
// over SSH, with the server's host key pinned, and prints them for a person or a script.
// A password is only ever written to the output it was asked for: never into an error
// or a log, so it does not pass through git, CI logs or pull request comments.
package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/nassella/nassella/generator/site"
)

// State is how far an app's claim has got.
type State string

const (
	Claimed State = "claimed" // the administrator exists: sign in with Login and Password
	Pending State = "pending" // the app is still being set up
	Failed  State = "failed"  // setting it up failed; Reason says why, and the app stays shut
)

// Entry is what the host says about one app.
type Entry struct {
	App   string
	State State
	Login string
	// Password is empty for an app whose owner chooses their own (Vaultwarden: the owner
	// registers with Login, the only address allowed to).
	Password string
	Reason   string // why setting the app up failed, in one line (the runner always gives one)
}

// fields are the host's columns, in order.
var fields = []string{"APP", "STATE", "LOGIN", "PASSWORD", "REASON"}

var appNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Parse reads the host's answer to `nassella-claim credentials`: one line per app,
// APP, STATE, LOGIN, PASSWORD and REASON separated by tabs. Errors name the line and
// the app, never a field's value, which may be a password.
func Parse(out []byte) ([]Entry, error) {
	var entries []Entry
	seen := map[string]bool{}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(out) == 0 {
		lines = nil
	}
	for i, line := range lines {
		at := fmt.Sprintf("the server's answer, line %d", i+1)
		f := strings.Split(line, "\t")
		if len(f) != len(fields) {
			return nil, fmt.Errorf("%s: %d fields separated by tabs, want %d (%s): is the server's setup from another nassella version? Apply the site again", at, len(f), len(fields), strings.Join(fields, ", "))
		}
		e := Entry{App: f[0], State: State(f[1]), Login: f[2], Password: f[3], Reason: f[4]}
		if !appNameRe.MatchString(e.App) {
			return nil, fmt.Errorf("%s: the first field is not an app name", at)
		}
		at += " (" + e.App + ")"
		// What is printed to a terminal holds no control characters (escape sequences).
		if strings.IndexFunc(line, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }) >= 0 {
			return nil, fmt.Errorf("%s: a field holds a control character", at)
		}
		if seen[e.App] {
			return nil, fmt.Errorf("%s: the app is named twice", at)
		}
		seen[e.App] = true
		switch {
		case e.State != Claimed && e.State != Pending && e.State != Failed:
			return nil, fmt.Errorf("%s: the state is none of %s, %s, %s", at, Claimed, Pending, Failed)
		case e.State == Claimed && e.Login == "":
			return nil, fmt.Errorf("%s: claimed, but with no login", at)
		case e.State != Failed && e.Reason != "":
			return nil, fmt.Errorf("%s: a reason, but the state is not %s", at, Failed)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Options say which app to show and how.
type Options struct {
	Remote Remote
	App    string // one app; every app when empty
	JSON   bool   // a JSON array for scripts instead of words for a person
}

// HasApp checks that app (when given) is one of the site's.
func HasApp(s *site.Loaded, app string) error {
	if app == "" || appOf(s, app) != nil {
		return nil
	}
	return fmt.Errorf("no app %q in %s; its apps are %s", app, s.File, strings.Join(s.AppNames(), ", "))
}

func appOf(s *site.Loaded, name string) *site.App {
	for i := range s.Apps {
		if s.Apps[i].Name == name {
			return &s.Apps[i]
		}
	}
	return nil
}

// Show asks the server how to sign in to the site's apps (or to opt.App) and writes it to
// w. It fails after writing when setting an app up failed, so a script notices.
func Show(ctx context.Context, s *site.Loaded, opt Options, w io.Writer) error {
	if err := HasApp(s, opt.App); err != nil {
		return err
	}
	entries, err := Fetch(ctx, opt.Remote, opt.App)
	if err != nil {
		return err
	}
	if opt.JSON {
		err = WriteJSON(w, s, entries)
	} else {
		_, err = io.WriteString(w, Format(s, entries, opt.App == ""))
	}
	if err != nil {
		return err
	}
	var failed []string
	for _, e := range entries {
		if e.State == Failed {
			failed = append(failed, e.App)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("setting up %s failed on the server (see above): run nassella doctor for what to do", strings.Join(failed, ", "))
	}
	return nil
}

// Shown is one app in the JSON output.
type Shown struct {
	App      string `json:"app"`
	Title    string `json:"title"`
	Address  string `json:"address"` // empty for an app the server has and site.yaml does not
	State    State  `json:"state"`
	Login    string `json:"login"`
	Password string `json:"password"` // empty where the owner chooses it
	Reason   string `json:"reason"`   // why setting the app up failed
	// AdminPage, when set, is the page Password opens: a token for the app's settings;
	// the owner registers their own account with Login (Vaultwarden).
	AdminPage string `json:"admin_page,omitempty"`
}

// WriteJSON writes the entries as a JSON array, each with the app's title and address.
func WriteJSON(w io.Writer, s *site.Loaded, entries []Entry) error {
	out := make([]Shown, len(entries))
	for i, e := range entries {
		title, addr := describe(s, e.App)
		out[i] = Shown{App: e.App, Title: title, Address: addr, State: e.State, Login: e.Login, Password: e.Password, Reason: e.Reason, AdminPage: adminPage(s, e.App)}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// describe is an app's title and address from the site, or its name alone for an app
// site.yaml does not have.
func describe(s *site.Loaded, name string) (title, addr string) {
	if a := appOf(s, name); a != nil {
		return a.Spec.Title, "https://" + a.Host
	}
	return name, ""
}

// adminPage is the address of the page an app's password opens, when it is a token for
// the app's settings rather than an account's password (catalog claim.admin_page).
func adminPage(s *site.Loaded, name string) string {
	if a := appOf(s, name); a != nil && a.Spec.Claim != nil && a.Spec.Claim.AdminPage != "" {
		return "https://" + a.Host + a.Spec.Claim.AdminPage
	}
	return ""
}

// Format is the entries in words for the owner. With all, the site's apps the server
// does not have yet are named too.
func Format(s *site.Loaded, entries []Entry, all bool) string {
	var b strings.Builder
	ask := s.Support.Text()
	on := map[string]bool{}
	shown := false // a password was printed
	for _, e := range entries {
		on[e.App] = true
		title, addr := describe(s, e.App)
		page := adminPage(s, e.App)
		if addr == "" {
			fmt.Fprintf(&b, "%s (on the server, but not in your %s: is your copy of the site repo up to date?)\n", title, s.File)
		} else {
			fmt.Fprintf(&b, "%s  %s\n", title, addr)
		}
		switch {
		case e.State == Pending:
			b.WriteString("  Being set up: try again in a few minutes.\n")
		case e.State == Failed:
			fmt.Fprintf(&b, "  Setting up failed: %s.\n", strings.TrimSuffix(firstNonEmpty(e.Reason, "the server kept no reason"), "."))
			fmt.Fprintf(&b, "  The app stays closed to visitors until it is set up. Run `nassella doctor` to see what to do, or ask %s.\n", ask)
		case e.Password == "" || page != "":
			fmt.Fprintf(&b, "  Sign up at %s with %s; only that address may register. Do it now: until you have, whoever knows that address could take it.\n", firstNonEmpty(addr, "the app"), e.Login)
			b.WriteString("  You choose the password yourself: nobody else ever knows it.\n")
			if page != "" && e.Password != "" {
				fmt.Fprintf(&b, "  Admin page:  %s\n  Token:       %s\n  The token opens the admin page (the app's settings and invitations); it is not a password to sign in with.\n", page, e.Password)
				shown = true
			}
		default:
			fmt.Fprintf(&b, "  Sign in as:  %s\n  Password:    %s\n", e.Login, e.Password)
			shown = true
		}
		b.WriteString("\n")
	}
	if all {
		for _, a := range s.Apps {
			if !on[a.Name] {
				fmt.Fprintf(&b, "%s  https://%s\n  Not on the server yet: it arrives when the change that adds it is merged and applied.\n\n", a.Spec.Title, a.Host)
			}
		}
	}
	if b.Len() == 0 {
		return "The server has no apps yet.\n"
	}
	if shown {
		b.WriteString("These are the passwords the server set first. Once you change one in its app, sign in\nwith yours: this command still shows the first.\n")
		return b.String()
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
