// Package testtool finds the real tools a test runs (OpenTofu, versitygw, Gitea, sshd,
// QEMU's boot kit, ...) from the environment the .ci/tools-*.sh scripts print. A missing
// tool skips the test on a developer's machine and fails it in CI, which must run it.
package testtool

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Require returns the value of env, the path of a tool. Without it the test is skipped,
// or fails when CI is set; script names the .ci script that provides it.
func Require(t testing.TB, env, script string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run eval \"$(%s)\" first", env, script)
		}
		t.Skipf("%s is not set; run eval \"$(%s)\" first", env, script)
	}
	return v
}

// HoldPort makes the tests that listen on a fixed port of this machine take turns, across
// the packages go test runs side by side: the rehearsal's hosts run Caddy on :443 of
// every address, and the site workflows' test serves its apps on 127.2.1.x:443, and
// Linux refuses the second listener either way. It blocks until the port is free of the
// other tests and holds it until t ends.
func HoldPort(t testing.TB, port int) {
	t.Helper()
	name := filepath.Join(os.TempDir(), fmt.Sprintf("nassella-test-port-%d.lock", port))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("locking %s: %v", name, err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Logf("waited %s for port %d, which another test held", waited.Round(time.Second), port)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
}

// Setenv runs start, a simulator's StartWithEnv, and sets each KEY=value it returns for
// the rest of the test (t.Setenv: not in parallel tests, which give the variables to the
// programs they start instead).
func Setenv[S any](t testing.TB, start func(testing.TB) (S, []string)) S {
	t.Helper()
	s, env := start(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return s
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a server the
// test starts as a program.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
