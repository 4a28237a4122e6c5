// Package testtool finds the real tools a test runs (OpenTofu, versitygw, Gitea, sshd,
// QEMU's boot kit, ...) from the environment the .ci/tools-*.sh scripts print. A missing
// tool skips the test on a developer's machine and fails it in CI, which must run it.
package testtool

import (
	"os"
	"testing"
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
