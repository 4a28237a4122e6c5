package ciimages

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/net/html"

	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/pipelines/initsite"
)

const consoleTag = "nassella-console:test"

// What the image may weigh beyond its binary (the CA bundle is about 0.2 MB), and what
// the whole may weigh: nassella-console was 26 MB when measured (the full nassella, with
// Caddy's modules, actionlint and OpenTofu's driver, 81 MB).
const (
	maxBesideBinary = 1 << 20
	maxImageBytes   = 40 << 20
)

// The console's image, built by build.sh in a private Docker daemon and run as
// ci-images/README.md says (read-only, no capabilities, its secrets as mounted files),
// against a real Gitea it reaches over the container network: it serves the sign-in
// page, sends the browser to Gitea with PKCE, and signs a person in through Gitea's own
// pages, which takes the container's call to Gitea's token endpoint.
func TestConsoleImage(t *testing.T) {
	began := time.Now()
	d := dockertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // until the build
	defer cancel()
	docker := func(args ...string) string {
		t.Helper()
		out, _, err := d.Run(ctx, nil, append([]string{"docker"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	// The network the container is on. Gitea listens on its bridge's address on this
	// machine, which the container reaches (dockertest's daemon has no default bridge and
	// gives containers no way out of their networks) and which Gitea names itself by, so
	// the clone address its API gives works from inside the container too.
	docker("network", "create", "console-test")
	gateway := docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "console-test")
	g := giteatest.StartWith(t, giteatest.Options{Host: gateway})
	forge := g.URL
	started := time.Now()

	// The build has its own limit: on a new machine it compiles nassella with an empty
	// build cache, beside the other packages' tests (5 minutes were too few in CI).
	buildCtx, buildCancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer buildCancel()
	build := exec.CommandContext(buildCtx, "bash", "console/build.sh", consoleTag)
	build.Env = append(os.Environ(), d.Env()...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("console/build.sh: %v\n%s", err, out)
	}
	built := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("the image holds the binary, the CA bundle and /tmp, as a numeric user", func(t *testing.T) {
		var cfg struct {
			User         string
			Env          []string
			Entrypoint   []string
			Cmd          []string
			ExposedPorts map[string]any
		}
		if err := json.Unmarshal([]byte(docker("image", "inspect", "--format", "{{json .Config}}", consoleTag)), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.User != "65532:65532" {
			t.Errorf("runs as %q, want 65532:65532", cfg.User)
		}
		if want := []string{"/nassella-console", "--listen", "0.0.0.0:8470"}; !slices.Equal(cfg.Entrypoint, want) || len(cfg.Cmd) != 0 {
			t.Errorf("entrypoint %q, cmd %q; want %q and none", cfg.Entrypoint, cfg.Cmd, want)
		}
		if _, ok := cfg.ExposedPorts["8470/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
			t.Errorf("exposes %v, want 8470/tcp", cfg.ExposedPorts)
		}
		// Only the PATH Docker gives every image: nothing set by the Dockerfile.
		for _, e := range cfg.Env {
			if !strings.HasPrefix(e, "PATH=") {
				t.Errorf("the image sets %s", strings.SplitN(e, "=", 2)[0])
			}
		}
		files := imageFiles(t, d, ctx)
		bin := files["nassella-console"]
		want := map[string]imageFile{
			"nassella-console":                  {mode: 0o755, size: bin.size},
			"etc/ssl/certs/ca-certificates.crt": {mode: 0o644, size: files["etc/ssl/certs/ca-certificates.crt"].size},
			"tmp":                               {mode: 0o1777, dir: true},
		}
		for path, f := range files {
			if f.dir && path != "tmp" {
				continue // parents
			}
			if w, ok := want[path]; !ok || f != w {
				t.Errorf("the image holds %s %+v, want %+v", path, f, w)
			}
		}
		if len(files) == 0 || bin.size == 0 {
			t.Fatal("the image has no /nassella-console")
		}
		var size int64
		if err := json.Unmarshal([]byte(docker("image", "inspect", "--format", "{{.Size}}", consoleTag)), &size); err != nil {
			t.Fatal(err)
		}
		t.Logf("image %s: %.1f MB, of which nassella-console %.1f MB", consoleTag, float64(size)/1e6, float64(bin.size)/1e6)
		if size-bin.size > maxBesideBinary || size > maxImageBytes {
			t.Errorf("the image weighs %d bytes, its binary %d: more than %d beside it or %d in all", size, bin.size, maxBesideBinary, maxImageBytes)
		}
	})

	// A free port on the loopback for the published one, as the browser's address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	public := fmt.Sprintf("http://127.0.0.1:%d", port)

	var app struct {
		ClientID string `json:"client_id"`
	}
	if err := g.API(ctx, "POST", "/user/applications/oauth2", map[string]any{"name": "nassella console",
		"redirect_uris": []string{public + "/oauth/callback"}, "confidential_client": false}, &app); err != nil {
		t.Fatal(err)
	}
	secrets, values := secretFiles(t)
	docker("run", "--detach", "--name", "console",
		"--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,noexec,size=64m",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--network", "console-test", "--publish", fmt.Sprintf("127.0.0.1:%d:8470", port),
		"--mount", "type=bind,source="+secrets+",target=/run/secrets/console,readonly",
		"--env", "NASSELLA_CONSOLE_CLIENT_ID="+app.ClientID,
		consoleTag,
		"--forge", forge, "--public-url", public,
		"--session-key-file", "/run/secrets/console/session-key",
		"--hcloud-token-file", "/run/secrets/console/hcloud-token")
	b := newWebClient(t)
	resp := b.wait(public + "/")
	ran := time.Now()
	logs := func() string {
		out, _, _ := d.Run(ctx, nil, "docker", "logs", "console")
		return string(out)
	}
	defer func() {
		if t.Failed() {
			t.Logf("the console's log:\n%s", logs())
		}
	}()

	t.Run("the first page is the sign-in page, with the CSP", func(t *testing.T) {
		if resp.StatusCode != http.StatusOK || !strings.Contains(b.body, `id="sign-in" href="/login"`) {
			t.Errorf("GET /: %s\n%s", resp.Status, b.body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("Content-Security-Policy: %q", csp)
		}
		if st := b.get(public + "/static/console.css"); st != http.StatusOK {
			t.Errorf("GET /static/console.css: %d", st)
		}
	})

	t.Run("signing in goes to Gitea with PKCE and comes back signed in", func(t *testing.T) {
		to := b.redirect(public + "/login")
		q := to.Query()
		if got := to.Scheme + "://" + to.Host + to.Path; got != forge+"/login/oauth/authorize" {
			t.Errorf("sign-in goes to %s, want %s/login/oauth/authorize", got, forge)
		}
		for k, want := range map[string]string{"client_id": app.ClientID, "response_type": "code",
			"code_challenge_method": "S256", "redirect_uri": public + "/oauth/callback"} {
			if q.Get(k) != want {
				t.Errorf("the authorize link's %s is %q, want %q", k, q.Get(k), want)
			}
		}
		// RFC 7636 §4.2: BASE64URL(SHA256(verifier)), 43 characters without padding.
		if c := q.Get("code_challenge"); len(c) != 43 || q.Get("state") == "" {
			t.Errorf("the authorize link has code_challenge %q and state %q", c, q.Get("state"))
		}
		// Gitea's sign-in page, then its consent page; granting sends the browser to the
		// console, which trades the code for a token at Gitea from inside the container.
		b.get(to.String())
		b.submit("/user/login", url.Values{"user_name": {giteatest.AdminUser}, "password": {giteatest.AdminPassword}})
		b.submit("/login/oauth/grant", url.Values{"granted": {"true"}})
		if b.last.String() != public+"/" || !strings.Contains(b.body, "Signed in as <strong>"+giteatest.AdminUser+"</strong>") {
			t.Fatalf("not signed in to the console: at %s\n%s", b.last, b.body)
		}
	})

	// Saving a change from inside the container (propose.go): a clone below --work-dir
	// on the read-only image's /tmp, regenerated and committed as 65532 with no
	// /etc/passwd, pushed and proposed with the signed-in person's token.
	t.Run("adding an app opens a pull request", func(t *testing.T) {
		repo := pushExampleSite(t, g, "solo")
		b.get(public + "/site/" + repo + "/add")
		b.submit(repo+"/add", url.Values{"app": {"uptime-kuma"}})
		if !strings.HasSuffix(b.last.Path, "/site/"+repo+"/pr/1") || !strings.Contains(b.body, `id="pr-title"`) {
			t.Fatalf("saving went to %s:\n%s", b.last, b.body)
		}
		var files []struct {
			Filename string `json:"filename"`
		}
		if err := g.API(ctx, "GET", "/repos/"+repo+"/pulls/1/files", nil, &files); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Filename)
		}
		// site.yaml and what nassella generates from it (the new app's compose file).
		if !slices.Contains(names, "site.yaml") || !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "uptime-kuma") }) {
			t.Errorf("pull request 1 changes %v, want site.yaml and uptime-kuma's files", names)
		}
	})

	stopped := time.Now()
	docker("stop", "--time", "10", "console")
	stopTime := time.Since(stopped)
	t.Run("it stops at once and logs no secret", func(t *testing.T) {
		if stopTime > 5*time.Second {
			t.Errorf("docker stop took %s: the console does not end on SIGTERM", stopTime.Round(time.Millisecond))
		}
		history := docker("history", "--no-trunc", consoleTag)
		image := docker("image", "inspect", consoleTag)
		for _, v := range values {
			for where, text := range map[string]string{"the console's log": logs(), "docker history": history, "docker image inspect": image} {
				if strings.Contains(text, v) {
					t.Errorf("%s shows a secret", where)
				}
			}
		}
	})
	t.Logf("Gitea and dockerd started in %s, image built in %s, console answering in %s, the rest %s",
		started.Sub(began).Round(time.Millisecond), built.Sub(started).Round(time.Millisecond),
		ran.Sub(built).Round(time.Millisecond), time.Since(ran).Round(time.Millisecond))
}

// pushExampleSite makes the built-in example one-app (as nassella demo does) a
// private repo of Gitea's admin named name, with the site as main's one commit, and
// returns OWNER/NAME.
func pushExampleSite(t *testing.T, g *giteatest.Server, name string) string {
	t.Helper()
	ctx := context.Background()
	var repo struct {
		CloneURL string `json:"clone_url"`
		FullName string `json:"full_name"`
	}
	if err := g.API(ctx, "POST", "/user/repos", map[string]any{"name": name, "private": true, "default_branch": "main"}, &repo); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, _ := examples.Get("one-app")
	if _, _, err := initsite.Example(dir, data); err != nil {
		t.Fatal(err)
	}
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := gitx.Commit(wt, "my site", gitx.Identity{Name: "Admin", Email: giteatest.AdminEmail}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := gitx.Push(ctx, r, repo.CloneURL, []config.RefSpec{"refs/heads/main:refs/heads/main"}, g.Token, false); err != nil {
		t.Fatalf("pushing the site: %v", err)
	}
	g.WaitPushed(t, repo.FullName)
	return repo.FullName
}

type imageFile struct {
	mode int64
	dir  bool
	uid  int
	size int64
}

// imageFiles lists the image's file system (its layers merged, from docker save).
func imageFiles(t *testing.T, d *dockertest.Daemon, ctx context.Context) map[string]imageFile {
	t.Helper()
	saved := filepath.Join(t.TempDir(), "image.tar")
	if _, _, err := d.Run(ctx, nil, "docker", "save", "--output", saved, consoleTag); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(consoleTag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(saved, &tag)
	if err != nil {
		t.Fatal(err)
	}
	fs := mutate.Extract(img)
	defer fs.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(fs)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")] = imageFile{mode: h.Mode & 0o7777, dir: h.Typeflag == tar.TypeDir, uid: h.Uid, size: h.Size}
	}
	return files
}

// secretFiles writes the console's secrets as an owner would, readable by the image's
// user only, and returns their folder and values.
func secretFiles(t *testing.T) (dir string, values []string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"session-key", "hcloud-token"} {
		v := make([]byte, 32)
		rand.Read(v)
		values = append(values, hex.EncodeToString(v))
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte(values[len(values)-1]+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, values
}

// webClient is a browser without JavaScript: cookies, redirects, and forms sent with
// their hidden fields.
type webClient struct {
	t    *testing.T
	c    *http.Client
	body string
	last *url.URL
}

func newWebClient(t *testing.T) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *webClient) read(resp *http.Response) *http.Response {
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.body, b.last = string(data), resp.Request.URL
	return resp
}

func (b *webClient) get(u string) int {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp).StatusCode
}

// wait gets u until it answers, for at most 30 s.
func (b *webClient) wait(u string) *http.Response {
	b.t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var resp *http.Response
		if resp, err = b.c.Get(u); err == nil {
			return b.read(resp)
		}
	}
	b.t.Fatalf("the console did not answer at %s within 30 s: %v", u, err)
	return nil
}

// redirect gets u and returns where it redirects to, without going there.
func (b *webClient) redirect(u string) *url.URL {
	b.t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	to, err := resp.Location()
	if err != nil {
		b.t.Fatalf("GET %s: %s, no redirect: %v", u, resp.Status, err)
	}
	return to
}

// submit posts the form of the current page whose action contains action, with its
// hidden fields and the given values.
func (b *webClient) submit(action string, values url.Values) {
	b.t.Helper()
	doc, err := html.Parse(strings.NewReader(b.body))
	if err != nil {
		b.t.Fatal(err)
	}
	var target string
	fields := url.Values{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.Data == "form" && target == "" && strings.Contains(attr(n, "action"), action) {
			target = attr(n, "action")
			for in := range n.Descendants() {
				if in.Type == html.ElementNode && in.Data == "input" && attr(in, "type") == "hidden" {
					fields.Set(attr(in, "name"), attr(in, "value"))
				}
			}
		}
	}
	if target == "" {
		b.t.Fatalf("no form sent to %s on %s:\n%s", action, b.last, b.body)
	}
	for k, v := range values {
		fields[k] = v
	}
	to, err := b.last.Parse(target)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.PostForm(to.String(), fields)
	if err != nil {
		b.t.Fatalf("POST %s: %v", to, err)
	}
	if b.read(resp).StatusCode != http.StatusOK {
		b.t.Fatalf("POST %s: %s at %s\n%s", to, resp.Status, b.last, b.body)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
