// Package giteatest runs a real Gitea for tests: a fresh instance on 127.0.0.1 with
// SQLite, an admin user and an access token, gone when the test ends. The binary comes
// from .ci/tools-gitea.sh (NASSELLA_GITEA, NASSELLA_GITEA_STATIC); without it the test
// is skipped locally and fails in CI (CI set).
package giteatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running Gitea.
type Server struct {
	URL      string // http://127.0.0.1:PORT, no trailing slash
	User     string // the admin
	Password string
	Token    string // the admin's access token, all scopes
	Dir      string // its data, removed at the end of the test
}

// Admin credentials of every test instance (it listens on loopback only).
const (
	AdminUser     = "nassella-admin"
	AdminPassword = "nassella-test-password-1"
	AdminEmail    = "admin@nassella.invalid"
)

// Options change where a test Gitea listens.
type Options struct {
	// Host is the address Gitea listens on and names itself by (its ROOT_URL, and so the
	// clone_url and html_url of every repo): 127.0.0.1 when empty. A container test gives
	// its Docker network's gateway, which the containers and this machine both reach.
	Host string
}

// Start starts a Gitea on 127.0.0.1 for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a Gitea for t as opt says and stops it when t ends.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	host := opt.Host
	if host == "" {
		host = "127.0.0.1"
	}
	bin, static := os.Getenv("NASSELLA_GITEA"), os.Getenv("NASSELLA_GITEA_STATIC")
	if bin == "" || static == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("NASSELLA_GITEA and NASSELLA_GITEA_STATIC are not set; CI must run eval \"$(.ci/tools-gitea.sh)\" first")
		}
		t.Skip("no Gitea: run eval \"$(.ci/tools-gitea.sh)\" to build one (about 5 minutes, once) and run the test again")
	}
	dir, err := os.MkdirTemp("", "nassella-gitea-")
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort(host)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + net.JoinHostPort(host, strconv.Itoa(port)), User: AdminUser, Password: AdminPassword, Dir: dir}
	ini := filepath.Join(dir, "app.ini")
	if err := os.WriteFile(ini, []byte(appINI(dir, static, host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true", "GITEA_WORK_DIR="+dir, "HOME="+dir)
	run := func(args ...string) string {
		cmd := exec.Command(bin, append([]string{"--config", ini, "--work-path", dir}, args...)...)
		cmd.Env = env
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gitea %s: %v\n%s", args[0], err, out)
		}
		return string(out)
	}
	var cmd *exec.Cmd
	var logBuf bytes.Buffer
	t.Cleanup(func() {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() && logBuf.Len() > 0 {
			t.Logf("gitea output:\n%s", tail(logBuf.String(), 4000))
		}
		os.RemoveAll(dir)
	})
	run("migrate")
	out := run("admin", "user", "create", "--username", AdminUser, "--password", AdminPassword, "--email", AdminEmail,
		"--admin", "--must-change-password=false", "--access-token", "--access-token-scopes", "all")
	s.Token = parseToken(out)
	if s.Token == "" {
		t.Fatalf("gitea admin user create printed no access token:\n%s", redactHex(out))
	}
	cmd = exec.Command(bin, "--config", ini, "--work-path", dir, "web")
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gitea: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea did not answer on %s within 90 s", s.URL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func appINI(dir, static, host string, port int) string {
	return fmt.Sprintf(`APP_NAME = nassella test forge
RUN_USER = root
RUN_MODE = prod
WORK_PATH = %[1]s

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[server]
PROTOCOL = http
HTTP_ADDR = %[3]s
HTTP_PORT = %[4]d
ROOT_URL = http://%[3]s:%[4]d/
DOMAIN = %[3]s
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = %[1]s/data
STATIC_ROOT_PATH = %[2]s

[security]
INSTALL_LOCK = true
SECRET_KEY = nassella-test-secret-key-not-secret
INTERNAL_TOKEN = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYmYiOjE3MDAwMDAwMDB9.nassella-test-internal-token
PASSWORD_HASH_ALGO = pbkdf2_hi

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[actions]
ENABLED = false

[api]
MAX_RESPONSE_ITEMS = 100
`, dir, static, host, port)
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// parseToken finds the token in "Access token was successfully created... <token>".
func parseToken(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(strings.ToLower(line), "access token") {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 0 && len(f[len(f)-1]) >= 40 {
			return f[len(f)-1]
		}
	}
	return ""
}

func redactHex(s string) string {
	var b strings.Builder
	for _, f := range strings.SplitAfter(s, " ") {
		if len(strings.TrimSpace(f)) >= 40 {
			b.WriteString("[redacted] ")
			continue
		}
		b.WriteString(f)
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// API calls Gitea's REST API as the admin: path is under /api/v1 (like "/orgs"), in is
// sent as JSON when not nil, out receives the JSON answer when not nil. A status of 300
// or more is an error with the answer's text.
func (s *Server) API(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// CreateOrg makes an organisation.
func (s *Server) CreateOrg(ctx context.Context, name string) error {
	return s.API(ctx, "POST", "/orgs", map[string]any{"username": name, "visibility": "public"}, nil)
}

// CreateRepo makes an empty repo in an organisation.
func (s *Server) CreateRepo(ctx context.Context, org, name string) error {
	return s.API(ctx, "POST", "/orgs/"+org+"/repos", map[string]any{"name": name, "default_branch": "main", "auto_init": false}, nil)
}

// As is the same Gitea called with another user's token: s.As(token).API(...) acts as
// that user.
func (s *Server) As(token string) *Server {
	c := *s
	c.Token = token
	return &c
}

// CreateUser makes a plain (not admin) user login, with the test password, and returns
// an access token of its own that may use repos, issues and pull requests.
func (s *Server) CreateUser(ctx context.Context, login string) (string, error) {
	if err := s.API(ctx, "POST", "/admin/users", map[string]any{"username": login, "email": login + "@nassella.invalid",
		"password": AdminPassword, "must_change_password": false}, nil); err != nil {
		return "", err
	}
	// Gitea creates a token only for a user signed in with its password.
	data, _ := json.Marshal(map[string]any{"name": login + "-token", "scopes": []string{"write:repository", "write:issue", "read:user"}})
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/users/"+login+"/tokens", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(login, AdminPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		SHA1 string `json:"sha1"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated || tok.SHA1 == "" {
		return "", fmt.Errorf("creating a token for %s: %s (%v)", login, resp.Status, err)
	}
	return tok.SHA1, nil
}

// Fork forks owner/repo into the token's user's account, as that user.
func (s *Server) Fork(ctx context.Context, token, owner, repo string) error {
	return s.As(token).API(ctx, "POST", "/repos/"+owner+"/"+repo+"/forks", map[string]any{}, nil)
}

// WaitPushed waits until Gitea no longer calls repo (OWNER/NAME) empty after its first
// push: it marks that in the background, and until then its API answers 404 for every
// file.
func (s *Server) WaitPushed(t testing.TB, repo string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var r struct {
			Empty bool `json:"empty"`
		}
		if err := s.API(context.Background(), "GET", "/repos/"+repo, nil, &r); err != nil {
			t.Fatal(err)
		}
		if !r.Empty {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Gitea still calls %s empty 10 s after its first push", repo)
		}
	}
}
