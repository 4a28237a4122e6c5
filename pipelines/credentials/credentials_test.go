package credentials_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/claimhost"
	"github.com/nassella/nassella/internal/testenv/golden"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/credentials"
)

// everyApp is the example site with every catalog app.
func everyApp(t *testing.T) *site.Loaded {
	t.Helper()
	data, _ := examples.Get("every-app")
	l, err := site.Load("site.yaml", data, catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// secret is in every password below: no error may show it.
const secret = "S3cr3t"

// answer is a host's answer with each kind of line: claimed, claimed with the password
// the owner chooses, pending, failed, and an app site.yaml no longer has.
var answer = []string{
	"audiobookshelf\tclaimed\tadmin\tAbs" + secret + "1\t",
	"forgejo\tfailed\tadmin\tFgj" + secret + "2\tstep 1 (forgejo admin user create) exited 1",
	"immich\tpending\tops@everything.example\tImm" + secret + "3\t",
	"retired\tclaimed\tadmin\tOld" + secret + "4\t",
	"vaultwarden\tclaimed\tops@everything.example\tVw" + secret + "5\t",
}

func TestParse(t *testing.T) {
	got, err := credentials.Parse([]byte(strings.Join(answer, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := credentials.Entry{App: "forgejo", State: credentials.Failed, Login: "admin", Password: "Fgj" + secret + "2", Reason: "step 1 (forgejo admin user create) exited 1"}
	if len(got) != len(answer) || got[1] != want {
		t.Errorf("got %+v", got)
	}
	if got, err := credentials.Parse(nil); err != nil || len(got) != 0 {
		t.Errorf("an empty answer: %v, %v", got, err)
	}

	for _, tc := range []struct{ name, in, want string }{
		{"four fields", "immich\tclaimed\tadmin\t" + secret + "\n", "line 1: 4 fields separated by tabs, want 5 (APP, STATE, LOGIN, PASSWORD, REASON)"},
		{"six fields", "immich\tclaimed\tadmin\t" + secret + "\t\t\n", "line 1: 6 fields"},
		{"spaces", "immich claimed admin " + secret + "\n", "line 1: 1 fields"},
		{"an empty line", answer[0] + "\n\n" + answer[2] + "\n", "line 2: 1 fields"},
		{"not an app", "Immich!\tclaimed\tadmin\t" + secret + "\t\n", "line 1: the first field is not an app name"},
		{"a state", "immich\tdone\tadmin\t" + secret + "\t\n", "line 1 (immich): the state is none of claimed, pending, failed"},
		{"twice", answer[0] + "\n" + answer[0] + "\n", "line 2 (audiobookshelf): the app is named twice"},
		{"no login", "immich\tclaimed\t\t" + secret + "\t\n", "claimed, but with no login"},
		{"a reason", "immich\tclaimed\tadmin\t" + secret + "\tstep 1 failed\n", "a reason, but the state is not failed"},
		{"an escape", "immich\tclaimed\tadmin\t" + secret + "\x1b[2J\t\n", "line 1 (immich): a field holds a control character"},
		{"a carriage return", "immich\tclaimed\tadmin\t" + secret + "\r\t\n", "a field holds a control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := credentials.Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// What the owner reads, and what a script reads, for each kind of line.
func TestFormat(t *testing.T) {
	s := everyApp(t)
	entries, err := credentials.Parse([]byte(strings.Join(answer, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/every-app.txt", []byte(credentials.Format(s, entries, true)))
	var b bytes.Buffer
	if err := credentials.WriteJSON(&b, s, entries); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/every-app.json", b.Bytes())
	var shown []credentials.Shown
	if err := json.Unmarshal(b.Bytes(), &shown); err != nil || len(shown) != len(entries) {
		t.Fatalf("%v: %s", err, b.String())
	}

	if got := credentials.Format(s, nil, false); got != "The server has no apps yet.\n" {
		t.Errorf("no apps: %q", got)
	}
	// One app asked for: the others are not listed as missing.
	one := credentials.Format(s, entries[2:3], false)
	if !strings.HasPrefix(one, "Immich  https://photos.everything.example\n  Being set up: try again in a few minutes.\n") || strings.Contains(one, "Nextcloud") {
		t.Errorf("one app:\n%s", one)
	}
}

// Against a real sshd whose sudo runs a stand-in of the host's claim runner.
func TestOverSSH(t *testing.T) {
	s := everyApp(t)
	h := claimhost.Start(t, answer...)
	remote := credentials.Remote{Addr: h.Addr, User: h.User, Signer: h.Client, Pinned: h.HostKey}
	ctx := context.Background()

	var out bytes.Buffer
	err := credentials.Show(ctx, s, credentials.Options{Remote: remote}, &out)
	if err == nil || err.Error() != "setting up forgejo failed on the server (see above): run nassella doctor for what to do" {
		t.Errorf("a failed app is not an error: %v", err)
	}
	want, _ := os.ReadFile("testdata/every-app.txt")
	if out.String() != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}

	// One app, as JSON, checked with the known_hosts file instead of the pinned key.
	out.Reset()
	hk, err := knownhosts.New(h.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	viaKnownHosts := remote
	viaKnownHosts.Pinned, viaKnownHosts.HostKey = nil, hk
	if err := credentials.Show(ctx, s, credentials.Options{Remote: viaKnownHosts, App: "vaultwarden", JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	if want := `"address": "https://vault.everything.example",` + "\n    \"state\": \"claimed\",\n    \"login\": \"ops@everything.example\",\n    \"password\": \"Vw" + secret + "5\",\n    \"reason\": \"\",\n    \"admin_page\": \"https://vault.everything.example/admin\""; !strings.Contains(out.String(), want) {
		t.Errorf("JSON lacks %s:\n%s", want, out.String())
	}
	if got := strings.Join(h.Calls(), "|"); got != "credentials|credentials vaultwarden" {
		t.Errorf("the claim runner ran with %q", got)
	}

	for _, tc := range []struct {
		name   string
		remote func(credentials.Remote) credentials.Remote
		app    string
		answer string // replaces the runner's answer; "" keeps it
		want   string
	}{
		{"an app the server has not", nil, "nextcloud", "", "the server has no app nextcloud yet (no app nextcloud on this server): it arrives when the change that adds it is merged and applied"},
		{"an app the site has not", nil, "gitea", "", `no app "gitea" in site.yaml; its apps are audiobookshelf, forgejo,`},
		{"a wrong answer", nil, "", "immich\tclaimed\tadmin\t" + secret + "\n", "the server's answer, line 1: 4 fields"},
		{"another server's key", func(r credentials.Remote) credentials.Remote {
			r.Pinned = sshtest.NewKey(t).PublicKey()
			return r
		}, "", "", "ssh: handshake failed"},
		{"no host key", func(r credentials.Remote) credentials.Remote {
			r.Pinned = nil
			return r
		}, "", "", credentials.ErrNoHostKey.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.answer != "" {
				h.Answer(t, tc.answer)
				defer h.Answer(t, strings.Join(answer, "\n")+"\n")
			}
			r := remote
			if tc.remote != nil {
				r = tc.remote(r)
			}
			calls := len(h.Calls())
			var out bytes.Buffer
			err := credentials.Show(ctx, s, credentials.Options{Remote: r, App: tc.app}, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || out.Len() > 0 {
				t.Errorf("the error shows the password, or something was printed: %v\n%s", err, out.String())
			}
			if tc.remote != nil && len(h.Calls()) != calls {
				t.Errorf("the claim runner ran for a server that was not checked")
			}
		})
	}
	if !errors.Is(credentials.Show(ctx, s, credentials.Options{Remote: credentials.Remote{Addr: h.Addr, Signer: h.Client}}, &out), credentials.ErrNoHostKey) {
		t.Error("no host key is not ErrNoHostKey")
	}

	// A server set up before the claim runner existed.
	h.RemoveRunner(t)
	err = credentials.Show(ctx, s, credentials.Options{Remote: remote}, &out)
	if err == nil || !strings.Contains(err.Error(), "the server has no nassella-claim (sudo: /opt/nassella/bin/nassella-claim: command not found): its setup is older than this nassella") {
		t.Errorf("got %v", err)
	}
}

func TestCommand(t *testing.T) {
	if got, _ := credentials.Command("immich"); got != "sudo -n /opt/nassella/bin/nassella-claim credentials immich" {
		t.Errorf("got %s", got)
	}
	if _, err := credentials.Command("x; rm -rf /"); err == nil {
		t.Error("an app name with shell characters was accepted")
	}
}
