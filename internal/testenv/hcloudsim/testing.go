package hcloudsim

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// TestToken is the API token StartForOpenTofu accepts.
var TestToken = strings.Repeat("t", 64)

// StartForOpenTofu starts a simulator for a test that runs the site's Terraform: a stable
// Flatcar snapshot to boot from, TestToken, and the TF_VAR_hcloud_* variables pointing the
// provider at it. It stops when the test ends.
func StartForOpenTofu(t testing.TB) *Server {
	t.Helper()
	return testtool.Setenv(t, StartWithEnv)
}

// StartWithEnv starts the simulator StartForOpenTofu does and returns the variables
// instead of setting them, as KEY=value, for a parallel test to give to the programs it
// runs (t.Setenv is not allowed there).
func StartWithEnv(t testing.TB) (*Server, []string) {
	t.Helper()
	s := New()
	s.AddFlatcarSnapshot("stable")
	s.SetToken(TestToken)
	s.Start()
	t.Cleanup(s.Close)
	return s, []string{"TF_VAR_hcloud_endpoint=" + s.Endpoint(), "TF_VAR_hcloud_token=" + TestToken}
}
