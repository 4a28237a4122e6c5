package openstacksim

import (
	"os"
	"path/filepath"
	"testing"
)

// StartForOpenTofu starts a simulator for a test that runs the site's OpenTofu with the
// real terraform-provider-openstack: a stable Flatcar image (flatcar-stable) to boot
// from, the CA certificate in a file named by OS_CACERT (the provider's cacert_file,
// terraform-provider-openstack openstack/provider.go), and the TF_VAR_openstack_*
// variables of site-template/terraform/openstack pointing the provider at it. It stops
// when the test ends.
func StartForOpenTofu(t testing.TB) *Server {
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
	t.Setenv("OS_CACERT", ca)
	t.Setenv("TF_VAR_openstack_auth_url", s.AuthURL())
	t.Setenv("TF_VAR_openstack_region", s.Region())
	t.Setenv("TF_VAR_openstack_application_credential_id", DefaultApplicationCredentialID)
	t.Setenv("TF_VAR_openstack_application_credential_secret", DefaultApplicationCredentialSecret)
	return s
}
