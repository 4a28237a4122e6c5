//go:build unix

package console

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/golden"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
)

// The owner guide's pictures (docs/owner/console.md), drawn by TestConsoleChromium with
// -update.
const screenshotDir = "../../docs/owner/img"

// TestConsoleChromium is the console in a real browser, Debian's Chromium driven headless
// over the DevTools protocol: the owner signs in through Gitea's own sign-in and consent
// pages, adds an app that does not fit and accepts the bigger server (that step by
// keyboard only), sees the plan comment and merges; a reader sees the site without Save
// or Merge; the owner reads one app's logs and follows them live. Every console page has
// a label for each field, none is blocked by the Content-Security-Policy, and the site
// page fits a phone.
func TestConsoleChromium(t *testing.T) {
	chromium := testtool.Require(t, "NASSELLA_CHROMIUM", ".ci/tools-browser.sh")
	te := startToolsEnv(t) // the logs host and Hetzner's prices, as the tabs' tests have them
	e := te.consoleEnv
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	browser := startChromium(ctx, t, chromium)
	site := e.console.URL + "/site/" + e.repo

	owner := e.signInChrome(t, browser, e.ownerLogin, true)
	if !owner.has(`[data-repo="` + e.repo + `"]`) {
		t.Fatalf("the sites page does not list %s:\n%s", e.repo, owner.html())
	}
	owner.shot("sites")
	owner.open(site)
	owner.shot("site")
	owner.follow("opening Add an app", chromedp.Click(chromedp.ID("add-app")))
	owner.do("choosing Immich", chromedp.Click(chromedp.CSS(`label[for="app-immich"]`)))
	owner.shot("add-app")
	owner.follow("saving", chromedp.Click(chromedp.ID("save")))
	if got := owner.text("#suggested-type"); got != "cx33" {
		t.Fatalf("the suggested server type is %q, not cx33:\n%s", got, owner.html())
	}
	owner.shot("too-small")

	// Accepting by keyboard only: Tab until the button has the focus, then Enter.
	for i := 0; owner.focused() != "accept-server-type"; i++ {
		if i == 30 {
			t.Fatalf("30 presses of Tab never reached the accept button (focus on %q)", owner.focused())
		}
		owner.do("pressing Tab", chromedp.KeyEvent(kb.Tab))
	}
	owner.follow("pressing Enter on the accept button", chromedp.KeyEvent(kb.Enter))
	if want := "Add Immich (photo and video library) on a bigger server (cx33)"; owner.text("#pr-title") != want || !strings.HasSuffix(owner.js("location.pathname"), "/pr/1") {
		t.Fatalf("after accepting: at %s, title %q, want %q", owner.location(), owner.text("#pr-title"), want)
	}
	e.checkPullRequest(t, 1)
	e.checkSiteDiff(t, 1)

	plan := deploy.CommentMarker + "\n### What merging this pull request does\n\n" +
		"**Your server will be rebuilt: your apps are offline for a few minutes.**\n\n" +
		"- The server becomes a cx33 (8 GB of memory).\n- Immich is added at https://photos.solo.example.\n\n" +
		"Questions about this change? Ask your co-op.\n"
	if err := e.g.As(e.botToken).API(ctx, "POST", "/repos/"+e.repo+"/issues/1/comments", map[string]string{"body": plan}, nil); err != nil {
		t.Fatal(err)
	}
	owner.open(site + "/pr/1")
	if got := owner.text("#plan-comment"); !strings.Contains(got, "Your server will be rebuilt") {
		t.Fatalf("the plan comment is not shown: %q", got)
	}
	owner.shot("pull-request", "header", "#merge-form") // down to the Merge button

	// The reader, in a browser of their own, while the pull request is open.
	reader := e.signInChrome(t, browser, e.reader, false)
	reader.open(site)
	if !reader.has("#read-only") || reader.has("#add-app") || reader.has("#change-resources") {
		t.Errorf("the reader's site page offers changes:\n%s", reader.html())
	}
	reader.shot("read-only")
	reader.open(site + "/add")
	if reader.has("#save") || !reader.has("#read-only") {
		t.Errorf("the reader's add page has a Save button:\n%s", reader.html())
	}
	reader.open(site + "/pr/1")
	if reader.has("#merge") || !reader.has("#read-only") {
		t.Errorf("the reader's pull request page has a Merge button:\n%s", reader.html())
	}

	owner.follow("merging", chromedp.Click(chromedp.ID("merge")))
	if !owner.has("#done") || !owner.has(`[data-app="immich"]`) {
		t.Fatalf("after Merge, no word that it is done, or no Immich card:\n%s", owner.html())
	}
	owner.shot("merged")
	var pr struct {
		Merged bool `json:"merged"`
	}
	if err := e.g.API(ctx, "GET", "/repos/"+e.repo+"/pulls/1", nil, &pr); err != nil || !pr.Merged {
		t.Fatalf("pull request #1 is not merged on the forge (%v)", err)
	}
	readLogsChrome(t, te, owner)
	owner.open(site + "/resources") // for its fields' labels

	// On a phone: the site page, 390×844 CSS pixels, scrolls only down.
	owner.do("emulating a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	owner.open(site)
	if w := evaluate(owner, chromedp.Evaluate[[]int](`[document.scrollingElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
		t.Errorf("on a phone the site page is %d pixels wide in a %d pixel window: it scrolls sideways", w[0], w[1])
	}
	owner.shot("phone")

	for _, b := range []*chromeTab{owner, reader} {
		if msgs := b.blocked(); len(msgs) > 0 {
			t.Errorf("the Content-Security-Policy blocked something in %s's browser:\n%s", b.name, strings.Join(msgs, "\n"))
		}
		// The test forge is built without its web assets: its pages alert about them.
		b.mu.Lock()
		for _, d := range b.dialogs {
			if strings.HasPrefix(d, e.console.URL) {
				t.Errorf("a console page showed an alert: %s", d)
			}
		}
		b.mu.Unlock()
	}
	// The listener does hear a blocked inline script: one added to the page now.
	owner.do("adding an inline script", chromedp.Evaluate[chromedp.Void](`document.body.appendChild(Object.assign(document.createElement("script"), {textContent: "1"}))`))
	for deadline := time.Now().Add(5 * time.Second); len(owner.blocked()) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an inline script added to a console page was not reported as blocked: the check above proves nothing")
		}
	}
}

// readLogsChrome has the owner open the Logs tab and pick Vaultwarden: the page lists its
// entries newest first (the plain view, no script needed); then Follow live, and an entry
// written to the journal after the page opened shows up, sent by the console as a
// Server-Sent Event and put on the page by logs.js.
func readLogsChrome(t *testing.T, te *toolsEnv, owner *chromeTab) {
	t.Helper()
	owner.open(te.console.URL + "/site/" + te.repo)
	owner.follow("opening the Logs tab", chromedp.Click(chromedp.ID("tool-logs")))
	owner.do("choosing Vaultwarden", chromedp.SetValue(chromedp.ID("log-app"), "vaultwarden"))
	owner.follow("showing its logs", chromedp.Click(chromedp.ID("show-logs")))
	shown := evaluate(owner, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#log-entries .log-entry")]
		.map(e => [e.querySelector(".log-time").innerText, e.querySelector(".log-app").innerText])`))
	var times []string
	for i, e := range shown {
		if i > 0 && e[0] > shown[i-1][0] {
			t.Errorf("the logs page lists %s after %s: not newest first", e[0], shown[i-1][0])
		}
		if e[1] == "vaultwarden" {
			times = append(times, e[0])
		}
	}
	// The journal's Vaultwarden entries, at 9:00:03, :01 and :00 UTC, in Helsinki's time.
	// (The stand-in journalctl prints every app's; the real one prints those asked for.)
	if want := []string{"2026-12-03 11:00:03", "2026-12-03 11:00:01", "2026-12-03 11:00:00"}; !slices.Equal(times, want) {
		t.Errorf("Vaultwarden's entries are shown at %q, want %q:\n%s", times, want, owner.html())
	}
	if args, _ := os.ReadFile(te.logsHost.Args); !strings.Contains(string(args), "SYSLOG_IDENTIFIER=vaultwarden") {
		t.Errorf("the server's journal was not asked for Vaultwarden's entries: %s", args)
	}

	opened := te.pipeJournal(t)
	owner.follow("following live", chromedp.Click(chromedp.ID("follow-logs")))
	journal := opened(20 * time.Second) // the page's event stream runs the server's journalctl
	if journal == nil {
		t.Fatalf("the live view did not start the server's journalctl in 20 s (%q; blocked: %q)", owner.text("#log-status"), owner.blocked())
	}
	at := time.Date(2026, 12, 3, 9, 5, 0, 0, time.UTC)
	const latest = "Password changed for me@solo.example"
	written := time.Now()
	if _, err := journal.WriteString(entry(at, "vaultwarden", 6, "Rocket has launched from http://0.0.0.0:80") +
		entry(at.Add(20*time.Second), "vaultwarden", 4, "Failed sign-in for me@solo.example from 203.0.113.9") +
		entry(at.Add(40*time.Second), "vaultwarden", 6, latest)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(owner.text("#log-entries li:first-child"), latest); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("an entry written to the journal is not at the top of the live view 5 s later (%q; blocked: %q):\n%s",
				owner.text("#log-status"), owner.blocked(), owner.html())
		}
	}
	t.Logf("the live view showed a new journal entry %v after it was written", time.Since(written).Round(time.Millisecond))
	owner.shot("logs")
}

// checkSiteDiff checks, through the forge's own diff of pull request n, that site.yaml
// changes by exactly the server type and one added app line.
func (e *consoleEnv) checkSiteDiff(t *testing.T, n int) {
	t.Helper()
	diff := e.apiText(t, fmt.Sprintf("/repos/%s/pulls/%d.diff", e.repo, n))
	var oldLine string
	for l := range strings.SplitSeq(string(e.siteYAML), "\n") {
		if strings.Contains(l, "server_type: cx23") {
			oldLine = l
		}
	}
	want := []string{"-" + oldLine, "+" + strings.Replace(oldLine, "cx23", "cx33", 1), "+  immich: {}"}
	var got []string
	in := false
	for l := range strings.SplitSeq(diff, "\n") {
		switch {
		case strings.HasPrefix(l, "diff --git "):
			in = l == "diff --git a/site.yaml b/site.yaml"
		case in && (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---"):
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the forge's diff of site.yaml in pull request #%d changes %q, want %q", n, got, want)
	}
}

// startChromium starts one headless Chromium for the test; each person gets a browser
// context of their own in it (their own cookies).
func startChromium(ctx context.Context, t *testing.T, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1024, 768))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root in its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	b, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(b); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// chromeTab is one person's tab, in a browser context of their own.
type chromeTab struct {
	t       *testing.T
	ctx     context.Context
	name    string
	console string // the console's address: its pages, not the forge's, are checked

	mu      sync.Mutex
	csp     []string // what the Content-Security-Policy refused, as the browser reported it
	dialogs []string // the pages' alerts, each closed
}

func newTab(t *testing.T, browser context.Context, name, console string) *chromeTab {
	b := &chromeTab{t: t, name: name, console: console}
	note := func(text string) {
		if strings.Contains(text, "Content Security Policy") {
			b.mu.Lock()
			b.csp = append(b.csp, text)
			b.mu.Unlock()
		}
	}
	var cancel context.CancelFunc
	b.ctx, cancel = chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			note(ev.Entry.Text)
		case *runtime.EventExceptionThrown:
			note(ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				note(string(a.Value))
			}
		case *cdppage.EventJavascriptDialogOpening:
			// An alert holds the page until it is closed; the listener may not send
			// commands itself.
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.URL+": "+ev.Message)
			b.mu.Unlock()
			go chromedp.Call(b.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}))
	t.Cleanup(cancel)
	b.do("opening a tab", chromedp.EmulateViewport(1024, 768))
	return b
}

// signInChrome signs login in to the console through Gitea's sign-in and consent pages,
// typing and clicking as a person does; shots draws the steps for the owner guide.
func (e *consoleEnv) signInChrome(t *testing.T, browser context.Context, login string, shots bool) *chromeTab {
	t.Helper()
	b := newTab(t, browser, login, e.console.URL)
	b.open(e.console.URL + "/")
	if shots {
		b.shot("sign-in")
	}
	b.follow("clicking Sign in", chromedp.Click(chromedp.ID("sign-in")))
	if !strings.Contains(b.location(), "/user/login") {
		t.Fatalf("expected Gitea's sign-in page, got %s", b.location())
	}
	b.do("typing into Gitea's sign-in page",
		chromedp.SendKeys(chromedp.ID("user_name"), login),
		chromedp.SendKeys(chromedp.ID("password"), giteatest.AdminPassword))
	b.follow("clicking Gitea's Sign in", chromedp.Click(chromedp.CSS(`form:has(#password) button`)))
	if !b.has("#authorize-app") {
		t.Fatalf("expected Gitea's consent page at %s:\n%s", b.location(), b.html())
	}
	if shots && golden.Updating() {
		// The picture names the console's address; the test's is on a new port each run.
		b.do("naming the console's address", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".oauth2-authorize-application-box p").forEach(
			p => p.innerHTML = p.innerHTML.replaceAll(`+strconv.Quote(e.console.URL)+`, "https://console.example"))`))
		b.shot("forge-consent", ".oauth2-authorize-application-box")
	}
	b.follow("granting access", chromedp.Click(chromedp.ID("authorize-app")))
	if got := b.text("#signed-in-as"); got != "Signed in as "+login || !strings.HasPrefix(b.location(), e.console.URL) {
		t.Fatalf("not signed in to the console: at %s, %q", b.location(), got)
	}
	return b
}

// do runs steps, failing the test with where the tab was.
func (b *chromeTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s (%s's browser): %v", what, b.name, err)
	}
}

// follow runs an action that loads a page (a click, a key) and waits until the new page
// has loaded; a console page is checked for its fields' labels. (The browser's own
// navigation events are not waited for: a redirect to the forge and back is several.)
func (b *chromeTab) follow(what string, step chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(what, chromedp.Evaluate[chromedp.Void](`window.nassellaOldPage = true`), step)
	state := ""
	for deadline := time.Now().Add(30 * time.Second); state != "complete"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s (%s's browser): no new page after 30 s; at %s, %q", what, b.name, b.location(), state)
		}
		// While the page changes, the old one's scripts are gone: errors are expected.
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`window.nassellaOldPage ? "" : document.readyState`))
		cancel()
	}
	if b.has("#error-message") {
		b.t.Fatalf("%s (%s's browser): an error page at %s: %s", what, b.name, b.location(), b.text("#error-message"))
	}
	b.checkLabels()
}

// open loads u like typing it into the address bar.
func (b *chromeTab) open(u string) {
	b.t.Helper()
	b.follow("opening "+u, chromedp.Navigate(u))
}

func evaluate[T any](b *chromeTab, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s's browser: %v", b.name, err)
	}
	return v
}

func (b *chromeTab) js(expr string) string {
	b.t.Helper()
	return evaluate(b, chromedp.Evaluate[string](expr))
}

func (b *chromeTab) has(sel string) bool {
	b.t.Helper()
	return evaluate(b, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`) !== null`))
}

// text is the visible text of the element sel, "" when there is none.
func (b *chromeTab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.js(`document.querySelector(` + strconv.Quote(sel) + `)?.innerText ?? ""`))
}

func (b *chromeTab) html() string     { return b.js(`document.documentElement.outerHTML`) }
func (b *chromeTab) location() string { return b.js(`location.href`) }
func (b *chromeTab) focused() string  { return b.js(`document.activeElement?.id ?? ""`) }

// checkLabels fails the test when a field of a console page has no label that names it.
func (b *chromeTab) checkLabels() {
	b.t.Helper()
	if !strings.HasPrefix(b.location(), b.console+"/") {
		return // the forge's pages are the forge's
	}
	unlabelled := evaluate(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(f => ![...(f.labels ?? [])].some(l => l.innerText.trim() !== "") && !f.getAttribute("aria-label"))
		.map(f => f.name || f.id || f.outerHTML)`))
	if len(unlabelled) > 0 {
		b.t.Errorf("fields without a label at %s: %v", b.location(), unlabelled)
	}
}

// blocked is what the Content-Security-Policy refused in this tab so far.
func (b *chromeTab) blocked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.csp)
}

// shot writes the page as docs/owner/img/console-NAME.png when the test runs with -update:
// the box around the elements sel names, the whole page when sel is empty.
func (b *chromeTab) shot(name string, sel ...string) {
	b.t.Helper()
	if !golden.Updating() {
		return
	}
	png := evaluate(b, chromedp.Screenshot(chromedp.CSSAll(cmp.Or(strings.Join(sel, ", "), "body"))))
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, "console-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
