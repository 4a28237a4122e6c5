package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/pipelines/deploy"
)

// consoleEnv is a real Gitea with a site repo, its owner, a reader, the bot, and a
// console registered with Gitea as an OAuth2 application.
type consoleEnv struct {
	g                          *giteatest.Server
	console                    *httptest.Server
	ownerToken, readerToken    string
	botToken                   string
	siteYAML                   []byte
	repo                       string // OWNER/NAME
	cloneURL                   string
	ownerLogin, reader, botLog string
}

// siteWithComment is the one-app example with a comment of the owner's among the apps.
func siteWithComment(t testing.TB) []byte {
	data, ok := examples.Get("one-app")
	if !ok {
		t.Fatal("no example one-app")
	}
	out := strings.Replace(string(data), "apps:\n  vaultwarden: {}\n", "apps:\n  # our passwords\n  vaultwarden: {}\n", 1)
	if out == string(data) {
		t.Fatal("the one-app example's apps changed; update the test")
	}
	return []byte(out)
}

func startConsoleEnv(t *testing.T, setup ...consoleSetup) *consoleEnv {
	ctx := context.Background()
	g := giteatest.Start(t)
	e := &consoleEnv{g: g, ownerLogin: "ada", reader: "bob", botLog: "nassella-bot", siteYAML: siteWithComment(t)}
	for _, f := range setup {
		if f.site != nil {
			e.siteYAML = f.site(e.siteYAML)
		}
	}
	var err error
	for _, u := range []struct {
		login string
		token *string
	}{{e.ownerLogin, &e.ownerToken}, {e.reader, &e.readerToken}, {e.botLog, &e.botToken}} {
		if *u.token, err = g.CreateUser(ctx, u.login); err != nil {
			t.Fatal(err)
		}
	}
	var repo struct {
		CloneURL string `json:"clone_url"`
		FullName string `json:"full_name"`
	}
	if err := g.API(ctx, "POST", "/admin/users/"+e.ownerLogin+"/repos", map[string]any{"name": "acme-site", "private": true, "default_branch": "main"}, &repo); err != nil {
		t.Fatal(err)
	}
	e.repo, e.cloneURL = repo.FullName, repo.CloneURL
	pushSite(t, e.cloneURL, e.ownerToken, e.siteYAML)
	g.WaitPushed(t, e.repo)
	for _, c := range []string{e.reader, e.botLog} {
		if err := g.As(e.ownerToken).API(ctx, "PUT", "/repos/"+e.repo+"/collaborators/"+c, map[string]any{"permission": "read"}, nil); err != nil {
			t.Fatal(err)
		}
	}

	var h http.Handler = http.NotFoundHandler()
	e.console = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.console.Close)
	// The console as the co-op registers it: a public client (no secret), so Gitea
	// requires PKCE (POST /user/applications/oauth2, routers/api/v1/user/app.go).
	var app struct {
		ClientID string `json:"client_id"`
	}
	if err := g.API(ctx, "POST", "/user/applications/oauth2", map[string]any{"name": "nassella console",
		"redirect_uris": []string{e.console.URL + "/oauth/callback"}, "confidential_client": false}, &app); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Forge: g.URL, Kind: "gitea", ClientID: app.ClientID, PublicURL: e.console.URL,
		Bots: []string{e.botLog}, WorkDir: t.TempDir(),
		SiteTools: []SiteTool{{Slug: "logs", Label: "Logs", Serve: func(w http.ResponseWriter, r *http.Request, c ToolRequest) {
			fmt.Fprintf(w, "logs of %s/%s for %s, may write: %v", c.Owner, c.Repo, c.Person.Login, c.CanWrite)
		}}}}
	for _, f := range setup {
		if f.config != nil {
			f.config(&cfg)
		}
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = srv.Handler()
	return e
}

// pushSite generates siteData with the built-in catalog and pushes it as main's first
// commit. (pipelines/update's tests seed theirs alike; their helpers are not importable.)
func pushSite(t testing.TB, cloneURL, token string, siteData []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, siterepo.SiteFile), siteData, 0o644); err != nil {
		t.Fatal(err)
	}
	// As nassella generate makes it.
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Regenerate(); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := gitx.Commit(wt, "my site", gitx.Identity{Name: "Ada", Email: "ada@nassella.invalid"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := gitx.Push(context.Background(), repo, cloneURL, []config.RefSpec{"refs/heads/main:refs/heads/main"}, token, false); err != nil {
		t.Fatalf("pushing the site: %v", err)
	}
}

// signIn signs login in to the console through Gitea's own sign-in and consent pages.
func (e *consoleEnv) signIn(t *testing.T, login string) *browser {
	t.Helper()
	b := newBrowser(t)
	if st := b.get(e.console.URL + "/"); st != http.StatusOK || !strings.Contains(b.body, `id="sign-in"`) {
		t.Fatalf("the console's first page: %d\n%s", st, b.body)
	}
	// The console sends the browser to Gitea's authorize page, which asks to sign in first.
	b.get(e.console.URL + "/login")
	if !strings.Contains(b.last.Path, "/user/login") {
		t.Fatalf("expected Gitea's sign-in page, got %s", b.last)
	}
	b.submit("/user/login", url.Values{"user_name": {login}, "password": {giteatest.AdminPassword}})
	// Gitea's consent page: the application asks for access.
	if !strings.Contains(b.body, "/login/oauth/grant") {
		t.Fatalf("expected Gitea's consent page at %s:\n%s", b.last, b.body)
	}
	if st := b.submit("/login/oauth/grant", url.Values{"granted": {"true"}}); st != http.StatusOK {
		t.Fatalf("after granting: %d at %s\n%s", st, b.last, b.body)
	}
	if b.last.Host != strings.TrimPrefix(e.console.URL, "http://") || !strings.Contains(b.body, "Signed in as <strong>"+login+"</strong>") {
		t.Fatalf("not signed in to the console: at %s\n%s", b.last, b.body)
	}
	return b
}

func TestConsoleEndToEnd(t *testing.T) {
	e := startConsoleEnv(t)
	ctx := context.Background()
	owner := e.signIn(t, e.ownerLogin)
	if !strings.Contains(owner.body, `data-repo="`+e.repo+`"`) {
		t.Fatalf("the sites page does not list %s:\n%s", e.repo, owner.body)
	}
	site := e.console.URL + "/site/" + e.repo
	owner.get(site)
	for _, want := range []string{`data-app="vaultwarden"`, "https://vault.solo.example", `id="add-app"`, "cx23 (4 GB of memory)", `id="tool-logs"`, `id="change-resources"`} {
		if !strings.Contains(owner.body, want) {
			t.Errorf("the site page lacks %q", want)
		}
	}

	// Immich (4 GB) does not fit cx23 (4 GB) with Vaultwarden and the system.
	owner.get(site + "/add")
	if st := owner.submit("add-app-form", url.Values{"app": {"immich"}}); st != http.StatusOK || !strings.Contains(owner.body, `id="fit-suggestion"`) {
		t.Fatalf("adding immich: %d, no suggestion:\n%s", st, owner.body)
	}
	if !strings.Contains(owner.body, `<strong id="suggested-type">cx33</strong>`) {
		t.Fatalf("the suggestion is not cx33:\n%s", owner.body)
	}
	if st := owner.submit("accept-form", nil); st != http.StatusOK || !strings.Contains(owner.body, `id="pr-title"`) {
		t.Fatalf("accepting: %d\n%s", st, owner.body)
	}
	wantTitle := "Add Immich (photo and video library) on a bigger server (cx33)"
	if !strings.Contains(owner.body, wantTitle) || !strings.HasSuffix(owner.last.Path, "/pr/1") {
		t.Fatalf("the pull request page %s does not show %q:\n%s", owner.last, wantTitle, owner.body)
	}
	e.checkPullRequest(t, 1)

	// The plan comment: the bot's is shown, a stranger's lookalike is not.
	plan := deploy.CommentMarker + "\n### What merging this pull request does\n\n**The server is rebuilt as cx33 with Immich.**\n\n<script>alert(1)</script>\n"
	fake := deploy.CommentMarker + "\n### What merging this pull request does\n\n**Nothing at all, merge away.**\n"
	if err := e.g.As(e.botToken).API(ctx, "POST", "/repos/"+e.repo+"/issues/1/comments", map[string]string{"body": plan}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.g.As(e.readerToken).API(ctx, "POST", "/repos/"+e.repo+"/issues/1/comments", map[string]string{"body": fake}, nil); err != nil {
		t.Fatal(err)
	}
	owner.get(site + "/pr/1")
	if !strings.Contains(owner.body, "The server is rebuilt as cx33 with Immich.") || strings.Contains(owner.body, "Nothing at all") {
		t.Fatalf("the plan shown is not the bot's:\n%s", owner.body)
	}
	if strings.Contains(owner.body, "<script>alert") {
		t.Fatal("a script from a comment reached the page")
	}

	// The reader sees the site but may not save or merge, not even by posting directly.
	reader := e.signIn(t, e.reader)
	if !strings.Contains(reader.body, `data-repo="`+e.repo+`"`) {
		t.Fatalf("the reader does not see the site:\n%s", reader.body)
	}
	reader.get(site)
	if strings.Contains(reader.body, `id="add-app"`) || strings.Contains(reader.body, `id="change-resources"`) || !strings.Contains(reader.body, `id="read-only"`) {
		t.Errorf("the reader's site page offers changes:\n%s", reader.body)
	}
	for b, want := range map[*browser]string{owner: "logs of ada/acme-site for ada, may write: true", reader: "for bob, may write: false"} {
		if b.get(site + "/logs"); !strings.Contains(b.body, want) {
			t.Errorf("the site tool answered %q, want %q", b.body, want)
		}
	}
	reader.get(site + "/pr/1")
	if strings.Contains(reader.body, `id="merge"`) {
		t.Error("the reader is offered the merge button")
	}
	csrf := func(b *browser) string {
		f, ok := findForm(b.body, "/logout")
		if !ok {
			t.Fatal("no sign-out form")
		}
		return f.fields.Get("csrf")
	}
	for path, form := range map[string]url.Values{
		"/add":           {"app": {"mealie"}},
		"/pr/1/merge":    {"sha": {"0"}},
		"/remove/immich": {},
	} {
		form.Set("csrf", csrf(reader))
		resp, err := reader.c.PostForm(site+path, form)
		if err != nil {
			t.Fatal(err)
		}
		st := reader.read(resp)
		if st != http.StatusForbidden || !strings.Contains(reader.body, "You can look at "+e.repo+" but not") {
			t.Errorf("POST %s as the reader: %d\n%s", path, st, reader.body)
		}
	}

	// The owner merges.
	owner.get(site + "/pr/1")
	if st := owner.submit("merge-form", nil); st != http.StatusOK || !strings.Contains(owner.body, `id="done"`) {
		t.Fatalf("merging: %d\n%s", st, owner.body)
	}
	var pr struct {
		Merged bool `json:"merged"`
	}
	if err := e.g.API(ctx, "GET", "/repos/"+e.repo+"/pulls/1", nil, &pr); err != nil || !pr.Merged {
		t.Fatalf("pull request #1 is not merged (%v)", err)
	}
	owner.get(site)
	if !strings.Contains(owner.body, `data-app="immich"`) {
		t.Fatal("the site page does not show immich after the merge")
	}

	// Removing says what happens to the data, and is a pull request too.
	owner.get(site + "/remove/vaultwarden")
	if !strings.Contains(owner.body, "<strong>Its data is kept</strong>") {
		t.Errorf("the remove page does not say what happens to the data:\n%s", owner.body)
	}
	if st := owner.submit("remove-form", nil); st != http.StatusOK || !strings.Contains(owner.body, "Remove Vaultwarden") || !strings.HasSuffix(owner.last.Path, "/pr/2") {
		t.Fatalf("removing: %d at %s\n%s", st, owner.last, owner.body)
	}

	// Resources: the loader's message beside the field, the console's own grow-only rule,
	// then a change saved with its layout kept.
	owner.get(site + "/resources")
	if st := owner.submit("resources-form", url.Values{"window": {"Thursday 3am"}}); st != http.StatusUnprocessableEntity || !strings.Contains(owner.body, `id="window-problem"`) {
		t.Fatalf("a bad window: %d\n%s", st, owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"window": {"Thu 03:00"}, "volume_gb": {"5"}}); st != http.StatusUnprocessableEntity || !strings.Contains(owner.body, "can only grow") {
		t.Fatalf("a smaller volume: %d\n%s", st, owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"window": {"Thu 03:00"}, "volume_gb": {"20"}, "automerge": {"on"}}); st != http.StatusOK || !strings.HasSuffix(owner.last.Path, "/pr/3") {
		t.Fatalf("saving resources: %d at %s\n%s", st, owner.last, owner.body)
	}
	if want := "Change data volume 20 GB, update window Thu 03:00, automatic merging on"; !strings.Contains(owner.body, want) {
		t.Errorf("the pull request is not titled %q:\n%s", want, owner.body)
	}
	merged := strings.Replace(string(e.siteYAML), "server_type: cx23", "server_type: cx33", 1)
	merged = strings.Replace(merged, "  vaultwarden: {}\n", "  vaultwarden: {}\n  immich: {}\n", 1)
	want := strings.Replace(merged, "volume_gb: 10 }", "volume_gb: 20 }", 1)
	want = strings.Replace(want, `window: "Wed 04:00"`, `window: "Thu 03:00"`, 1)
	want = strings.Replace(want, "  timezone: Europe/Helsinki\n", "  timezone: Europe/Helsinki\n  automerge: true\n", 1)
	if got := e.branchFile(t, 3, siterepo.SiteFile); got != want {
		t.Errorf("site.yaml of the resources change:\n%s\nwant:\n%s", got, want)
	}
}

// branchFile reads a file of pull request n's branch.
func (e *consoleEnv) branchFile(t *testing.T, n int, path string) string {
	t.Helper()
	var pr struct {
		Head struct {
			Ref string `json:"ref"`
		} `json:"head"`
	}
	ctx := context.Background()
	if err := e.g.API(ctx, "GET", fmt.Sprintf("/repos/%s/pulls/%d", e.repo, n), nil, &pr); err != nil {
		t.Fatal(err)
	}
	return e.apiText(t, "/repos/"+e.repo+"/raw/"+path+"?ref="+url.QueryEscape(pr.Head.Ref))
}

// checkPullRequest checks pull request n, which adds Immich on cx33: site.yaml changed by
// exactly the two lines, comments kept, the rest regenerated (checkChange).
func (e *consoleEnv) checkPullRequest(t *testing.T, n int) {
	t.Helper()
	want := strings.Replace(string(e.siteYAML), "server_type: cx23", "server_type: cx33", 1)
	want = strings.Replace(want, "  vaultwarden: {}\n", "  vaultwarden: {}\n  immich: {}\n", 1)
	e.checkChange(t, n, "add-immich-", want)
}

// checkChange checks pull request n's one commit, from a branch whose name starts with
// BranchPrefix+slug: site.yaml is exactly want, and every other changed file exactly
// what nassella generate makes of it.
func (e *consoleEnv) checkChange(t *testing.T, n int, slug, want string) {
	t.Helper()
	var pr struct {
		Head struct {
			Ref string `json:"ref"`
		} `json:"head"`
	}
	if err := e.g.API(context.Background(), "GET", fmt.Sprintf("/repos/%s/pulls/%d", e.repo, n), nil, &pr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pr.Head.Ref, BranchPrefix+slug) {
		t.Errorf("branch %q", pr.Head.Ref)
	}
	dir := t.TempDir()
	repo, err := git.PlainClone(dir, false, &git.CloneOptions{URL: e.cloneURL, Auth: &githttp.BasicAuth{Username: "ada", Password: e.ownerToken},
		ReferenceName: plumbing.NewBranchReferenceName(pr.Head.Ref), SingleBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, siterepo.SiteFile))
	if string(got) != want {
		t.Errorf("site.yaml on the branch:\n%s\nwant:\n%s", got, want)
	}
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := r.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tr.Paths() {
		f, _ := tr.Get(p)
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))); err != nil || !bytes.Equal(data, f.Data) {
			t.Errorf("%s on the branch is not what nassella generate makes (%v)", p, err)
		}
	}
	head, _ := repo.Head()
	c, _ := repo.CommitObject(head.Hash())
	if c.Author.Name != e.ownerLogin && !strings.Contains(c.Author.Email, e.ownerLogin) {
		t.Errorf("the commit is by %s, not the person", c.Author)
	}
	parent, err := c.Parent(0)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := parent.Tree()
	to, _ := c.Tree()
	changes, err := from.Diff(to)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, ch := range changes {
		name := ch.To.Name
		if name == "" {
			name = ch.From.Name
		}
		changed = append(changed, name)
		if _, gen := tr.Get(name); !gen && name != siterepo.SiteFile {
			t.Errorf("the commit changes %s, which is neither site.yaml nor generated", name)
		}
	}
	for _, must := range []string{siterepo.SiteFile, generator.LockPath} {
		if !slices.Contains(changed, must) {
			t.Errorf("the commit does not change %s (it changes %v)", must, changed)
		}
	}
}
