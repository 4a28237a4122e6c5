package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/backup"
)

func runRestore(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "restore", "[DIR] --target FOLDER [--snapshot ID] [--app NAME] | --list")
	var opt backup.RestoreOptions
	var so backup.SiteOptions
	fs.StringVar(&opt.Target, "target", "", "restore into this empty `FOLDER` (a fresh data volume, mounted before the apps start)")
	fs.StringVar(&opt.Snapshot, "snapshot", "", "restore this snapshot `ID` instead of the newest")
	fs.StringVar(&opt.App, "app", "", "restore only this app's folder (with its dumps) and secrets")
	list := fs.Bool("list", false, "list the snapshots and restore nothing")
	fs.StringVar(&so.Repository, "repo", "", "restic repository (default: $RESTIC_REPOSITORY, then the one site.yaml names; another site's is refused)")
	fs.StringVar(&so.Host, "host", "", "take the snapshots of this `HOST` (default: the site's name; another is refused)")
	fs.BoolVar(&so.ForceOtherSite, "force-other-site", false, "allow a repository or host that is not the site's")
	fs.StringVar(&so.Bin, "restic", firstNonEmpty(os.Getenv("NASSELLA_RESTIC"), "restic"), "the restic binary")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	r, err := siterepo.Open(dirArg(pos), siterepo.Options{CatalogDir: *catDir})
	if err != nil {
		return err
	}
	if err := backup.HasApp(r.Site, opt.App); err != nil {
		return usageError{err.Error()}
	}
	if !*list && opt.Target == "" {
		return usageError{"name the folder to restore into with --target (an empty folder or a fresh volume), or use --list"}
	}
	restic, err := backup.ForSite(r.Site, so, os.Getenv)
	if err != nil {
		return err
	}
	if *list {
		return listSnapshots(ctx, s, restic)
	}
	what := firstNonEmpty(opt.App, "every app")
	fmt.Fprintf(s.Err, "restoring %s from %s into %s\n", what, restic.Repository, opt.Target)
	opt.Progress = s.Err
	sn, err := restic.Restore(ctx, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "restored %s from snapshot %s (%s) into %s\n", what, sn.ShortID, sn.Time.Local().Format("2006-01-02 15:04"), opt.Target)
	if opt.App != "" {
		fmt.Fprintf(s.Out, "its database dump is in %s; load it into the app's database before starting it\n", filepath.Join(opt.Target, "apps", opt.App, "dumps"))
	}
	return nil
}

func listSnapshots(ctx context.Context, s Streams, r backup.Restic) error {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		fmt.Fprintf(s.Out, "no snapshots of host %s in %s yet\n", r.Host, r.Repository)
	}
	for _, sn := range snaps {
		fmt.Fprintf(s.Out, "%s  %s  %s\n", sn.ShortID, sn.Time.Local().Format("2006-01-02 15:04:05"), sn.Hostname)
	}
	return nil
}
