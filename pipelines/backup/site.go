package backup

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
)

// SiteOptions choose restic and, rarely, another site's backups.
type SiteOptions struct {
	Bin        string // the restic binary; "restic" from PATH when empty
	Repository string // --repo; else $RESTIC_REPOSITORY; else the one site.yaml names
	Host       string // whose snapshots to take; the site's name when empty
	// ForceOtherSite allows a repository or host that is not the site's: restoring another
	// site's data into this one is otherwise refused.
	ForceOtherSite bool
}

// ForSite is restic on the site's backup repository and its server's snapshots, with the
// secrets from getenv. A repository or host other than the site's (a leftover
// RESTIC_REPOSITORY, say) is refused, naming both, unless opt.ForceOtherSite.
func ForSite(s *site.Loaded, opt SiteOptions, getenv func(string) string) (Restic, error) {
	env, err := FromEnv(getenv)
	if err != nil {
		return Restic{}, err
	}
	t := s.Backups.Target.S3
	own := hostcontract.Repository(t.Endpoint, t.Bucket, s.Name)
	repository, from := opt.Repository, "--repo"
	if repository == "" {
		repository, from = getenv("RESTIC_REPOSITORY"), "$RESTIC_REPOSITORY"
	}
	if repository == "" {
		repository = own
	}
	if strings.TrimSuffix(repository, "/") != own && !opt.ForceOtherSite {
		return Restic{}, fmt.Errorf("the repository %s (from %s) is not site %s's backup repository %s: refusing to restore another site's data; unset RESTIC_REPOSITORY and drop --repo to use the site's, or pass --force-other-site if you mean it", repository, from, s.Name, own)
	}
	host := opt.Host
	if host == "" {
		host = s.Name
	}
	if host != s.Name && !opt.ForceOtherSite {
		return Restic{}, fmt.Errorf("host %s is not site %s's server (its backups carry host name %s): refusing to restore another site's data; drop --host, or pass --force-other-site if you mean it", host, s.Name, s.Name)
	}
	return Restic{Bin: opt.Bin, Repository: repository, Host: host, Env: env, Region: t.Region}, nil
}

// HasApp refuses an app the site does not run: there is nothing of it to restore.
func HasApp(s *site.Loaded, app string) error {
	if app == "" || slices.Contains(s.AppNames(), app) {
		return nil
	}
	return fmt.Errorf("site %s has no app %q; its apps: %v", s.Name, app, s.AppNames())
}
