//go:build unix

package console

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/syncbuf"
	"github.com/nassella/nassella/internal/testenv/claimhost"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// consoleSetup changes the test site before it is pushed, and the console's Config.
type consoleSetup struct {
	site   func([]byte) []byte
	config func(*Config)
}

// entry is one line of `journalctl -o json`.
func entry(at time.Time, app string, priority int, msg string) string {
	data, _ := json.Marshal(map[string]string{"__REALTIME_TIMESTAMP": fmt.Sprint(at.UnixMicro()), "PRIORITY": fmt.Sprint(priority),
		"CONTAINER_TAG": app, "_SYSTEMD_UNIT": "nassella-app-" + app + ".service", "MESSAGE": msg})
	return string(data) + "\n"
}

// secretPassword is the password the stand-in claim runner gives: no log line may hold it.
const secretPassword = "Vw-S3cr3t-5"

// toolsEnv is the console with its Logs and Sign-ins tabs on, reaching two stand-in
// servers (a logs host with the forced command, a claim host with sudo), and Hetzner's
// prices from the simulator; the site lists the console's logs and admin keys.
type toolsEnv struct {
	*consoleEnv
	logsHost *sshtest.LogsHost
	claim    *claimhost.Host
	sim      *hcloudsim.Server
	journal  string
	known    string                 // the console's known_hosts file
	server   atomic.Pointer[string] // the address the console dials for the site's server
	log      *syncbuf.Buffer
}

func startToolsEnv(t *testing.T) *toolsEnv {
	te := &toolsEnv{log: &syncbuf.Buffer{}}
	te.journal = filepath.Join(t.TempDir(), "journal")
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	os.WriteFile(te.journal, []byte(entry(base, "vaultwarden", 6, "Rocket has launched")+
		entry(base.Add(time.Second), "vaultwarden", 3, "database is locked")+
		entry(base.Add(2*time.Second), "proxy", 4, "certificate for vault.solo.example renews soon")+
		entry(base.Add(3*time.Second), "vaultwarden", 6, "Login from 203.0.113.9 <script>alert(1)</script> \x1b[31mred\x1b[0m")), 0o644)
	te.logsHost = sshtest.StartLogsHost(t, te.journal, "vaultwarden")
	te.claim = claimhost.Start(t, "retired\tclaimed\tadmin\t"+secretPassword+"-old\t", "vaultwarden\tclaimed\tme@solo.example\t"+secretPassword+"\t")
	te.known = filepath.Join(t.TempDir(), "known_hosts")
	known := te.known
	var hosts []byte
	for _, f := range []string{te.logsHost.KnownHosts, te.claim.KnownHosts} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, data...)
	}
	os.WriteFile(known, hosts, 0o600)
	te.sim = hcloudsim.New()
	te.sim.Start()
	t.Cleanup(te.sim.Close)
	te.useServer(te.logsHost.Addr)
	pub := func(k ssh.Signer) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey()))) }
	te.consoleEnv = startConsoleEnv(t, consoleSetup{
		site: func(data []byte) []byte {
			out := strings.Replace(string(data), "    - \"ssh-ed25519", "    - \""+pub(te.claim.Client)+" console\"\n    - \"ssh-ed25519", 1)
			out = strings.Replace(out, "provider:\n", "  logs_key: \""+pub(te.logsHost.Key)+" nassella-logs\"\nprovider:\n", 1)
			if out == string(data) {
				t.Fatal("the one-app example's admin section changed; update the test")
			}
			return []byte(out)
		},
		config: func(c *Config) {
			c.SiteTools = nil // the stand-in logs tab of the end-to-end test
			c.Servers = &Servers{LogsKey: te.logsHost.Key, AdminKey: te.claim.Client, KnownHosts: known, User: te.logsHost.User,
				Addr: func(*site.Loaded) string { return *te.server.Load() }}
			c.HcloudEndpoint, c.HcloudToken = te.sim.Endpoint(), hcloudsim.DefaultToken
			c.Log = slog.New(slog.NewTextHandler(te.log, nil))
		}})
	return te
}

func (te *toolsEnv) useServer(addr string) { te.server.Store(&addr) }

// pipeJournal makes the journal a named pipe: the stand-in journalctl (cat) reads it as
// long as the test writes, as journalctl --follow waits for new entries. opened waits
// until journalctl has opened it and gives the end to write entries to, or nil when
// journalctl did not start within wait.
func (te *toolsEnv) pipeJournal(t *testing.T) (opened func(wait time.Duration) *os.File) {
	t.Helper()
	os.Remove(te.journal)
	if err := syscall.Mkfifo(te.journal, 0o644); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(te.journal, os.O_WRONLY, 0) // waits for journalctl
		if err != nil {
			t.Error(err)
		}
		ch <- f
	}()
	return func(wait time.Duration) *os.File {
		select {
		case f := <-ch:
			t.Cleanup(func() { f.Close() })
			return f
		case <-time.After(wait):
			return nil
		}
	}
}

// messages are the log messages of a logs page, in the order shown.
func messages(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<span class="log-msg">([^<]*)</span>`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestConsoleTools(t *testing.T) {
	te := startToolsEnv(t)
	ctx := context.Background()
	owner := te.signIn(t, te.ownerLogin)
	reader := te.signIn(t, te.reader)
	if _, err := te.g.CreateUser(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	stranger := te.signIn(t, "eve")
	siteURL := te.console.URL + "/site/" + te.repo

	t.Run("Logs", func(t *testing.T) {
		te.useServer(te.logsHost.Addr)
		owner.get(siteURL)
		for _, want := range []string{`id="tool-logs"`, `id="tool-credentials"`} {
			if !strings.Contains(owner.body, want) {
				t.Errorf("the site page has no tab %s", want)
			}
		}
		args := func() string {
			data, _ := os.ReadFile(te.logsHost.Args)
			return strings.TrimSpace(string(data))
		}
		for _, tc := range []struct {
			name, query string
			want        []string // messages, in order
			args        string   // journalctl's arguments
		}{
			{"everything, newest first", "", []string{"Login from 203.0.113.9 &lt;script&gt;alert(1)&lt;/script&gt; red", "certificate for vault.solo.example renews soon",
				"database is locked", "Rocket has launched"}, "--output=json --no-pager --quiet --lines=200"},
			{"errors only", "?level=error", []string{"database is locked"}, ""},
			{"warnings and errors", "?level=warn", []string{"certificate for vault.solo.example renews soon", "database is locked"}, ""},
			{"text, any case", "?q=LOGIN+from", []string{"Login from 203.0.113.9 &lt;script&gt;alert(1)&lt;/script&gt; red"}, ""},
			{"one app, fewer lines", "?app=vaultwarden&lines=100&level=&q=", nil,
				"--output=json --no-pager --quiet --lines=100 SYSLOG_IDENTIFIER=vaultwarden + _SYSTEMD_UNIT=nassella-app-vaultwarden.service"},
		} {
			if st := owner.get(siteURL + "/logs" + tc.query); st != http.StatusOK {
				t.Fatalf("%s: %d\n%s", tc.name, st, owner.body)
			}
			if got := messages(owner.body); tc.want != nil && strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s: messages %q, want %q", tc.name, got, tc.want)
			}
			if tc.args != "" && args() != tc.args {
				t.Errorf("%s: journalctl ran with %q, want %q", tc.name, args(), tc.args)
			}
		}
		if !strings.Contains(owner.body, `<span class="log-time">2026-12-03 11:00:03</span> <span class="log-app">vaultwarden</span> <span class="log-level">info</span>`) {
			t.Errorf("an entry is not shown with its time in the site's zone (Europe/Helsinki), app and level:\n%s", owner.body)
		}
		// The form the page shows asks for what it shows.
		if st := getForm(t, owner, "logs-form", url.Values{"level": {"error"}}); st != http.StatusOK || strings.Join(messages(owner.body), "|") != "database is locked" {
			t.Errorf("the form with errors only: %d %q", st, messages(owner.body))
		}
		if st := owner.get(siteURL + "/logs?app=..%2Fetc"); st != http.StatusBadRequest || !strings.Contains(owner.body, "Choose one of the apps listed") {
			t.Errorf("an app the site has not: %d", st)
		}
		// A reader of the repo reads its logs; someone who cannot see the repo reads
		// nothing, and nothing is asked of the server.
		if st := reader.get(siteURL + "/logs?level=error"); st != http.StatusOK || len(messages(reader.body)) != 1 {
			t.Errorf("the reader: %d %q", st, messages(reader.body))
		}
		os.Remove(te.logsHost.Args)
		for _, q := range []string{"", "?follow=1&stream=1"} {
			if st := stranger.get(siteURL + "/logs" + q); st != http.StatusNotFound || strings.Contains(stranger.body, "log-entry") {
				t.Errorf("a stranger, %q: %d\n%s", q, st, stranger.body)
			}
		}
		if _, err := os.Stat(te.logsHost.Args); err == nil {
			t.Error("the server was asked for logs on a stranger's behalf")
		}
		// A server showing another key than the known_hosts file's is not asked.
		hosts, _ := os.ReadFile(te.known)
		os.WriteFile(te.known, []byte(knownhosts.Line([]string{te.logsHost.Addr}, te.claim.HostKey)+"\n"), 0o600)
		os.Remove(te.logsHost.Args)
		if owner.get(siteURL + "/logs"); !strings.Contains(owner.body, `id="logs-problem"`) || !strings.Contains(owner.body, "host key mismatch") || len(messages(owner.body)) != 0 {
			t.Errorf("a server with another key:\n%s", owner.body)
		}
		if _, err := os.Stat(te.logsHost.Args); err == nil {
			t.Error("a server with another key than the known one was asked for logs")
		}
		os.WriteFile(te.known, hosts, 0o600)
		// The live view is a page for the script, with the same filters.
		owner.get(siteURL + "/logs?app=vaultwarden&level=warn&lines=200&follow=1")
		if !strings.Contains(owner.body, `data-stream="/site/`+te.repo+`/logs?app=vaultwarden&amp;level=warn&amp;lines=200&amp;q=&amp;stream=1"`) ||
			!strings.Contains(owner.body, `<a href="/site/`+te.repo+`/logs?app=vaultwarden&amp;level=warn&amp;lines=200&amp;q=" id="plain-view">`) ||
			!strings.Contains(owner.body, `<script src="/static/logs.js" defer></script>`) {
			t.Errorf("the live view:\n%s", owner.body)
		}
		if st := owner.get(te.console.URL + "/static/logs.js"); st != http.StatusOK || !strings.Contains(owner.body, "EventSource") {
			t.Errorf("logs.js: %d", st)
		}
	})

	t.Run("LogsFollow", func(t *testing.T) {
		te.useServer(te.logsHost.Addr)
		opened := te.pipeJournal(t)
		// Served with one-second timeouts: a stream outlives the server's read and write
		// timeouts (ListenAndServe's are 30 s and 2 min).
		strict := httptest.NewUnstartedServer(te.console.Config.Handler)
		strict.Config.ReadTimeout, strict.Config.WriteTimeout = time.Second, time.Second
		strict.Start()
		defer strict.Close()
		start := time.Now()
		resp, err := owner.c.Get(strict.URL + "/site/" + te.repo + "/logs?app=vaultwarden&level=warn&lines=200&q=&stream=1")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("the stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		pipe := opened(20 * time.Second)
		if pipe == nil {
			t.Fatal("the server's journalctl did not start")
		}
		events := make(chan string, 10)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					events <- d
				}
			}
			close(events)
		}()
		now := time.Now()
		for i, e := range []string{entry(now, "vaultwarden", 6, "an info line, left out") + entry(now, "vaultwarden", 3, "first error"), entry(now, "vaultwarden", 4, "then a warning")} {
			want := []string{`"level":"error","msg":"first error"`, `"level":"warn","msg":"then a warning"`}[i]
			time.Sleep(1500 * time.Millisecond) // past both timeouts
			if _, err := pipe.WriteString(e); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			select {
			case got, open := <-events:
				if !open {
					t.Fatalf("the stream ended before %s", want)
				}
				if !strings.Contains(got, want) {
					t.Errorf("event %s, want %s", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no event %s", want)
			}
		}
		t.Logf("the live entries arrived over %v, past the server's one-second timeouts", time.Since(start).Round(time.Millisecond))
		// The browser goes away: the SSH session ends, and with it journalctl, whose
		// end of the pipe closes (writing to it fails with EPIPE).
		closed := time.Now()
		resp.Body.Close()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_, err := pipe.WriteString(entry(time.Now(), "vaultwarden", 3, "nobody reads this"))
			if errors.Is(err, syscall.EPIPE) {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("journalctl still runs 20 s after the browser left (%v)", err)
			}
		}
		t.Logf("journalctl ended %v after the browser left", time.Since(closed).Round(time.Millisecond))
		os.Remove(te.journal)
	})

	t.Run("Credentials", func(t *testing.T) {
		te.useServer(te.claim.Addr)
		owner.get(siteURL + "/credentials")
		if strings.Contains(owner.body, secretPassword) || !strings.Contains(owner.body, `id="credentials-form"`) {
			t.Fatalf("the sign-ins page shows a password on a GET, or no form:\n%s", owner.body)
		}
		if len(te.claim.Calls()) != 0 {
			t.Error("a GET asked the server for the sign-ins")
		}
		form, _ := findForm(owner.body, "credentials-form")
		post := func(b *browser, values url.Values) (*http.Response, string) {
			resp, err := b.c.PostForm(siteURL+"/credentials", values)
			if err != nil {
				t.Fatal(err)
			}
			b.read(resp)
			return resp, b.body
		}
		resp, body := post(owner, form.fields)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<span class="secret">`+secretPassword+`</span>`) || !strings.Contains(body, "https://vault.solo.example") ||
			!strings.Contains(body, `Sign in as <strong class="secret">admin</strong> with the password <span class="secret">`+secretPassword+`-old</span>`) {
			t.Fatalf("the owner's sign-ins: %d\n%s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		calls := len(te.claim.Calls())
		for _, tc := range []struct {
			name string
			b    *browser
			form url.Values
			want int
		}{
			{"no CSRF token", owner, url.Values{}, http.StatusForbidden},
			{"another session's CSRF token", owner, url.Values{"csrf": {csrfOf(t, reader)}}, http.StatusForbidden},
			{"a reader", reader, url.Values{"csrf": {csrfOf(t, reader)}}, http.StatusForbidden},
			{"a stranger", stranger, url.Values{"csrf": {csrfOf(t, stranger)}}, http.StatusNotFound},
		} {
			if resp, body := post(tc.b, tc.form); resp.StatusCode != tc.want || strings.Contains(body, secretPassword) {
				t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
		if got := len(te.claim.Calls()); got != calls {
			t.Errorf("the server was asked %d more times for refused requests", got-calls)
		}
		reader.get(siteURL + "/credentials")
		if !strings.Contains(reader.body, `id="credentials-read-only"`) || strings.Contains(reader.body, `id="credentials-form"`) {
			t.Errorf("the reader is offered the sign-ins:\n%s", reader.body)
		}
		if strings.Contains(te.log.String(), secretPassword) {
			t.Error("the console's log holds a password")
		}
	})

	t.Run("Costs", func(t *testing.T) {
		// The simulator's prices, VAT included: cx23 in hel1 with 10 GB and an IPv4
		// address €5.27 a month, cx33 €7.65 (pipelines/cost's tests work them out).
		owner.get(siteURL + "/add")
		if !strings.Contains(owner.body, `id="cost-now">€5.27</span>`) {
			t.Errorf("the add page does not say what the site costs:\n%s", owner.body)
		}
		if st := owner.submit("add-app-form", url.Values{"app": {"immich"}}); st != http.StatusOK || !strings.Contains(owner.body, `id="fit-cost">€5.27 → €7.65 a month (&#43;€2.38), VAT included</span>`) {
			t.Fatalf("the suggestion does not say what the bigger server costs: %d\n%s", st, owner.body)
		}
		if st := owner.submit("accept-form", nil); st != http.StatusOK {
			t.Fatalf("accepting: %d\n%s", st, owner.body)
		}
		n := prNumber(t, owner)
		if body := te.prBody(t, n); !strings.Contains(body, "**What your site costs**: €5.27 → €7.65 a month (+€2.38), VAT included") {
			t.Errorf("pull request #%d does not say what the site costs:\n%s", n, body)
		}

		owner.get(siteURL + "/resources")
		for _, want := range []string{`id="cost-now">€5.27</span>`, `<option value="cx33">cx33: 8 GB of memory, site €7.65 a month</option>`, `id="cost-per-10gb">€0.52</span>`} {
			if !strings.Contains(owner.body, want) {
				t.Errorf("the resources page lacks %s", want)
			}
		}
		if st := owner.submit("resources-form", url.Values{"volume_gb": {"40"}}); st != http.StatusOK {
			t.Fatalf("saving a bigger volume: %d\n%s", st, owner.body)
		}
		// 30 GB more at 0.044 net a GB: +€1.57 with VAT.
		if body := te.prBody(t, prNumber(t, owner)); !strings.Contains(body, "**What your site costs**: €5.27 → €6.84 a month (+€1.57), VAT included") {
			t.Errorf("the resources pull request does not say what the site costs:\n%s", body)
		}
		pricing := 0
		for _, r := range te.sim.Requests() {
			if strings.HasSuffix(r.Path, "/pricing") {
				pricing++
			}
		}
		if pricing != 1 {
			t.Errorf("Hetzner's price list was read %d times, want once (it is kept for %v)", pricing, priceTTL)
		}
	})

	t.Run("LogsKeyPullRequest", func(t *testing.T) { testLogsKeyPullRequest(t, te, owner, reader) })
}

// The owner swaps the site's logs key for another on the forge; the Logs tab offers the
// pull request that gives the site the console's key again, changing that line only.
func testLogsKeyPullRequest(t *testing.T, te *toolsEnv, owner, reader *browser) {
	ctx := context.Background()
	siteURL := te.console.URL + "/site/" + te.repo
	var file struct {
		SHA string `json:"sha"`
	}
	if err := te.g.API(ctx, "GET", "/repos/"+te.repo+"/contents/site.yaml", nil, &file); err != nil {
		t.Fatal(err)
	}
	consoleKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(te.logsHost.Key.PublicKey())))
	other := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshtest.NewKey(t).PublicKey())))
	swapped := strings.Replace(string(te.siteYAML), consoleKey+" nassella-logs", other+" laptop-logs", 1)
	if err := te.g.As(te.ownerToken).API(ctx, "PUT", "/repos/"+te.repo+"/contents/site.yaml", map[string]string{"sha": file.SHA,
		"content": base64.StdEncoding.EncodeToString([]byte(swapped)), "message": "my own logs key"}, nil); err != nil {
		t.Fatal(err)
	}
	if reader.get(siteURL + "/logs"); !strings.Contains(reader.body, "is not this console") || strings.Contains(reader.body, `id="add-logs-key-form"`) {
		t.Errorf("the reader's Logs tab of a site with another key:\n%s", reader.body)
	}
	owner.get(siteURL + "/logs")
	if st := owner.submit("add-logs-key-form", nil); st != http.StatusOK || !strings.Contains(owner.body, "Let nassella console read your apps&#39; logs") {
		t.Fatalf("giving the site the console's key: %d at %s\n%s", st, owner.last, owner.body)
	}
	n := prNumber(t, owner)
	want := strings.Replace(swapped, other+" laptop-logs", consoleKey+" nassella-console-logs", 1)
	if got := te.branchFile(t, n, "site.yaml"); got != want {
		t.Errorf("site.yaml of pull request #%d:\n%s\nwant:\n%s", n, got, want)
	}
}

// getForm sends the GET form id of b's page with its fields and values, as a browser does.
func getForm(t *testing.T, b *browser, id string, values url.Values) int {
	t.Helper()
	f, ok := findForm(b.body, id)
	if !ok {
		t.Fatalf("no form %s on %s", id, b.last)
	}
	for k, v := range values {
		f.fields[k] = v
	}
	u, err := b.last.Parse(f.action + "?" + f.fields.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return b.get(u.String())
}

// csrfOf is the CSRF token of b's session, from its sign-out form.
func csrfOf(t *testing.T, b *browser) string {
	t.Helper()
	b.get(strings.TrimSuffix(b.last.Scheme+"://"+b.last.Host, "/") + "/")
	f, ok := findForm(b.body, "/logout")
	if !ok {
		t.Fatal("no sign-out form")
	}
	return f.fields.Get("csrf")
}

// prNumber is the number of the pull request page b shows.
func prNumber(t *testing.T, b *browser) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(b.last.Path[strings.LastIndex(b.last.Path, "/pr/")+4:], "%d", &n); err != nil {
		t.Fatalf("not a pull request page: %s", b.last)
	}
	return n
}

func (te *toolsEnv) prBody(t *testing.T, n int) string {
	t.Helper()
	var pr struct {
		Body string `json:"body"`
	}
	if err := te.g.API(context.Background(), "GET", fmt.Sprintf("/repos/%s/pulls/%d", te.repo, n), nil, &pr); err != nil {
		t.Fatal(err)
	}
	return pr.Body
}

// Without a token the console names no price: it says prices are unavailable.
func TestConsoleCostsWithoutPrices(t *testing.T) {
	s := &Server{prices: newPriceCache("", "", time.Now), log: slog.New(slog.NewTextHandler(&syncbuf.Buffer{}, nil))}
	l, err := site.Load("site.yaml", siteWithComment(t), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	c := s.costsOf(context.Background(), l, nil, site.CurrentServerTypes())
	if c.Now != "" || c.ByType != nil || !strings.Contains(c.Unavailable, "without access to Hetzner's price list") || costLine(c) != "" {
		t.Errorf("%+v", c)
	}
}
