package deploy_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/pipelines/deploy"
)

// plan asks the live API about the site's server type (cx33 in nbg1) before planning: a
// type withdrawn in the site's location is refused, naming the nearest one that can be
// created and fits; one only announced is noted. No OpenTofu is needed: the check runs
// first, and a plan it lets through fails at the missing binary instead.
func TestPlanChecksServerType(t *testing.T) {
	past := hcloudsim.Deprecation{Announced: time.Now().AddDate(0, -3, 0), UnavailableAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	future := hcloudsim.Deprecation{Announced: time.Now(), UnavailableAfter: time.Now().AddDate(0, 2, 0)}
	for _, tc := range []struct {
		name      string
		withdraw  func(*hcloudsim.Server)
		refused   []string // substrings of the refusal; none: let through
		wantInLog string
	}{
		{name: "current", withdraw: func(*hcloudsim.Server) {}},
		{name: "withdrawn here", withdraw: func(s *hcloudsim.Server) { s.DeprecateServerType("cx33", past, "nbg1") },
			refused: []string{"your server's type can no longer be ordered from Hetzner: cx33 in nbg1 is no longer sold there since 2026-01-01",
				"nothing can be changed until the site moves to another type", "set server_type: ccx13 (8 GB) in your site.yaml"}},
		{name: "withdrawn elsewhere", withdraw: func(s *hcloudsim.Server) { s.DeprecateServerType("cx33", past, "fsn1") }},
		{name: "announced", withdraw: func(s *hcloudsim.Server) { s.DeprecateServerType("cx33", future) },
			wantInLog: "note: Hetzner stops selling server type cx33 in nbg1 after " + future.UnavailableAfter.Format(time.DateOnly)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := hcloudsim.StartForOpenTofu(t)
			tc.withdraw(sim)
			dir := t.TempDir()
			commitSite(t, dir, "vaultwarden")
			var log strings.Builder
			env := deploy.Env{AllowUnverified: true, Dir: dir, Tofu: filepath.Join(t.TempDir(), "no-tofu"), Catalog: catalog.Embedded(), Log: &log}
			_, err := deploy.MakePlan(context.Background(), env, filepath.Join(t.TempDir(), "tfplan"))
			if err == nil {
				t.Fatal("planned without OpenTofu")
			}
			if got := errors.Is(err, deploy.ErrServerTypeGone); got != (len(tc.refused) > 0) {
				t.Fatalf("refused = %v: %v", got, err)
			}
			for _, want := range tc.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal lacks %q:\n%v", want, err)
				}
			}
			if !strings.Contains(log.String(), tc.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantInLog, log.String())
			}
			if strings.Contains(err.Error(), hcloudsim.TestToken) || strings.Contains(log.String(), hcloudsim.TestToken) {
				t.Error("the API token leaked")
			}
		})
	}
}
