package butane_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/internal/hostcontract"
)

// recordedRequest is one request the claim runner sent to the app.
type recordedRequest struct {
	Method string
	Path   string // with the query
	Header http.Header
	Body   string
}

// claimRun is what one run of the host's claim runner did.
type claimRun struct {
	Requests    []*recordedRequest // in order, without the health checks
	Execs       [][]string         // docker compose exec arguments after -T, in order
	Err         error              // the runner's exit; nil when the claim succeeded
	Output      string             // its stdout and stderr
	Claimed     bool               // the marker that opens the app in Caddy exists
	Failed      string             // the reason left beside it after a failure
	Secrets     map[string]string  // the app's secrets as the runner read them
	Credentials string             // what `nassella-claim credentials APP` printed afterwards
}

// claimOptions change a run: the exit status of the exec steps and what they print.
type claimOptions struct {
	ExecStatus int
	ExecOutput string
}

// runClaim renders the every-app site's claim file for app, runs the real host runner
// against srv (standing in for the app's container, on 127.0.0.1) with a stand-in docker
// that records exec steps, and returns what it saw. The health checks are answered here,
// as the catalog says the app answers once it is up; srv sees every other request.
func runClaim(t *testing.T, app string, srv http.Handler, opts ...claimOptions) claimRun {
	t.Helper()
	var opt claimOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	spec := catalog.Embedded().Apps[app]
	if spec == nil {
		t.Fatalf("no app %s in the catalog", app)
	}
	_, files := renderedHost(t)
	claimFile, ok := files[path.Join(hostcontract.AppsConfig, app, hostcontract.ClaimFile)]
	if !ok {
		t.Fatalf("the every-app host has no claim file for %s", app)
	}
	return runClaimFile(t, spec, claimFile, files[hostcontract.ClaimScript], srv, opt)
}

// runClaimFile runs the runner with a claim file for the app spec describes.
func runClaimFile(t *testing.T, spec *catalog.App, claimFile, script string, srv http.Handler, opt claimOptions) claimRun {
	t.Helper()
	app := spec.Name
	var mu sync.Mutex
	var run claimRun
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == spec.Health.Path {
			w.WriteHeader(spec.Health.Status)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		mu.Lock()
		run.Requests = append(run.Requests, &recordedRequest{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body)})
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())

	root := t.TempDir()
	data, config, bin := filepath.Join(root, "data"), filepath.Join(root, "config"), filepath.Join(root, "bin")
	// The app answers on the test server's port instead of its own.
	claimFile = regexp.MustCompile(`(?m)^port=\d+$`).ReplaceAllString(claimFile, "port="+port)
	run.Secrets = map[string]string{}
	var env strings.Builder
	for _, s := range spec.Secrets {
		run.Secrets[s.Name] = testSecret(s.Name, s.Length)
		fmt.Fprintf(&env, "%s=%s\n", s.Name, run.Secrets[s.Name])
	}
	env.WriteString("NASSELLA_SMTP_PASSWORD=''\n")
	execLog := filepath.Join(root, "execs")
	for p, body := range map[string]string{
		filepath.Join(config, "apps", app, hostcontract.ClaimFile): claimFile,
		filepath.Join(data, "secrets", app+hostcontract.EnvSuffix): env.String(),
		filepath.Join(bin, "nassella-claim"):                       script,
		// docker as the runner uses it: ps finds the container, inspect gives its address,
		// compose exec records its arguments, one per line, a blank line after each call.
		filepath.Join(bin, "docker"): `#!/bin/bash
case $1 in
  ps) echo 0123456789ab ;;
  inspect) echo 127.0.0.1 ;;
  compose)
    while [ $# -gt 0 ] && [ "$1" != -T ]; do shift; done
    shift
    printf '%s\n' "$@" >>"` + execLog + `"
    echo >>"` + execLog + `"
    printf '%s' ` + butane.Quote(opt.ExecOutput) + `
    exit ` + fmt.Sprint(opt.ExecStatus) + ` ;;
  *) echo "unexpected docker $*" >&2; exit 1 ;;
esac
`,
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runner := func(args ...string) *exec.Cmd {
		cmd := exec.Command("bash", append([]string{filepath.Join(bin, "nassella-claim")}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
			"NASSELLA_DATA="+data, "NASSELLA_CONFIG="+config, "NASSELLA_CLAIM_WAIT=20", "NASSELLA_CLAIM_STEP_TIMEOUT=10")
		return cmd
	}
	out, err := runner("run", app).CombinedOutput()
	run.Err, run.Output = err, string(out)
	if b, err := os.ReadFile(execLog); err == nil {
		for _, call := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
			run.Execs = append(run.Execs, strings.Split(call, "\n"))
		}
	}
	_, err = os.Stat(filepath.Join(data, "claims", app))
	run.Claimed = err == nil
	if b, err := os.ReadFile(filepath.Join(data, "claims", app+hostcontract.ClaimFailed)); err == nil {
		run.Failed = strings.TrimSpace(string(b))
	}
	creds, err := runner("credentials", app).Output()
	if err != nil {
		t.Fatalf("nassella-claim credentials %s: %v", app, err)
	}
	run.Credentials = string(creds)
	for name, v := range run.Secrets {
		if strings.Contains(run.Output, v) {
			t.Errorf("the runner printed the secret %s", name)
		}
	}
	return run
}

// testSecret is a secret as the host makes them (letters and digits), recognisable in a
// test's output.
func testSecret(name string, length int) string {
	s := strings.ReplaceAll(name, "_", "")
	for i := 0; len(s) < length; i++ {
		s += fmt.Sprint(i % 10)
	}
	return s[:length]
}

// madeUpClaim renders a claim file for a made-up app (Forgejo's services, the claim given).
func madeUpClaim(t *testing.T, cl *catalog.Claim) (*catalog.App, string, string) {
	t.Helper()
	l, _ := renderEveryApp(t, "")
	cat := catalog.Embedded()
	for _, a := range l.Apps {
		if a.Name != "forgejo" {
			continue
		}
		spec := *a.Spec
		spec.Secrets = append(spec.Secrets, catalog.Secret{Name: "ADMIN_PASSWORD", Length: 32})
		spec.Claim = cl
		a.Spec = &spec
		_, files := renderedHost(t)
		return &spec, butane.ClaimFile(render.Input{Site: l, Catalog: cat, Version: "test"}, a), files[hostcontract.ClaimScript]
	}
	t.Fatal("no forgejo in the every-app site")
	return nil, "", ""
}

// The runner itself, with a made-up app whose steps use everything a step can do: values
// filled literally from secrets and earlier answers, cookies kept across steps, status,
// expect and save checked, and a failure that leaves the app shut with a reason.
func TestClaimRunner(t *testing.T) {
	cl := &catalog.Claim{
		Login:    "{{admin_email}}",
		Password: "ADMIN_PASSWORD",
		Steps: []catalog.ClaimStep{
			{Exec: &catalog.ClaimExec{Service: "server", User: "git", Command: []string{"make-admin", "--email", "{{admin_email}}", "--password", "${ADMIN_PASSWORD}", "it's $(not) run"}}},
			{HTTP: &catalog.ClaimHTTP{Method: "POST", Path: "/login?next=/", Form: "user=admin&pass=${ADMIN_PASSWORD}", Status: []int{200},
				Save: map[string]string{"token": `"token":"([A-Za-z0-9]+)"`, "sid": `Set-Cookie: sid=([a-z]+)`}}},
			{HTTP: &catalog.ClaimHTTP{Method: "PUT", Path: "/api/users/1", JSON: `{"email": "{{admin_email}}", "note": "$(touch /tmp/pwned) ${sid}"}`,
				Headers: map[string]string{"Authorization": "Bearer ${token}"}, Status: []int{200, 204}, Expect: `"ok": ?true`}},
		},
	}
	spec, file, script := madeUpClaim(t, cl)
	var calls []string
	model := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls = append(calls, r.Method+" "+r.URL.RequestURI())
		switch {
		case r.Method == "POST" && r.URL.Path == "/login":
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || string(b) != "user=admin&pass=ADMINPASSWORD0123456789012345678" {
				http.Error(w, "bad login", 400)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abcdef"})
			fmt.Fprint(w, `{"token":"T0k3n"}`)
		case r.Method == "PUT" && r.URL.Path == "/api/users/1":
			c, err := r.Cookie("sid")
			if r.Header.Get("Authorization") != "Bearer T0k3n" || err != nil || c.Value != "abcdef" || r.Host != "git.everything.example" || r.Header.Get("X-Forwarded-Proto") != "https" {
				http.Error(w, "unauthorised", 401)
				return
			}
			if want := `{"email": "ops@everything.example", "note": "$(touch /tmp/pwned) abcdef"}`; string(b) != want {
				http.Error(w, "body "+string(b), 400)
				return
			}
			fmt.Fprint(w, `{"ok": true}`)
		default:
			http.NotFound(w, r)
		}
	})
	r := runClaimFile(t, spec, file, script, model, claimOptions{})
	if r.Err != nil || !r.Claimed || r.Failed != "" {
		t.Fatalf("err %v, claimed %v, failed %q\n%s", r.Err, r.Claimed, r.Failed, r.Output)
	}
	wantExec := []string{"--user", "git", "server", "make-admin", "--email", "ops@everything.example", "--password", "ADMINPASSWORD0123456789012345678", "it's $(not) run"}
	if len(r.Execs) != 1 || strings.Join(r.Execs[0], "|") != strings.Join(wantExec, "|") {
		t.Errorf("execs %q, want %q", r.Execs, wantExec)
	}
	if want := "POST /login?next=/,PUT /api/users/1"; strings.Join(calls, ",") != want {
		t.Errorf("requests %s, want %s", strings.Join(calls, ","), want)
	}
	if want := "forgejo\tclaimed\tops@everything.example\tADMINPASSWORD0123456789012345678\t\n"; r.Credentials != want {
		t.Errorf("credentials %q, want %q", r.Credentials, want)
	}

	for name, c := range map[string]struct {
		status int
		output string
		model  http.HandlerFunc
		reason string
	}{
		"a step answered otherwise": {model: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "ADMINPASSWORD0123456789012345678 taken", 409)
		},
			reason: "step 2 (POST /login) answered 409, want 200"},
		"an answer without the value to save": {model: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) },
			reason: "step 2 (POST /login) answered without sid"},
		"an exec step failed": {status: 3, model: model, reason: "step 1 (make-admin in server) exited with status 3"},
		"an exec step failed, saying why": {status: 1, output: "creating ADMINPASSWORD0123456789012345678\n\tuser already exists [password: ADMINPASSWORD0123456789012345678]\n\n", model: model,
			reason: "step 1 (make-admin in server) exited with status 1: user already exists [password: ...]"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runClaimFile(t, spec, file, script, c.model, claimOptions{ExecStatus: c.status, ExecOutput: c.output})
			if r.Err == nil || r.Claimed || r.Failed != c.reason {
				t.Fatalf("err %v, claimed %v, reason %q, want %q\n%s", r.Err, r.Claimed, r.Failed, c.reason, r.Output)
			}
			if !strings.Contains(r.Credentials, "\tfailed\t") || !strings.HasSuffix(r.Credentials, c.reason+"\n") {
				t.Errorf("credentials %q", r.Credentials)
			}
		})
	}
}
