package openstacksim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// StartForOpenTofu starts a simulator for a test that runs the site's OpenTofu with the
// real terraform-provider-openstack: a stable Flatcar image (flatcar-stable) to boot
// from, the CA certificate in a file named by OS_CACERT (the provider's cacert_file,
// terraform-provider-openstack openstack/provider.go), and the TF_VAR_openstack_*
// variables of site-template/terraform/openstack pointing the provider at it. It stops
// when the test ends.
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
	s.AddImage("flatcar-stable", ImageProperty("os_distro", "flatcar"))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "openstacksim-ca.pem")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return s, []string{
		"OS_CACERT=" + ca,
		"TF_VAR_openstack_auth_url=" + s.AuthURL(),
		"TF_VAR_openstack_region=" + s.Region(),
		"TF_VAR_openstack_application_credential_id=" + DefaultApplicationCredentialID,
		"TF_VAR_openstack_application_credential_secret=" + DefaultApplicationCredentialSecret,
	}
}
