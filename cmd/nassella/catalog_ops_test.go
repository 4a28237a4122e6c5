package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/registrytest"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// scriptCmds are the commands the CLI scenarios have besides testscript's own: a test
// registry for the catalog maintenance scenarios, and a stand-in for the VM test's
// evidence.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"registry":    cmdRegistry,
	"expand":      cmdExpand,
	"fake-vmtest": cmdFakeVMTest,
}

var (
	registriesMu sync.Mutex
	registries   = map[*testscript.TestScript]*registrytest.Server{}
)

// cmdRegistry runs the test registry on 127.0.0.1 for the rest of the script:
//
//	registry start                   start it; sets REGISTRY (host:port), and serves a
//	                                 compose sysext at COMPOSE_URL over HTTPS, trusted
//	                                 through SSL_CERT_FILE
//	registry push REPO TAG...        push a new multi-platform image under each tag
//	registry ratelimit N SECONDS     answer the next N requests 429 with Retry-After
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("registry does not fail")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: registry start | push REPO TAG... | ratelimit N SECONDS")
	}
	registriesMu.Lock()
	srv := registries[ts]
	registriesMu.Unlock()
	if args[0] != "start" && srv == nil {
		ts.Fatalf("registry %s: run registry start first", args[0])
	}
	switch args[0] {
	case "start":
		srv = registrytest.New()
		u, cert, _, closeFiles := registrytest.ServeFile("/docker-compose-2.34.0-x86-64.raw", []byte("a compose sysext image\n"))
		ts.Defer(func() {
			srv.Close()
			closeFiles()
			registriesMu.Lock()
			delete(registries, ts)
			registriesMu.Unlock()
		})
		registriesMu.Lock()
		registries[ts] = srv
		registriesMu.Unlock()
		certFile := ts.MkAbs(".test-https.pem")
		ts.Check(os.WriteFile(certFile, cert, 0o644))
		ts.Setenv("REGISTRY", srv.Host)
		ts.Setenv("COMPOSE_URL", u)
		ts.Setenv("SSL_CERT_FILE", certFile)
	case "push":
		if len(args) < 3 {
			ts.Fatalf("usage: registry push REPO TAG...")
		}
		_, err := srv.Push(args[1], args[2:]...)
		ts.Check(err)
	case "ratelimit":
		if len(args) != 3 {
			ts.Fatalf("usage: registry ratelimit N SECONDS")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		srv.RateLimit(n, args[2])
	default:
		ts.Fatalf("unknown registry command %q", args[0])
	}
}

// cmdExpand replaces $REGISTRY and $COMPOSE_URL in files (other dollar signs, as in
// ${DB_PASSWORD} or a regexp's $, stay).
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	r := strings.NewReplacer("$REGISTRY", ts.Getenv("REGISTRY"), "$COMPOSE_URL", ts.Getenv("COMPOSE_URL"))
	for _, f := range args {
		data, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(r.Replace(string(data))), 0o644))
	}
}

// cmdFakeVMTest writes the evidence the VM release test (another issue) will write:
//
//	fake-vmtest CATALOG_DIR RELEASE pass|fail
//
// The images are the catalog folder's, as the test would have run them.
func cmdFakeVMTest(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: fake-vmtest CATALOG_DIR RELEASE pass|fail")
	}
	dir, release, result := ts.MkAbs(args[0]), args[1], args[2]
	cat, err := catalog.Load(os.DirFS(dir))
	ts.Check(err)
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	upgrade := catalogops.Scenario{Name: "upgrade", Result: result, Seconds: 903}
	if result != "pass" {
		upgrade.Detail = "vaultwarden answered 502 after the upgrade"
	}
	ev := catalogops.Evidence{Format: catalogops.EvidenceFormat, Release: release, Result: result, Runner: "fake-vmtest",
		Started: start, Finished: start.Add(25 * time.Minute),
		Scenarios: []catalogops.Scenario{{Name: "fresh-install", Result: "pass", Seconds: 600}, upgrade},
		Images:    catalogops.ReleaseImages(cat)}
	data, err := json.MarshalIndent(ev, "", "  ")
	ts.Check(err)
	file := filepath.Join(dir, filepath.FromSlash(catalogops.EvidencePath(release)))
	ts.Check(os.MkdirAll(filepath.Dir(file), 0o755))
	ts.Check(os.WriteFile(file, append(data, '\n'), 0o644))
}
