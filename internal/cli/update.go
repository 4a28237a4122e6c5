package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/pipelines/update"
)

func runUpdate(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "update", "--fleet FILE --release R [--catalog DIR] [--channel C] [--parallel N]")
	fleetFile := fs.String("fleet", "", "the fleet `FILE` listing the site repos (fleet.yaml)")
	release := fs.String("release", "", "the catalog `RELEASE` to move the sites to, YYYY.MM.N")
	catDir := fs.String("catalog", "", "the catalog `DIR` holding the release (default: the built-in catalog)")
	channel := fs.String("channel", "", "update the sites following this channel (default: the release's channel)")
	parallel := fs.Int("parallel", 4, "sites worked on at once")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *fleetFile == "" || *release == "" {
		return usageError{"update needs --fleet FILE and --release R"}
	}
	if *parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	fl, err := fleet.Read(*fleetFile)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(*catDir)
	if err != nil {
		return err
	}
	if cat.Release != *release {
		where := "the built-in catalog"
		if *catDir != "" {
			where = "catalog " + *catDir
		}
		return fmt.Errorf("%s holds release %s, not %s; pass --catalog DIR with the folder of release %s", where, cat.Release, *release, *release)
	}
	if *channel != "" && *channel != "stable" && *channel != "testing" {
		return usageError{fmt.Sprintf("channel %q is unknown; use stable or testing", *channel)}
	}
	results, err := update.Run(ctx, update.Options{Fleet: fl, Catalog: cat, CatalogDir: *catDir, Channel: *channel,
		Parallel: *parallel, Progress: s.Err, Getenv: os.Getenv})
	if results != nil {
		fmt.Fprintln(s.Out)
		update.Summary(s.Out, results)
	}
	if err != nil && errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; run the same command again to finish: %w", err)
	}
	return err
}
