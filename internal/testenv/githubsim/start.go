package githubsim

import "testing"

// StartWithRepo starts a simulator whose API accepts token, with the repo owner/name,
// until the test ends.
func StartWithRepo(t testing.TB, token, owner, name string) *Server {
	t.Helper()
	s, err := Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.CreateRepo(owner, name); err != nil {
		t.Fatal(err)
	}
	return s
}
