package deploy

import (
	"context"
	"errors"
	"fmt"
	"github.com/nassella/nassella/internal/inputfile"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/terraform"
	sitetree "github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/siterepo"
)

// LastGoodTag marks the commit whose configuration last passed its health checks; CI
// pushes it after every good apply, and a failed apply rolls back to it.
const LastGoodTag = "nassella/last-good"

// Backuper takes a backup on the running server before it is replaced.
type Backuper interface {
	Backup(ctx context.Context, host string) error
}

// ApplyOptions configure an apply.
type ApplyOptions struct {
	Plan string // the plan file MakePlan saved
	// ExpectDigest, when set, must equal the plan's digest: the change reviewed on the pull
	// request is the change applied.
	ExpectDigest string
	Health       health.Options
	Backup       Backuper
	SkipBackup   bool   // replace the server without a backup (first boot or a broken host)
	LastGood     string // revision to roll back to; default LastGoodTag, then HEAD~1
	// CAFile, when set, is the only CA the health checks trust (tests, internal CAs).
	CAFile string
	// BackupKeyFile, when Backup is nil, is the private SSH key allowed to run the host's
	// backup command; BackupAddr overrides the server's IP:22 (tests).
	BackupKeyFile, BackupAddr string

	// RequireReview makes an empty ExpectDigest an error unless NoPR says the commit came
	// without a pull request (a direct push to main, which has nothing reviewed). CI sets
	// it, so a pull request whose plan comment is missing never applies unchecked.
	RequireReview, NoPR bool

	// Merge is how the commit reached main: a change that restarts the server and that
	// the update bot merged waits for the maintenance window (window.go). Now is the
	// clock it is checked against (time.Now when nil).
	Merge Merge
	Now   func() time.Time
}

// Outcome is what an apply did.
type Outcome struct {
	// Waiting, when set, says why nothing was applied: the change waits for the
	// maintenance window.
	Waiting    string
	Health     []health.Result
	RolledBack bool
	RolledTo   string
	Rollback   []health.Result
}

// CheckReview refuses an apply that would skip the review check by mistake. Apply calls
// it first; callers may call it before they prepare anything.
func (opt ApplyOptions) CheckReview() error {
	switch {
	case opt.NoPR && opt.ExpectDigest != "":
		return errors.New("a reviewed digest and --no-pr were both given: a commit comes either from a pull request or from a direct push; give one")
	case opt.RequireReview && !opt.NoPR && opt.ExpectDigest == "":
		return errors.New("no reviewed plan digest was given: the commit's pull request has no plan comment by the bot, so applying would skip the review; merge through a pull request whose plan was posted, or pass --no-pr for a direct push without one")
	}
	return nil
}

// Apply applies a reviewed plan, checks every app and, when a check fails, rolls back to
// the last good configuration. The data volume is never part of a rollback: it stays and is
// re-attached.
func Apply(ctx context.Context, e Env, opt ApplyOptions) (*Outcome, error) {
	if err := opt.CheckReview(); err != nil {
		return nil, err
	}
	opt, err := opt.readFiles(e.HostKey)
	if err != nil {
		return nil, err
	}
	p, err := ReadPlan(opt.Plan)
	if err != nil {
		return nil, err
	}
	inputs, err := InputsHash(e.Dir)
	if err != nil {
		return nil, err
	}
	if inputs != p.Inputs {
		return nil, errors.New("the plan is stale: terraform/ or host/ignition.json changed since it was made; make a new plan")
	}
	if opt.ExpectDigest != "" && opt.ExpectDigest != p.Digest {
		return nil, fmt.Errorf("the plan (digest %s) is not the reviewed one (digest %s): the infrastructure or configuration changed since review; review the new plan", p.Digest, opt.ExpectDigest)
	}
	s, err := e.LoadSite()
	if err != nil {
		return nil, err
	}
	if err := e.checkStateKept(s); err != nil {
		return nil, err
	}
	if wait, err := e.waiting(opt, p, s); err != nil || wait != "" {
		return &Outcome{Waiting: wait}, err
	}
	dir := filepath.Join(e.Dir, terraform.Dir)
	tf, err := e.tf(ctx, dir)
	if err != nil {
		return nil, err
	}
	// A move backs up the old server, whose address the state's outputs still give, and the
	// new one restores that backup (restore_snapshot "latest", generator/render/terraform).
	if p.ReplacesServer || p.Moves {
		if err := e.backup(ctx, tf, opt, p.Moves); err != nil {
			return nil, err
		}
	}
	if err := e.sendSettings(ctx, tf, opt, p); err != nil {
		return nil, err
	}
	if p.Retires {
		if err := e.unprotectPrevious(ctx, tf, p); err != nil {
			return nil, err
		}
	}
	if p.Moving && len(p.Changes) > 0 {
		return e.applyMove(ctx, tf, opt, p, s)
	}
	e.logf("applying %s (digest %s)\n", e.Dir, p.Digest)
	if err := tf.Apply(ctx, tfexec.DirOrPlan(p.File)); err != nil {
		return nil, fmt.Errorf("tofu apply: %w (nothing is rolled back automatically when apply itself fails; the state shows what was done)", err)
	}
	out := &Outcome{}
	e.logf("checking %d apps\n", len(s.Apps))
	out.Health = health.Check(ctx, siterepo.Targets(s), e.healthOptions(ctx, tf, opt.Health))
	failed := health.Failed(out.Health)
	if len(failed) == 0 {
		if err := markGood(e.Dir); err != nil {
			return out, fmt.Errorf("applied and healthy, but marking it good failed: %w", err)
		}
		e.logf("all apps healthy\n")
		return out, nil
	}
	var names []string
	for _, f := range failed {
		names = append(names, fmt.Sprintf("%s (%s: %s)", f.App, f.URL(), f.Last))
	}
	why := "unhealthy after the change: " + strings.Join(names, "; ")
	e.logf("%s\n", why)
	rerr := e.rollback(ctx, opt, out)
	if rerr != nil {
		return out, fmt.Errorf("%s; rolling back to the last good configuration failed too: %w", why, rerr)
	}
	return out, fmt.Errorf("%s; rolled back to %s, whose apps are healthy again", why, out.RolledTo)
}

// backup backs up the running server before it is rebuilt, or before the site moves
// (moves) to a new server that restores that backup.
func (e Env) backup(ctx context.Context, tf *tfexec.Terraform, opt ApplyOptions, moves bool) error {
	if opt.SkipBackup {
		e.logf("the server is rebuilt without a backup first (--skip-backup)\n")
		return nil
	}
	if opt.Backup == nil {
		return errors.New("the server will be rebuilt but no backup can be taken first: give the backup SSH key, or --skip-backup when the host is broken")
	}
	ip, err := outputString(ctx, tf, "ipv4_address")
	if err != nil {
		return fmt.Errorf("finding the server for its backup: %w", err)
	}
	if moves {
		e.logf("backing up %s before the site moves; the new server restores this backup\n", ip)
	} else {
		e.logf("backing up %s before it is rebuilt\n", ip)
	}
	if err := opt.Backup.Backup(ctx, ip); err != nil {
		return fmt.Errorf("the backup before the rebuild failed, so nothing was changed: %w", err)
	}
	return nil
}

func outputString(ctx context.Context, tf *tfexec.Terraform, name string) (string, error) {
	outs, err := tf.Output(ctx)
	if err != nil {
		return "", err
	}
	o, ok := outs[name]
	if !ok {
		return "", fmt.Errorf("no output %q yet", name)
	}
	var v string
	if err := jsonUnmarshal(o.Value, &v); err != nil {
		return "", err
	}
	return v, nil
}

// healthOptions sends the checks straight to the server's address unless told otherwise:
// right after a first apply, DNS may not have spread yet.
func (e Env) healthOptions(ctx context.Context, tf *tfexec.Terraform, opt health.Options) health.Options {
	if opt.Resolve != nil {
		return opt
	}
	if ip, err := outputString(ctx, tf, "ipv4_address"); err == nil && ip != "" {
		opt.Resolve = map[string]string{}
		s, err := e.LoadSite()
		if err == nil {
			for _, a := range s.Apps {
				opt.Resolve[a.Host] = net.JoinHostPort(ip, "443")
			}
		}
	}
	return opt
}

// rollback puts the last good commit's generated files in place, applies them and checks
// that commit's apps, then restores the working tree as it was. The site.yaml being applied
// keeps governing whether data may be destroyed: an old commit's danger_zone does not come
// back with it.
func (e Env) rollback(ctx context.Context, opt ApplyOptions, out *Outcome) error {
	repo, err := git.PlainOpen(e.Dir)
	if err != nil {
		return fmt.Errorf("the site repo is not a git repo: %w", err)
	}
	cur, err := e.LoadSite()
	if err != nil {
		return err
	}
	rev, commit, err := e.lastGood(repo, opt.LastGood)
	if err != nil {
		return err
	}
	out.RolledTo = rev
	e.logf("rolling back to %s (%s)\n", rev, commit.Hash.String()[:12])
	saved, err := swapIn(e.Dir, commit)
	if err != nil {
		return err
	}
	defer saved.restore()
	p, err := makePlan(ctx, e, filepath.Join(os.TempDir(), fmt.Sprintf("nassella-rollback-%d.tfplan", os.Getpid())), cur.Danger, nil)
	if err != nil {
		return fmt.Errorf("planning the rollback: %w", err)
	}
	defer os.Remove(p.File)
	defer os.Remove(p.File + ".json")
	e.logf("rollback: %s", Summarize(p).Text())
	tf, err := e.tf(ctx, filepath.Join(e.Dir, terraform.Dir))
	if err != nil {
		return err
	}
	if err := tf.Apply(ctx, tfexec.DirOrPlan(p.File)); err != nil {
		return fmt.Errorf("applying the rollback: %w", err)
	}
	out.RolledBack = true
	s, err := e.LoadSite()
	if err != nil {
		return err
	}
	out.Rollback = health.Check(ctx, siterepo.Targets(s), e.healthOptions(ctx, tf, opt.Health))
	if f := health.Failed(out.Rollback); len(f) > 0 {
		return fmt.Errorf("after the rollback %d apps are still unhealthy, e.g. %s: %s", len(f), f[0].App, f[0].Last)
	}
	return nil
}

// lastGood finds the commit to roll back to: rev when given, else the LastGoodTag when it
// is in HEAD's history (anyone who can push a tag could otherwise pick any commit, even
// one never merged), else HEAD~1.
func (e Env) lastGood(repo *git.Repository, rev string) (string, *object.Commit, error) {
	resolve := func(r string) (*object.Commit, error) {
		h, err := repo.ResolveRevision(plumbing.Revision(r))
		if err != nil {
			return nil, err
		}
		return repo.CommitObject(*h)
	}
	if rev != "" {
		c, err := resolve(rev)
		if err != nil {
			return "", nil, fmt.Errorf("the revision to roll back to, %s: %w", rev, err)
		}
		return rev, c, nil
	}
	head, err := resolve("HEAD")
	if err != nil {
		return "", nil, fmt.Errorf("no last good configuration to roll back to (no HEAD): %w", err)
	}
	if tag, err := resolve("refs/tags/" + LastGoodTag); err == nil {
		ok, err := tag.IsAncestor(head)
		if ok {
			return LastGoodTag, tag, nil
		}
		why := "which is not in the history of HEAD"
		if err != nil {
			why = fmt.Sprintf("which could not be found in the history of HEAD (%v)", err)
		}
		e.logf("warning: the %s tag points at %s, %s (%s): ignored; delete or move the tag (git push origin :refs/tags/%s) and check who pushed it\n",
			LastGoodTag, tag.Hash.String()[:12], why, head.Hash.String()[:12], LastGoodTag)
	}
	if c, err := resolve("HEAD~1"); err == nil {
		return "HEAD~1", c, nil
	}
	return "", nil, fmt.Errorf("no last good configuration to roll back to (no %s tag in the history of HEAD, no earlier commit)", LastGoodTag)
}

// saved holds the working tree's files a rollback replaced.
type saved struct {
	dir   string
	files map[string][]byte // nil: the file did not exist
}

func (s saved) restore() {
	for p, data := range s.files {
		full := filepath.Join(s.dir, filepath.FromSlash(p))
		if data == nil {
			os.Remove(full)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, data, 0o644)
	}
}

// rolledBack are the paths a rollback takes from the last good commit: what OpenTofu reads,
// and site.yaml, which names the apps to check.
func rolledBack(p string) bool {
	return p == siterepo.SiteFile || p == butane.IgnitionPath ||
		(path.Dir(p) == terraform.Dir && TofuReads(path.Base(p)))
}

func swapIn(dir string, commit *object.Commit) (saved, error) {
	sv := saved{dir: dir, files: map[string][]byte{}}
	keep := func(p string) {
		if _, done := sv.files[p]; done {
			return
		}
		data, err := inputfile.ReadIn(dir, filepath.FromSlash(p))
		if err != nil {
			data = nil
		}
		sv.files[p] = data
	}
	// Current files that the old commit does not have must go for the rollback.
	cur, _ := filepath.Glob(filepath.Join(dir, terraform.Dir, "*"))
	tree, err := commit.Tree()
	if err != nil {
		return sv, err
	}
	old := map[string][]byte{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if !rolledBack(f.Name) {
			return nil
		}
		content, err := f.Contents()
		old[f.Name] = []byte(content)
		return err
	})
	if err != nil {
		return sv, err
	}
	if len(old) == 0 {
		return sv, fmt.Errorf("commit %s has no generated configuration", commit.Hash)
	}
	// A symbolic link in the checkout would take the reads, writes and removals below out of it.
	for _, p := range append([]string{terraform.Dir}, slices.Sorted(maps.Keys(old))...) {
		if err := sitetree.Confined(dir, p); err != nil {
			return sv, fmt.Errorf("rolling back to %s: %w", commit.Hash, err)
		}
	}
	if err := onlyGenerated(tree, commit, old); err != nil {
		return sv, err
	}
	for _, full := range cur {
		rel, _ := filepath.Rel(dir, full)
		rel = filepath.ToSlash(rel)
		if _, inOld := old[rel]; rolledBack(rel) && !inOld {
			keep(rel)
			os.Remove(full)
		}
	}
	names := make([]string, 0, len(old))
	for p := range old {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		keep(p)
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			sv.restore()
			return sv, err
		}
		if err := os.WriteFile(full, old[p], 0o644); err != nil {
			sv.restore()
			return sv, err
		}
	}
	return sv, nil
}

// onlyGenerated refuses to roll back to a commit whose files OpenTofu reads include one its
// nassella.lock does not list: it was not generated, and may have slipped in before
// validate refused such files.
func onlyGenerated(tree *object.Tree, commit *object.Commit, files map[string][]byte) error {
	f, err := tree.File(generator.LockPath)
	if err != nil {
		return fmt.Errorf("commit %s has no %s, so what it generated is unknown; roll back by hand (git revert) instead: %w", commit.Hash, generator.LockPath, err)
	}
	data, err := f.Contents()
	if err != nil {
		return err
	}
	lock, err := generator.ParseLock([]byte(data))
	if err != nil {
		return fmt.Errorf("commit %s: %w", commit.Hash, err)
	}
	var extra []string
	for p := range files {
		if _, ok := lock.Files[p]; !ok && p != siterepo.SiteFile {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("commit %s holds %s, which nassella did not generate (its %s does not list them): rolling back to it is refused; roll back by hand (git revert) instead",
			commit.Hash, strings.Join(extra, ", "), generator.LockPath)
	}
	return nil
}

// markGood points LastGoodTag at HEAD.
func markGood(dir string) error {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil // not a git checkout: nothing to mark
	}
	if err != nil {
		return err
	}
	head, err := repo.Head()
	if err != nil {
		return err
	}
	_ = repo.DeleteTag(LastGoodTag)
	_, err = repo.CreateTag(LastGoodTag, head.Hash(), nil)
	return err
}
