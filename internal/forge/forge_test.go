package forge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/internal/testenv/githubsim"
)

// TestPrimaryRateLimit: when the hourly limit is used up, the client does not wait an
// hour; it fails with when to run again, without the token.
func TestPrimaryRateLimit(t *testing.T) {
	const token = "ghp_simulatedtokensimulatedtoken0002"
	sim, err := githubsim.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.RateLimit = 1
	if err := sim.CreateRepo("o", "r"); err != nil {
		t.Fatal(err)
	}
	c, err := New(KindGitHub, sim.URL+"/api/v3/", "o", "r", token, Options{Sleep: func(context.Context, time.Duration) error {
		t.Error("the client waited for an hour-long limit")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenPRs(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = c.OpenPRs(context.Background())
	if err == nil || !strings.Contains(err.Error(), "run again after") || strings.Contains(err.Error(), token) {
		t.Fatalf("err = %v", err)
	}
	// The first answer said none were left, so the second request is never sent.
	if c.Calls() != 1 {
		t.Errorf("%d calls, want 1", c.Calls())
	}
}

// TestBadToken: a wrong token is a plain error naming the repo.
func TestBadToken(t *testing.T) {
	sim, err := githubsim.Start("right-token")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.CreateRepo("o", "r")
	c, _ := New(KindGitHub, sim.URL+"/api/v3/", "o", "r", "wrong-token-value", Options{})
	_, err = c.OpenPRs(context.Background())
	if err == nil || !strings.Contains(err.Error(), "o/r") || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-token-value") {
		t.Fatalf("err = %v", err)
	}
}
