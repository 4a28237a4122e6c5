package catalogops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/diag"
)

// ErrUnknownApp is a check-updates run asked for an app the catalog does not have.
var ErrUnknownApp = errors.New("unknown app")

// CheckOptions are a check-updates run: look for new versions of the catalog's images in
// their registries and, unless DryRun, propose each app's bump on its own branch.
type CheckOptions struct {
	Dir      string   // the catalog folder in a git clone of the catalog repo
	Apps     []string // only these apps (or host images); all when empty
	DryRun   bool     // print the updates without proposing them
	Base     string   // the branch proposals start from; HEAD when empty
	Author   string   // "Name <email>"; default from git (FindIdentity)
	SignKey  string   // armored OpenPGP private key file that signs the commits, when set
	Registry Registry
	Out      io.Writer // one line per app and bump
}

// CheckAndPropose runs a check-updates: it reports each app's updates on opt.Out and
// proposes them, and fails naming the apps it could not check or propose.
func CheckAndPropose(ctx context.Context, opt CheckOptions) error {
	cat, err := catalog.Load(os.DirFS(opt.Dir))
	if err != nil {
		return fmt.Errorf("catalog %s:\n%w", opt.Dir, err)
	}
	if err := knownApps(cat, opt.Dir, opt.Apps); err != nil {
		return err
	}
	var proposer Proposer
	if !opt.DryRun {
		if proposer, err = opt.proposer(); err != nil {
			return err
		}
	}
	found, majors := map[string]bool{}, 0
	var failed []string
	for _, u := range CheckUpdates(ctx, opt.Registry, cat, opt.Apps) {
		if len(u.Bumps) > 0 {
			found[u.App] = true
			if u.Major {
				majors++
			}
		}
		if !report(ctx, opt.Out, u, proposer) {
			failed = append(failed, u.App)
		}
	}
	summary(opt.Out, len(found), majors, opt.DryRun)
	if len(failed) > 0 {
		return fmt.Errorf("could not check or propose %s (see above); run again when the registry answers", strings.Join(failed, ", "))
	}
	return nil
}

// knownApps refuses names that are neither an app of cat nor one of its host images.
func knownApps(cat *catalog.Release, dir string, apps []string) error {
	known := cat.Names()
	for _, h := range HostImages(cat) {
		known = append(known, h.Name)
	}
	for _, a := range apps {
		if slices.Contains(known, a) {
			continue
		}
		msg := fmt.Sprintf("there is no app %q in catalog %s", a, dir)
		if c := diag.Closest(a, known); c != "" {
			msg += fmt.Sprintf("; did you mean %q?", c)
		}
		return fmt.Errorf("%w: %s", ErrUnknownApp, msg)
	}
	return nil
}

func (opt CheckOptions) proposer() (Proposer, error) {
	repo, err := OpenRepo(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w\n(or pass --dry-run to only print the updates)", err)
	}
	who, err := ResolveIdentity(opt.Author, opt.SignKey, repo)
	if err != nil {
		return nil, err
	}
	return &GitProposer{Repo: repo, Base: opt.Base, Author: who}, nil
}

// ResolveIdentity is who commits in repo: author ("Name <email>") or git's configured
// identity, signing with the key in signKeyFile when given.
func ResolveIdentity(author, signKeyFile string, repo *Repo) (Identity, error) {
	who, err := FindIdentity(author, repo)
	if err != nil || signKeyFile == "" {
		return who, err
	}
	who.SignKey, err = ReadSignKey(signKeyFile)
	return who, err
}

// report prints one app's check and proposes its bumps; false means it failed.
func report(ctx context.Context, w io.Writer, u Update, proposer Proposer) bool {
	if u.Err != nil {
		fmt.Fprintf(w, "%s: could not check: %v\n", u.App, u.Err)
		return false
	}
	printUpdate(w, u)
	if proposer == nil || len(u.Bumps) == 0 {
		return true
	}
	res, err := proposer.Propose(ctx, ProposalFor(u))
	if err != nil {
		fmt.Fprintf(w, "  could not propose: %v\n", err)
		return false
	}
	fmt.Fprintf(w, "  proposed on branch %s (%s, %s)\n", res.Branch, res.State, res.Commit[:12])
	return true
}

func printUpdate(w io.Writer, u Update) {
	switch {
	case len(u.Bumps) == 0:
		fmt.Fprintf(w, "%s: up to date\n", u.App)
	case u.ToVersion != "":
		fmt.Fprintf(w, "%s %s → %s", u.App, u.FromVersion, u.ToVersion)
		var links []string
		if u.Major {
			links = append(links, "major upgrade")
		}
		if u.Upgrade != nil {
			links = append(links, "upgrade notes: "+u.Upgrade.Notes)
		}
		if u.Changelog != "" {
			links = append(links, "release notes: "+u.Changelog)
		}
		if len(links) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(links, "; "))
		}
		fmt.Fprintln(w)
	case u.Major:
		fmt.Fprintf(w, "%s (major upgrade)\n", u.App)
	default:
		fmt.Fprintf(w, "%s\n", u.App)
	}
	for _, b := range u.Bumps {
		fmt.Fprintf(w, "  %-16s %s:%s → %s@%s\n", b.Service, b.Image, b.FromTag, b.ToTag, b.Digest)
	}
	for _, n := range u.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// summary counts the apps with updates; majors is how many of the updates are major
// upgrades, each proposed on a branch of its own.
func summary(w io.Writer, found, majors int, dryRun bool) {
	what := plural(found, "app") + " with updates"
	if majors > 0 {
		what += fmt.Sprintf(" (%s)", plural(majors, "major upgrade"))
	}
	branches := "each on its branch catalog/bump-<app>"
	if majors > 0 {
		branches += ", major upgrades on catalog/major-<app>"
	}
	switch {
	case found == 0:
		fmt.Fprintln(w, "everything is up to date")
	case dryRun:
		fmt.Fprintf(w, "%s; dry run: nothing proposed\n", what)
	default:
		fmt.Fprintf(w, "%s, %s: review, merge, then nassella catalog lock\n", what, branches)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
