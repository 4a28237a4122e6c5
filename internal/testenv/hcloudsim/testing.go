package hcloudsim

import (
	"strings"
	"testing"
)

// TestToken is the API token StartForOpenTofu accepts.
var TestToken = strings.Repeat("t", 64)

// StartForOpenTofu starts a simulator for a test that runs the site's Terraform: a stable
// Flatcar snapshot to boot from, TestToken, and the TF_VAR_hcloud_* variables pointing the
// provider at it. It stops when the test ends.
func StartForOpenTofu(t testing.TB) *Server {
	t.Helper()
	s := New()
	s.AddFlatcarSnapshot("stable")
	s.SetToken(TestToken)
	s.Start()
	t.Cleanup(s.Close)
	t.Setenv("TF_VAR_hcloud_endpoint", s.Endpoint())
	t.Setenv("TF_VAR_hcloud_token", TestToken)
	return s
}
