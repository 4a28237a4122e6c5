package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/backup"
)

// loadSiteDir loads DIR/site.yaml against the catalog (the built-in one when catDir is empty).
func loadSiteDir(dir, catDir string) (*site.Loaded, error) {
	cat, err := loadCatalog(catDir)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading the site: %w (run this in a site repo, or name its folder)", err)
	}
	return site.Load(p, data, cat)
}

func runRestore(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "restore", "[DIR] --target FOLDER [--snapshot ID] [--app NAME] | --list")
	target := fs.String("target", "", "restore into this empty `FOLDER` (a fresh data volume, mounted before the apps start)")
	snapshot := fs.String("snapshot", "", "restore this snapshot `ID` instead of the newest")
	app := fs.String("app", "", "restore only this app's folder (with its dumps) and secrets")
	list := fs.Bool("list", false, "list the snapshots and restore nothing")
	repo := fs.String("repo", os.Getenv("RESTIC_REPOSITORY"), "restic repository (default: $RESTIC_REPOSITORY, then the one site.yaml names)")
	bin := fs.String("restic", firstNonEmpty(os.Getenv("NASSELLA_RESTIC"), "restic"), "the restic binary")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	l, err := loadSiteDir(dir, *catDir)
	if err != nil {
		return err
	}
	if *app != "" && l.Apps != nil {
		known := false
		for _, a := range l.Apps {
			known = known || a.Name == *app
		}
		if !known {
			return usageError{fmt.Sprintf("site %s has no app %q; its apps: %v", l.Name, *app, l.AppNames())}
		}
	}
	if !*list && *target == "" {
		return usageError{"name the folder to restore into with --target (an empty folder or a fresh volume), or use --list"}
	}
	env, err := backup.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	r := backup.Restic{Bin: *bin, Repository: *repo, Env: env, Region: l.Backups.Target.S3.Region}
	if r.Repository == "" {
		r.Repository = butane.Repository(l.Site)
	}
	if *list {
		snaps, err := r.Snapshots(ctx)
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			fmt.Fprintf(s.Out, "no snapshots in %s yet\n", r.Repository)
		}
		for _, sn := range snaps {
			fmt.Fprintf(s.Out, "%s  %s  %s\n", sn.ShortID, sn.Time.Local().Format("2006-01-02 15:04:05"), sn.Hostname)
		}
		return nil
	}
	what := "every app"
	if *app != "" {
		what = *app
	}
	fmt.Fprintf(s.Err, "restoring %s from %s into %s\n", what, r.Repository, *target)
	sn, err := r.Restore(ctx, backup.RestoreOptions{Snapshot: *snapshot, App: *app, Target: *target, Progress: s.Err})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "restored %s from snapshot %s (%s) into %s\n", what, sn.ShortID, sn.Time.Local().Format("2006-01-02 15:04"), *target)
	if *app != "" {
		fmt.Fprintf(s.Out, "its database dump is in %s; load it into the app's database before starting it\n", filepath.Join(*target, "apps", *app, "dumps"))
	}
	return nil
}
