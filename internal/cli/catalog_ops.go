package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/registry"
	"github.com/nassella/nassella/pipelines/catalogops"
	"github.com/nassella/nassella/pipelines/update"
)

// catalogOps are the maintainers' catalog verbs, dispatched from runCatalog.
var catalogOps = map[string]func(ctx context.Context, s Streams, args []string) error{
	"check-updates": runCheckUpdates,
	"lock":          runCatalogLock,
	"release":       runCatalogRelease,
	"promote":       runCatalogPromote,
}

const catalogDirHelp = "the catalog folder `DIR` in a git clone of the catalog repo (default: . when it holds release.yaml, else ./catalog)"

// opsDir is the catalog folder the maintainers' verbs work on: unlike list and show, they
// change files, so never the built-in catalog.
func opsDir(flag string) string {
	if flag != "" {
		return flag
	}
	if _, err := os.Stat("release.yaml"); err == nil {
		return "."
	}
	return "catalog"
}

func newRegistryClient() *registry.Client {
	return &registry.Client{UserAgent: "nassella/" + generator.Version + " (catalog pipeline)"}
}

// identityFlags are the flags of the verbs that commit.
type identityFlags struct{ author, signKey *string }

func addIdentityFlags(fs interface {
	String(name, value, usage string) *string
}) identityFlags {
	return identityFlags{
		author:  fs.String("author", "", "who commits and tags, as `\"Name <email>\"` (default: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL, else git config user.name/user.email)"),
		signKey: fs.String("sign-key", "", "sign the commits and tags with the armored OpenPGP private key in `FILE` (no passphrase)"),
	}
}

// identity opens the catalog repo in dir and resolves who commits there.
func (f identityFlags) identity(dir string) (catalogops.Identity, error) {
	repo, err := catalogops.OpenRepo(dir)
	if err != nil {
		return catalogops.Identity{}, err
	}
	return catalogops.ResolveIdentity(*f.author, *f.signKey, repo)
}

func runCheckUpdates(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "catalog check-updates", "[--catalog DIR] [--app NAME,...] [--dry-run]")
	opt := catalogops.CheckOptions{Registry: newRegistryClient(), Out: s.Out}
	dir := fs.String("catalog", "", catalogDirHelp)
	apps := fs.String("app", "", "check only these apps (or proxy, backup), comma-separated (default: all of them)")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "print the updates without proposing them")
	fs.StringVar(&opt.Base, "base", "", "start proposal branches from `BRANCH` (default: HEAD)")
	id := addIdentityFlags(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	opt.Dir, opt.Apps, opt.Author, opt.SignKey = opsDir(*dir), commaList(*apps), *id.author, *id.signKey
	err := catalogops.CheckAndPropose(ctx, opt)
	if errors.Is(err, catalogops.ErrUnknownApp) {
		return usageError{strings.TrimPrefix(err.Error(), catalogops.ErrUnknownApp.Error()+": ")}
	}
	return err
}

func runCatalogLock(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "catalog lock", "[--catalog DIR]")
	dir := fs.String("catalog", "", catalogDirHelp)
	skipCompose := fs.Bool("skip-compose", false, "leave compose.sha512 as it is instead of downloading the sysext to hash it")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	d := opsDir(*dir)
	res, err := catalogops.Lock(ctx, d, catalogops.LockOptions{Registry: newRegistryClient(), SkipCompose: *skipCompose})
	for _, l := range res.Images {
		state := "failed: see below"
		if l.Err == nil {
			kind := "index"
			if !l.Index {
				kind = "single-platform manifest"
			}
			switch {
			case l.Was == "":
				state = kind + ", pinned"
			case l.Was == l.Digest:
				state = kind + ", unchanged"
			default:
				state = kind + ", changed: was " + l.Was
			}
		}
		fmt.Fprintf(s.Out, "%-24s %s:%s %s (%s)\n", l.Where, l.Image, l.Tag, l.Digest, state)
	}
	switch {
	case res.ComposeSkipped:
		fmt.Fprintf(s.Out, "%-24s %s (skipped)\n", "compose sysext", res.ComposeVersion)
	case res.ComposeErr == nil && res.ComposeVersion != "":
		state := "unchanged"
		if res.ComposeWas == "" {
			state = "pinned"
		} else if res.ComposeWas != res.Compose {
			state = "changed"
		}
		fmt.Fprintf(s.Out, "%-24s %s sha512:%s (%s)\n", "compose sysext", res.ComposeVersion, res.Compose, state)
	}
	if len(res.Files) > 0 {
		fmt.Fprintf(s.Out, "wrote %s in %s\n", strings.Join(res.Files, ", "), d)
	} else if err == nil {
		fmt.Fprintln(s.Out, "every digest is as recorded; nothing written")
	}
	return err
}

func runCatalogRelease(_ context.Context, s Streams, args []string) error {
	fs := flags(s, "catalog release", "[--catalog DIR] [--date YYYY-MM-DD]")
	dir := fs.String("catalog", "", catalogDirHelp)
	dateFlag := fs.String("date", "", "the release's date, `YYYY-MM-DD`, which names it YYYY.MM.N (default: today)")
	id := addIdentityFlags(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	date := time.Now()
	if *dateFlag != "" {
		var err error
		if date, err = time.Parse(time.DateOnly, *dateFlag); err != nil {
			return usageError{fmt.Sprintf("--date %q is not a date like 2026-12-03", *dateFlag)}
		}
	}
	d := opsDir(*dir)
	who, err := id.identity(d)
	if err != nil {
		return err
	}
	res, err := catalogops.CutRelease(catalogops.ReleaseOptions{Dir: d, Date: date, Author: who})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "cut catalog release %s on testing: commit %s, tag %s\n\n%s\n", res.Release, res.Commit[:12], res.Tag, res.Notes)
	fmt.Fprintf(s.Out, "next: run the VM release test on %s; it writes %s, then: nassella catalog promote %s --to stable\n",
		res.Release, filepath.ToSlash(filepath.Join(d, catalogops.EvidencePath(res.Release))), res.Release)
	return nil
}

func runCatalogPromote(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "catalog promote", "RELEASE --to stable [--catalog DIR] [--fleet FILE]")
	dir := fs.String("catalog", "", catalogDirHelp)
	to := fs.String("to", "", "the channel to promote to: `stable`")
	fleetFile := fs.String("fleet", "", "after promoting, run the update bot over the site repos in this fleet.yaml")
	parallel := fs.Int("parallel", 4, "with --fleet: how many site repos the update bot handles at once")
	id := addIdentityFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *to == "" {
		return usageError{"use: nassella catalog promote RELEASE --to stable"}
	}
	d := opsDir(*dir)
	who, err := id.identity(d)
	if err != nil {
		return err
	}
	var bot strings.Builder // printed after the promotion itself
	var updater catalogops.UpdateBot = catalogops.PrintingUpdateBot{W: &bot}
	if *fleetFile != "" {
		fl, err := fleet.Read(*fleetFile)
		if err != nil {
			return err
		}
		updater = update.Bot{Fleet: fl, CatalogDir: d, Parallel: *parallel, Out: &bot}
	}
	res, err := catalogops.Promote(ctx, catalogops.PromoteOptions{
		Dir: d, Release: pos[0], Channel: *to, Author: who,
		Bot: updater,
	})
	if res.Tag != "" {
		fmt.Fprintf(s.Out, "promoted %s to %s on %s (%s): tag %s on commit %s, recorded in commit %s\n",
			res.Release, res.Channel, catalogops.EvidencePath(res.Release), res.Evidence.Result, res.Tag, res.Commit[:12], res.Record[:12])
		fmt.Fprint(s.Out, bot.String())
	}
	return err
}
