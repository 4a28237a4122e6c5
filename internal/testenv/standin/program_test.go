package standin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// container is one service of a catalog app played by the stand-in program outside Docker:
// a folder stands for the container's root, with the service's volumes and the programs
// the catalog runs in it linked to the stand-in at their paths (Build puts them at the
// same places in the image).
type container struct {
	t    *testing.T
	root string
	env  []string
	port int // the app's port, moved to a free one
	svc  *catalog.Service
	srv  *exec.Cmd
	out  *bytes.Buffer
	// exited gets the server's exit once; whoever takes it puts it back.
	exited chan error
}

func newContainer(t *testing.T, prog string, a *catalog.App, sn string) *container {
	t.Helper()
	s := a.Services[sn]
	c := &container{t: t, root: t.TempDir(), svc: s}
	var data []string
	for _, v := range s.Volumes {
		_, p, _ := strings.Cut(v, ":")
		p, _, _ = strings.Cut(p, ":")
		data = append(data, c.at(p))
		if err := os.MkdirAll(c.at(p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var http, serve string
	if a.HTTP.Service == sn {
		c.port = testtool.FreePort(t)
		http = fmt.Sprintf("%d:%s=%d", c.port, a.Health.Path, a.Health.Status)
	}
	if len(s.Entrypoint) > 0 {
		serve = s.Entrypoint[0]
	}
	// Every program the catalog names, and the server's entrypoint, at its path under root.
	for _, p := range append(programsOf(a, sn), serve) {
		if p == "" || p == "sh" {
			continue
		}
		at := c.at(p)
		if !strings.HasPrefix(p, "/") {
			at = c.at("/usr/local/bin/" + p)
		}
		os.MkdirAll(filepath.Dir(at), 0o755)
		if err := os.Symlink(prog, at); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	c.env = []string{
		"PATH=" + c.at("/usr/local/bin") + ":/usr/bin:/bin",
		"NASSELLA_STANDIN_FOR=" + a.Name + "/" + sn,
		"NASSELLA_STANDIN_IMAGE=" + s.Image.Image + ":" + s.Image.Tag,
		"NASSELLA_STANDIN_HTTP=" + http,
		"NASSELLA_STANDIN_SERVE=" + serve,
		"NASSELLA_STANDIN_STATE=" + c.at("/run/nassella-standin"),
		"NASSELLA_STANDIN_DATA=" + strings.Join(data, ":"),
	}
	return c
}

// at is where the container's path p is under its root.
func (c *container) at(p string) string { return filepath.Join(c.root, p) }

// programsOf lists the programs the catalog runs in service sn: its health check and the
// app's backup hooks for it (each argv's first word; the words of `sh -c` scripts are left
// to the shell).
func programsOf(a *catalog.App, sn string) []string {
	var out []string
	for _, argv := range commandsOf(a, sn) {
		out = append(out, argv[0])
		if argv[0] == "sh" {
			for _, w := range strings.Fields(argv[2]) {
				if strings.HasPrefix(w, "/") && !strings.Contains(w, "*") {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

func commandsOf(a *catalog.App, sn string) [][]string {
	var out [][]string
	if hc := a.Services[sn].Healthcheck; hc != nil {
		out = append(out, hc.Test[1:]) // all of the catalog's are CMD
	}
	for _, h := range a.Backup.Hooks {
		if h.Service == sn {
			out = append(out, h.Command)
		}
	}
	return out
}

// run runs argv in the container as `docker compose exec` would, from its working
// directory /, absolute paths moved under its root.
func (c *container) run(argv ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = rootPaths(a, c.root)
	}
	cmd := exec.Command(args[0], args[1:]...)
	if !strings.HasPrefix(argv[0], "/") && argv[0] != "sh" {
		cmd = exec.Command(c.at("/usr/local/bin/"+argv[0]), args[1:]...)
	}
	cmd.Args[0] = argv[0] // the name the program is run under, as in the image
	cmd.Dir, cmd.Env = c.root, c.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		c.t.Fatalf("%q: %v", argv, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

var absPath = regexp.MustCompile(`(^|[ =])(/[A-Za-z])`)

// rootPaths moves the absolute paths of a command word or one-line script under root.
func rootPaths(s, root string) string { return absPath.ReplaceAllString(s, "${1}"+root+"${2}") }

// start runs the server as the container's entrypoint does and waits until it is ready.
func (c *container) start(prog string) {
	c.t.Helper()
	c.srv = exec.Command(prog)
	if ep := c.svc.Entrypoint; len(ep) > 0 {
		c.srv = exec.Command(c.at(ep[0]))
		c.srv.Args[0] = ep[0]
	}
	c.out = &bytes.Buffer{}
	c.srv.Dir, c.srv.Env, c.srv.Stdout, c.srv.Stderr = c.root, c.env, c.out, c.out
	if err := c.srv.Start(); err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.srv.Wait() }()
	c.exited = exited
	c.t.Cleanup(func() { c.srv.Process.Kill(); <-exited })
	for i := 0; ; i++ {
		if _, err := os.Stat(c.at("/run/nassella-standin/ready")); err == nil {
			return
		}
		select {
		case err := <-exited:
			exited <- err
			c.t.Fatalf("the stand-in server exited (%v) before it was ready:\n%s", err, c.out)
		case <-time.After(50 * time.Millisecond):
		}
		if i == 100 {
			c.t.Fatalf("the stand-in server did not get ready in 5 s:\n%s", c.out)
		}
	}
}

// stop sends SIGTERM and expects a quick exit 0.
func (c *container) stop() {
	c.t.Helper()
	c.srv.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		c.exited <- err // for the cleanup
		if err != nil {
			c.t.Errorf("the stand-in server exited with %v on SIGTERM, not 0:\n%s", err, c.out)
		}
	case <-time.After(5 * time.Second):
		c.t.Fatalf("the stand-in server still runs 5 s after SIGTERM")
	}
}

// markers reads the marker of each data folder: folder → id, start count.
func (c *container) markers() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, v := range c.svc.Volumes {
		_, p, _ := strings.Cut(v, ":")
		p, _, _ = strings.Cut(p, ":")
		var m struct {
			ID     string `json:"id"`
			Starts int    `json:"starts"`
		}
		data, err := os.ReadFile(filepath.Join(c.at(p), ".nassella-standin.json"))
		if err != nil || json.Unmarshal(data, &m) != nil || len(m.ID) != 32 {
			c.t.Fatalf("no marker in %s: %v %s", p, err, data)
		}
		out[p] = m.ID + " " + strconv.Itoa(m.Starts)
	}
	return out
}

// TestEveryServiceOfTheCatalog plays each service of each app: the server answers the
// app's health path with the catalog's status and marks its data folders, once; every
// command the catalog runs in the service (health check, backup hook) works and dumps the
// markers; a restart keeps the markers.
func TestEveryServiceOfTheCatalog(t *testing.T) {
	prog, err := standin.Program(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rel := catalog.Embedded()
	for _, name := range rel.Names() {
		a := rel.Apps[name]
		for _, sn := range a.ServiceNames() {
			t.Run(name+"/"+sn, func(t *testing.T) {
				c := newContainer(t, prog, a, sn)
				for _, argv := range commandsOf(a, sn) {
					if argv[0] == "pg_isready" || argv[0] == "redis-cli" || argv[0] == "valkey-cli" {
						if _, _, code := c.run(argv...); code == 0 {
							t.Errorf("%q exits 0 before the server started", argv)
						}
					}
				}
				c.start(prog)
				first := c.markers()
				c.checkHTTP(a)
				c.checkCommands(a, sn, first)
				c.stop()
				c.start(prog)
				for p, m := range c.markers() {
					id, starts, _ := strings.Cut(m, " ")
					fid, _, _ := strings.Cut(first[p], " ")
					if id != fid || starts != "2" {
						t.Errorf("%s after a restart: marker %s, start %s; want %s, start 2", p, id, starts, fid)
					}
				}
				c.stop()
			})
		}
	}
}

// checkHTTP asks the app's health path and another path.
func (c *container) checkHTTP(a *catalog.App) {
	c.t.Helper()
	if c.port == 0 {
		return
	}
	for _, tc := range []struct {
		path   string
		status int
	}{{a.Health.Path, a.Health.Status}, {"/some/page", 200}} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", c.port, tc.path))
		if err != nil {
			c.t.Fatal(err)
		}
		var body struct {
			Standin string            `json:"standin"`
			Markers map[string]string `json:"markers"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || body.Standin != "nassella stand-in for "+a.Name+"/"+a.HTTP.Service {
			c.t.Errorf("GET %s: %d %+v (%v); want %d from the stand-in", tc.path, resp.StatusCode, body, err, tc.status)
		}
		if len(body.Markers) != len(c.svc.Volumes) {
			c.t.Errorf("GET %s: markers %v; want one per volume %v", tc.path, body.Markers, c.svc.Volumes)
		}
	}
	if !strings.Contains(c.out.String(), "GET 127.0.0.1:"+strconv.Itoa(c.port)+a.Health.Path+" "+strconv.Itoa(a.Health.Status)) {
		c.t.Errorf("no log line for the health request:\n%s", c.out)
	}
}

// checkCommands runs the catalog's commands in the running container.
func (c *container) checkCommands(a *catalog.App, sn string, markers map[string]string) {
	c.t.Helper()
	for _, argv := range commandsOf(a, sn) {
		stdout, stderr, code := c.run(argv...)
		if code != 0 {
			c.t.Errorf("%q: exit %d\n%s%s", argv, code, stdout, stderr)
			continue
		}
		switch argv[0] {
		case "redis-cli", "valkey-cli":
			if stdout != "PONG\n" {
				c.t.Errorf("%q printed %q, not PONG", argv, stdout)
			}
		case "pg_dump", "pg_dumpall", "sqlite3", "sh":
			// A backup hook: the dump names every data folder's marker.
			for p, m := range markers {
				id, _, _ := strings.Cut(m, " ")
				if !strings.Contains(stdout, id) {
					c.t.Errorf("%q: the dump has no marker %s of %s:\n%s", argv, id, p, stdout)
				}
			}
		}
	}
}

// TestVaultwardenBackup: `/vaultwarden backup` writes the database copy where and as the
// real one does and says so; the catalog's hook prints it and leaves nothing behind.
func TestVaultwardenBackup(t *testing.T) {
	prog, err := standin.Program(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := catalog.Embedded().Apps["vaultwarden"]
	c := newContainer(t, prog, a, "server")
	c.start(prog)
	defer c.stop()
	stdout, stderr, code := c.run("/vaultwarden", "backup")
	m := regexp.MustCompile(`^Backup to '(data/db_[0-9]{8}_[0-9]{6}\.sqlite3)' was successful\n$`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("/vaultwarden backup: exit %d, %q %q", code, stdout, stderr)
	}
	if data, err := os.ReadFile(c.at(m[1])); err != nil || !bytes.Contains(data, []byte("-- nassella stand-in dump")) {
		t.Errorf("%s: %v %q", m[1], err, data)
	}
	hook := a.Backup.Hooks[0].Command
	stdout, stderr, code = c.run(hook...)
	if code != 0 || !strings.HasPrefix(stdout, "-- nassella stand-in dump") || !strings.Contains(stderr, "was successful") {
		t.Errorf("the backup hook: exit %d, %q %q", code, stdout, stderr)
	}
	if left, _ := filepath.Glob(c.at("/data/db_*.sqlite3")); len(left) > 0 {
		t.Errorf("the hook left %q", left)
	}
	if _, stderr, code := c.run("/vaultwarden", "restore"); code == 0 {
		t.Errorf("/vaultwarden restore: exit 0 (%s); the stand-in knows only backup", stderr)
	}
}

// TestUnknownTool: a name the stand-in does not play fails loudly, not as a server.
func TestUnknownTool(t *testing.T) {
	prog, err := standin.Program(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog)
	cmd.Args[0] = "mysqldump"
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 127 || !strings.Contains(string(out), `no tool "mysqldump"`) {
		t.Errorf("mysqldump: %v %s", err, out)
	}
}
