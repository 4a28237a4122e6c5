package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/terraform"
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
}

// Outcome is what an apply did.
type Outcome struct {
	Health     []health.Result
	RolledBack bool
	RolledTo   string
	Rollback   []health.Result
}

// Apply applies a reviewed plan, checks every app and, when a check fails, rolls back to
// the last good configuration. The data volume is never part of a rollback: it stays and is
// re-attached.
func Apply(ctx context.Context, e Env, opt ApplyOptions) (*Outcome, error) {
	opt, err := opt.readFiles()
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
	dir := filepath.Join(e.Dir, terraform.Dir)
	tf, err := e.tf(ctx, dir)
	if err != nil {
		return nil, err
	}
	if p.ReplacesServer {
		if err := e.backup(ctx, tf, opt); err != nil {
			return nil, err
		}
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

func (e Env) backup(ctx context.Context, tf *tfexec.Terraform, opt ApplyOptions) error {
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
	e.logf("backing up %s before it is rebuilt\n", ip)
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
// that commit's apps, then restores the working tree as it was.
func (e Env) rollback(ctx context.Context, opt ApplyOptions, out *Outcome) error {
	repo, err := git.PlainOpen(e.Dir)
	if err != nil {
		return fmt.Errorf("the site repo is not a git repo: %w", err)
	}
	rev, commit, err := lastGood(repo, opt.LastGood)
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
	p, err := MakePlan(ctx, e, filepath.Join(os.TempDir(), fmt.Sprintf("nassella-rollback-%d.tfplan", os.Getpid())))
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

func lastGood(repo *git.Repository, rev string) (string, *object.Commit, error) {
	candidates := []string{rev}
	if rev == "" {
		candidates = []string{"refs/tags/" + LastGoodTag, "HEAD~1"}
	}
	for _, c := range candidates {
		h, err := repo.ResolveRevision(plumbing.Revision(c))
		if err != nil {
			continue
		}
		commit, err := repo.CommitObject(*h)
		if err != nil {
			return "", nil, err
		}
		return strings.TrimPrefix(c, "refs/tags/"), commit, nil
	}
	return "", nil, fmt.Errorf("no last good configuration to roll back to (no %s tag, no earlier commit)", LastGoodTag)
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
		(path.Dir(p) == terraform.Dir && (strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tfvars")))
}

func swapIn(dir string, commit *object.Commit) (saved, error) {
	sv := saved{dir: dir, files: map[string][]byte{}}
	keep := func(p string) {
		if _, done := sv.files[p]; done {
			return
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
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
