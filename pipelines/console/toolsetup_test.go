package console

import (
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// What the Logs and Sign-ins tabs say when the console or the site is not set up for
// them: no server is asked, and the page says what to do.
func TestConsoleToolSetup(t *testing.T) {
	logsKey, adminKey, other := sshtest.NewKey(t), sshtest.NewKey(t), sshtest.NewKey(t)
	pub := func(k ssh.Signer) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey()))) }
	noHosts := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(noHosts, nil, 0o600)
	withKeys := func(logs string, admins ...string) *site.Loaded {
		t.Helper()
		text := string(siteWithComment(t))
		for _, a := range admins {
			text = strings.Replace(text, "  ssh_keys:\n", "  ssh_keys:\n    - \""+a+"\"\n", 1)
		}
		if logs != "" {
			text = strings.Replace(text, "provider:\n", "  logs_key: \""+logs+"\"\nprovider:\n", 1)
		}
		l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	servers := &Servers{LogsKey: logsKey, AdminKey: adminKey, KnownHosts: noHosts}
	for _, tc := range []struct {
		name    string
		servers *Servers
		site    *site.Loaded
		method  string
		path    string
		push    bool
		status  int
		want    []string
	}{
		{"logs: no logs key in the console", nil, withKeys(""), "GET", "logs", true, 200, []string{`id="logs-setup"`, "<code>nassella logs</code>", "--logs-key"}},
		{"logs: none in the site", servers, withKeys(""), "GET", "logs", true, 200, []string{"Your site has no logs key yet", `logs_key: "` + pub(logsKey) + ` nassella-console-logs"`}},
		{"logs: another in the site", servers, withKeys(pub(other)), "GET", "logs", false, 200, []string{"is not this console's", "in place of the <code>logs_key</code>", pub(logsKey)}},
		{"logs: a server the console does not know", servers, withKeys(pub(logsKey)), "GET", "logs", false, 200, []string{`id="logs-problem"`, "does not know your server's key yet"}},
		{"logs: a live view of a server it does not know", servers, withKeys(pub(logsKey)), "GET", "logs?stream=1", false, 502, []string{"does not know your server's key yet"}},
		{"sign-ins: no admin key in the console", &Servers{LogsKey: logsKey}, withKeys(""), "GET", "credentials", true, 200, []string{`id="credentials-setup"`, "<code>nassella credentials</code>"}},
		{"sign-ins: the console's key not in the site", servers, withKeys(""), "GET", "credentials", true, 200, []string{`id="admin-key-line"`, pub(adminKey) + " nassella-console", "can do anything on your server"}},
		{"sign-ins: a reader", servers, withKeys("", pub(adminKey)), "GET", "credentials", false, 200, []string{`id="credentials-read-only"`}},
		{"sign-ins: a reader posting", servers, withKeys("", pub(adminKey)), "POST", "credentials", false, 403, []string{"Only people who may change"}},
		{"sign-ins: a server the console does not know", servers, withKeys("", pub(adminKey)), "POST", "credentials", true, 200, []string{`id="credentials-problem"`, "does not know your server's key yet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{Forge: "https://git.example", ClientID: "console", PublicURL: "http://127.0.0.1:8470", Servers: tc.servers})
			if err != nil {
				t.Fatal(err)
			}
			st := &siteState{Owner: "ada", Repo: "acme-site", Access: forge.Access{Push: tc.push}, Site: tc.site}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, "/site/ada/acme-site/"+tc.path, nil)
			page := s.logsPage
			if strings.HasPrefix(tc.path, "credentials") {
				page = s.credentialsPage
			}
			page(rec, req, &Session{Login: "ada", CSRF: "token"}, st)
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, `id="log-entries"`) || strings.Contains(body, `id="signins"`) {
				t.Error("the page shows entries it cannot have read")
			}
		})
	}
	// A SiteTool with a console tab's slug takes its place.
	s, err := New(Config{Forge: "https://git.example", ClientID: "console", PublicURL: "http://127.0.0.1:8470",
		SiteTools: []SiteTool{{Slug: "logs", Label: "Our logs", Serve: func(http.ResponseWriter, *http.Request, ToolRequest) {}}}})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, tool := range s.cfg.SiteTools {
		labels = append(labels, tool.Slug+"="+tool.Label)
	}
	if got := strings.Join(labels, " "); got != "credentials=Sign-ins logs=Our logs" {
		t.Errorf("tabs %s", got)
	}
}

func TestConsoleSetLogsKey(t *testing.T) {
	data := string(siteWithComment(t))
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL1uve8eJ9wyUw5NDdGE2yVSMPUVAULrEX38U+T2mvl6 nassella-console-logs"
	const adminEnd = "me@laptop\"\n"
	withKey := strings.Replace(data, adminEnd, adminEnd+"  logs_key: \""+key+"\"\n", 1)
	for _, tc := range []struct{ name, in, want string }{
		{"added as admin's last entry", data, withKey},
		{"in place of another", strings.Replace(data, adminEnd, adminEnd+"  logs_key: \"ssh-ed25519 AAAAother old-logs\" # ours\n", 1),
			strings.Replace(data, adminEnd, adminEnd+"  logs_key: \""+key+"\" # ours\n", 1)},
	} {
		out, err := setLogsKey([]byte(tc.in), key)
		if err != nil || string(out) != tc.want {
			t.Errorf("%s: %v\n%s\nwant:\n%s", tc.name, err, out, tc.want)
		}
	}
}
