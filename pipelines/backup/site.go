package backup

import (
	"fmt"
	"slices"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
)

// ForSite is restic on the site's backup repository: repository when given, else the
// folder site.yaml's backup target names, with the secrets from getenv.
func ForSite(s *site.Loaded, bin, repository string, getenv func(string) string) (Restic, error) {
	env, err := FromEnv(getenv)
	if err != nil {
		return Restic{}, err
	}
	t := s.Backups.Target.S3
	if repository == "" {
		repository = hostcontract.Repository(t.Endpoint, t.Bucket, s.Name)
	}
	return Restic{Bin: bin, Repository: repository, Env: env, Region: t.Region}, nil
}

// HasApp refuses an app the site does not run: there is nothing of it to restore.
func HasApp(s *site.Loaded, app string) error {
	if app == "" || slices.Contains(s.AppNames(), app) {
		return nil
	}
	return fmt.Errorf("site %s has no app %q; its apps: %v", s.Name, app, s.AppNames())
}
