// Package update is the update bot: for a catalog release it brings every site repo of
// the fleet on the release's channel to that release through one reviewed pull request
// per repo, on GitHub, Gitea or Forgejo. It clones, regenerates with the generator the
// CLI uses, and only when the files change pushes one bot commit to
// nassella/catalog-<release> and opens (or refreshes) the pull request. Runs are
// idempotent: a second run, or one after an interruption, finishes the work without
// duplicating a commit, a pull request or a comment.
package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// BranchPrefix starts every bot branch; the release follows.
const BranchPrefix = "nassella/catalog-"

// Label marks the bot's pull requests.
const Label = "nassella-update"

// Options say what to update.
type Options struct {
	Fleet   *fleet.Fleet
	Catalog *catalog.Release // the release to move to
	// CatalogDir is the folder Catalog was read from; its evidence/<release>/vmtest.json,
	// when there is one, is summarized in the pull requests.
	CatalogDir string
	// Channel selects the sites to update; the catalog's own channel when empty.
	Channel  string
	Parallel int       // sites at once; 4 when 0
	Progress io.Writer // a line per site as it finishes; nothing when nil
	// Getenv reads the tokens' environment variables; os.Getenv when nil.
	Getenv func(string) string
	Forge  forge.Options
	// WorkDir holds the clones while they are worked on; the system's temp folder when
	// empty. Each clone is removed when its site is done.
	WorkDir string
	Now     func() time.Time
}

// Outcomes of a site.
const (
	Unchanged  = "unchanged"    // regenerating changes nothing: no branch, no pull request
	Opened     = "opened"       // a new pull request
	Refreshed  = "refreshed"    // the bot's pull request got a new commit or text
	UpToDate   = "up-to-date"   // the bot's pull request already holds exactly this
	HumanHeld  = "human-commit" // someone pushed to the bot's branch: left alone, commented
	Skipped    = "skipped"      // not on the channel, or on a newer release already
	Failed     = "failed"
	AlreadyNew = "newer-pr" // a bot pull request for a newer release is open
)

// Result is what happened to one site.
type Result struct {
	Site      string
	Repo      string
	Outcome   string
	PR        int
	PRURL     string
	Closed    []int // older bot pull requests closed in favour of this one
	Commit    string
	Pushed    bool
	AutoMerge forge.AutoMergeResult
	APICalls  int64
	Duration  time.Duration
	Note      string
	Err       error
}

// Run updates every site of the fleet on the channel. It returns the results in fleet
// order, and an error when any site failed.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Fleet == nil || opts.Catalog == nil {
		return nil, errors.New("update: a fleet and a catalog are needed")
	}
	if opts.Channel == "" {
		opts.Channel = opts.Catalog.Channel
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ev, err := evidence(opts.CatalogDir, opts.Catalog.Release)
	if err != nil {
		return nil, fmt.Errorf("the release's evidence: %w (fix or remove the file)", err)
	}
	sites := opts.Fleet.Sites
	results := make([]Result, len(sites))
	var todo []int
	for i, s := range sites {
		results[i] = Result{Site: s.Name, Repo: s.Repo}
		if s.Channel != opts.Channel {
			results[i].Outcome = Skipped
			results[i].Note = "follows " + s.Channel
			continue
		}
		todo = append(todo, i)
	}
	var mu sync.Mutex
	done := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opts.Parallel && w < len(todo); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				start := time.Now()
				r := updateSite(ctx, opts, sites[i], ev)
				r.Duration = time.Since(start)
				if r.Err != nil {
					r.Outcome = Failed
				}
				mu.Lock()
				results[i] = r
				done++
				if opts.Progress != nil {
					fmt.Fprintf(opts.Progress, "[%d/%d] %s\n", done, len(todo), r.line())
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var failed []string
	for _, r := range results {
		if r.Outcome == Failed {
			failed = append(failed, r.Site)
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d of %d sites failed (%s); fix what their lines say and run again: sites already done are left as they are",
			len(failed), len(todo), strings.Join(failed, ", "))
	}
	return results, nil
}

func (r Result) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Site, r.Outcome)
	if r.PR != 0 {
		fmt.Fprintf(&b, " #%d %s", r.PR, r.PRURL)
	}
	if len(r.Closed) > 0 {
		fmt.Fprintf(&b, ", closed %s", prList(r.Closed))
	}
	if r.AutoMerge != "" {
		fmt.Fprintf(&b, ", auto-merge %s", r.AutoMerge)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, " (%s)", r.Note)
	}
	if r.Err != nil {
		fmt.Fprintf(&b, ": %v", r.Err)
	}
	fmt.Fprintf(&b, " [%d API calls, %s]", r.APICalls, r.Duration.Round(time.Millisecond))
	return b.String()
}

func prList(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprintf("#%d", n))
	}
	return strings.Join(s, " ")
}

// Summary writes the results as a table.
func Summary(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tREPO\tRESULT\tPULL REQUEST\tAPI CALLS\tTIME\tNOTE")
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Outcome]++
		pr := "-"
		if r.PR != 0 {
			pr = fmt.Sprintf("#%d", r.PR)
		}
		note := r.Note
		if r.Err != nil {
			note = firstLine(r.Err.Error())
		}
		if len(r.Closed) > 0 {
			note = strings.TrimSpace("closed " + prList(r.Closed) + " " + note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Site, r.Repo, r.Outcome, pr, r.APICalls, r.Duration.Round(time.Millisecond), note)
	}
	tw.Flush()
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	fmt.Fprintf(w, "%d sites: %s\n", len(results), strings.Join(parts, ", "))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// updateSite does one site. Every error names the site's repo and what to do.
func updateSite(ctx context.Context, opts Options, s fleet.Site, ev string) (res Result) {
	res = Result{Site: s.Name, Repo: s.Repo}
	release := opts.Catalog.Release
	branch := BranchPrefix + release
	token := opts.Getenv(s.TokenEnv)
	if token == "" {
		res.Err = fmt.Errorf("the environment variable %s is empty; set it to the bot's token for %s", s.TokenEnv, s.Repo)
		return res
	}
	auth := &githttp.BasicAuth{Username: "nassella-bot", Password: token}
	dir, err := os.MkdirTemp(opts.WorkDir, "nassella-update-"+unsafeName.ReplaceAllString(s.Name, "_")+"-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.RemoveAll(dir)

	// 1. A shallow clone of the branch the site deploys from.
	co := &git.CloneOptions{URL: s.CloneURL(), Auth: auth, Depth: 1, SingleBranch: true, Tags: git.NoTags}
	if s.Branch != "" {
		co.ReferenceName = plumbing.NewBranchReferenceName(s.Branch)
	}
	repo, err := git.PlainCloneContext(ctx, dir, false, co)
	if err != nil {
		res.Err = gitErr("cloning "+s.CloneURL(), err, token)
		return res
	}
	head, err := repo.Head()
	if err != nil {
		res.Err = fmt.Errorf("%s has no commits on its branch: %v; push the generated site first", s.Repo, err)
		return res
	}
	baseBranch := head.Name().Short()

	// 2. Regenerate with the release, as nassella generate --update-catalog does.
	data, err := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if err != nil {
		res.Err = fmt.Errorf("%s has no site.yaml on %s: %v", s.Repo, baseBranch, err)
		return res
	}
	lock, err := generator.ReadLock(dir)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", s.Repo, err)
		return res
	}
	if lock != nil && newer(lock.Catalog, release) {
		res.Outcome, res.Note = Skipped, "already on catalog "+lock.Catalog
		return res
	}
	loaded, err := site.Load(s.Repo+":site.yaml", data, opts.Catalog)
	if err != nil {
		res.Err = fmt.Errorf("the site.yaml of %s does not load with catalog %s; the owner must fix it (or the catalog must keep what it uses):\n%w", s.Repo, release, err)
		return res
	}
	t, err := generator.Generate(loaded, opts.Catalog)
	if err != nil {
		res.Err = fmt.Errorf("generating %s with catalog %s: %w", s.Repo, release, err)
		return res
	}
	written, err := t.Write(dir, lock.Owned())
	if err != nil {
		res.Err = fmt.Errorf("regenerating %s: %w", s.Repo, err)
		return res
	}
	if len(written.Written) == 0 && len(written.Removed) == 0 {
		res.Outcome = Unchanged
		return res
	}
	if newLock, _ := t.Get(generator.LockPath); OnlyPinMoves(lock, written, newLock.Data) {
		// Nothing on the server would change: a pull request would only be noise.
		res.Outcome, res.Note = Unchanged, "only the catalog pin would move"
		return res
	}

	// 3. One bot commit on top of the base.
	wt, err := repo.Worktree()
	if err != nil {
		res.Err = err
		return res
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		res.Err = fmt.Errorf("staging the regenerated files of %s: %w", s.Repo, err)
		return res
	}
	ch := changes(lock, loaded, opts.Catalog)
	oldRelease := ""
	if lock != nil {
		oldRelease = lock.Catalog
	}
	title := prTitle(release, ch)
	body := prBody(bodyInput{Site: loaded, OldRelease: oldRelease, Release: release, Changes: ch,
		Written: len(written.Written), Removed: len(written.Removed), Evidence: ev})
	bot := opts.Fleet.Bot
	sig := &object.Signature{Name: bot.Name, Email: bot.Email, When: opts.Now()}
	commit, err := wt.Commit(title+"\n\nRegenerated by the nassella update bot with catalog "+release+".\n",
		&git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		res.Err = fmt.Errorf("committing in %s: %w", s.Repo, err)
		return res
	}
	ours, err := repo.CommitObject(commit)
	if err != nil {
		res.Err = err
		return res
	}
	res.Commit = commit.String()

	// 4. Compare with the bot's branch on the forge, if there is one.
	remote, err := repo.Remote("origin")
	if err != nil {
		res.Err = err
		return res
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		res.Err = gitErr("listing the branches of "+s.CloneURL(), err, token)
		return res
	}
	branchRef := plumbing.NewBranchReferenceName(branch)
	var remoteHead plumbing.Hash
	for _, r := range refs {
		if r.Name() == branchRef {
			remoteHead = r.Hash()
		}
	}
	human := ""
	push := true
	if !remoteHead.IsZero() {
		theirs, err := fetchCommit(ctx, repo, auth, branchRef, remoteHead)
		if err != nil {
			res.Err = gitErr("fetching "+branch+" of "+s.CloneURL(), err, token)
			return res
		}
		switch {
		case !strings.EqualFold(theirs.Author.Email, bot.Email) || !strings.EqualFold(theirs.Committer.Email, bot.Email):
			human = remoteHead.String()
			push = false
		case theirs.TreeHash == ours.TreeHash && len(theirs.ParentHashes) == 1 && theirs.ParentHashes[0] == head.Hash():
			push = false
			res.Commit = remoteHead.String()
		}
	}
	if push {
		rs := config.RefSpec(commit.String() + ":" + branchRef.String())
		po := &git.PushOptions{RemoteName: "origin", Auth: auth, RefSpecs: []config.RefSpec{rs}}
		if !remoteHead.IsZero() {
			// Replace only the bot's own commit: if someone pushed meanwhile, the lease fails.
			po.RefSpecs = []config.RefSpec{config.RefSpec("+" + string(rs))}
			po.ForceWithLease = &git.ForceWithLease{RefName: branchRef, Hash: remoteHead}
		}
		if err := repo.PushContext(ctx, po); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			res.Err = gitErr("pushing "+branch+" to "+s.CloneURL(), err, token)
			return res
		}
		res.Pushed = true
	}

	// 5. The pull request.
	fc, err := forge.New(s.Forge, s.APIURL(), s.Owner(), s.RepoName(), token, opts.Forge)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", s.Repo, err)
		return res
	}
	defer func() { res.APICalls = fc.Calls() }()
	prs, err := fc.OpenPRs(ctx)
	if err != nil {
		res.Err = err
		return res
	}
	var mine *forge.PR
	var older []forge.PR
	for i, p := range prs {
		if !strings.HasPrefix(p.Head, BranchPrefix) {
			continue
		}
		r := strings.TrimPrefix(p.Head, BranchPrefix)
		switch {
		case r == release:
			mine = &prs[i]
		case newer(r, release):
			res.Outcome, res.PR, res.PRURL = AlreadyNew, p.Number, p.URL
			res.Note = "a pull request for the newer catalog " + r + " is open; nothing done"
			return res
		default:
			older = append(older, p)
		}
	}
	if human != "" {
		res.Outcome = HumanHeld
		res.Note = fmt.Sprintf("%s holds commit %s by someone else; the bot left it alone", branch, human[:12])
		if mine == nil {
			res.Note += " (its pull request is closed)"
			return res
		}
		res.PR, res.PRURL = mine.Number, mine.URL
		note := fmt.Sprintf("<!-- nassella-human-commit %s -->", human)
		if strings.Contains(mine.Body, note) {
			return res
		}
		msg := fmt.Sprintf("The nassella update bot did not update this branch: its newest commit (%s) was not made by the bot, and the bot never overwrites someone's work.\n\n"+
			"To let the bot take over again, delete the branch `%s` (or close this pull request); the next run opens a fresh one. To keep your change instead, put it into `site.yaml` on `%s` — the generated files are rewritten for every release.",
			human[:12], branch, mine.Base)
		if err := fc.Comment(ctx, mine.Number, msg); err != nil {
			res.Err = err
			return res
		}
		if err := fc.EditPR(ctx, mine.Number, mine.Title, mine.Body+"\n"+note+"\n"); err != nil {
			res.Err = err
		}
		return res
	}
	switch {
	case mine == nil:
		pr, err := fc.CreatePR(ctx, forge.NewPR{Title: title, Body: body, Head: branch, Base: baseBranch})
		if err != nil {
			res.Err = err
			return res
		}
		mine = &pr
		res.Outcome = Opened
	default:
		res.Outcome = UpToDate
		if res.Pushed {
			res.Outcome = Refreshed
		}
		if mine.Title != title || strings.TrimSpace(mine.Body) != strings.TrimSpace(body) {
			if err := fc.EditPR(ctx, mine.Number, title, body); err != nil {
				res.Err = err
				return res
			}
			res.Outcome = Refreshed
		}
	}
	res.PR, res.PRURL = mine.Number, mine.URL
	if !contains(mine.Labels, Label) {
		if err := fc.AddLabels(ctx, mine.Number, []string{Label}); err != nil {
			res.Err = err
			return res
		}
	}
	for _, p := range older {
		msg := fmt.Sprintf("Superseded by #%d, which moves this site to catalog %s. The nassella update bot closed this one; merging the new pull request brings everything this one had.", mine.Number, release)
		if err := fc.Comment(ctx, p.Number, msg); err != nil {
			res.Err = err
			return res
		}
		if err := fc.ClosePR(ctx, p.Number); err != nil {
			res.Err = err
			return res
		}
		res.Closed = append(res.Closed, p.Number)
	}
	if loaded.Updates.Automerge && !mine.AutoMerge {
		am, err := fc.EnableAutoMerge(ctx, *mine)
		if err != nil {
			res.Err = err
			return res
		}
		res.AutoMerge = am
	}
	return res
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fetchCommit fetches the tip of one remote branch (shallow) and returns its commit.
func fetchCommit(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, ref plumbing.ReferenceName, want plumbing.Hash) (*object.Commit, error) {
	local := plumbing.ReferenceName("refs/remotes/origin/" + strings.TrimPrefix(ref.String(), "refs/heads/"))
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Depth: 1, Tags: git.NoTags,
		RefSpecs: []config.RefSpec{config.RefSpec("+" + ref.String() + ":" + local.String())}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, err
	}
	return repo.CommitObject(want)
}

// gitErr words a git failure, with the token cut out should a library ever echo it.
func gitErr(what string, err error, token string) error {
	msg := err.Error()
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[token]")
	}
	hint := ""
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		hint = "; check that the token is valid and may push to the repo"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		hint = "; check the repo and url in fleet.yaml, and that the token can see the repo"
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		hint = "; push the generated site to it first"
	}
	return fmt.Errorf("%s: %s%s", what, msg, hint)
}

// Bot is the update bot as the catalog promotion wants it (catalogops.UpdateBot): told
// of a promotion, it updates the fleet's sites on the promoted channel.
type Bot struct {
	Fleet      *fleet.Fleet
	CatalogDir string
	Parallel   int
	Out        io.Writer
}

// Promoted runs the update for a promoted release.
func (b Bot) Promoted(ctx context.Context, p catalogops.Promotion) error {
	cat, err := catalog.Load(os.DirFS(b.CatalogDir))
	if err != nil {
		return fmt.Errorf("catalog %s: %w", b.CatalogDir, err)
	}
	if cat.Release != p.Release {
		return fmt.Errorf("catalog %s holds release %s, not the promoted %s; check out the release's commit", b.CatalogDir, cat.Release, p.Release)
	}
	res, err := Run(ctx, Options{Fleet: b.Fleet, Catalog: cat, CatalogDir: b.CatalogDir, Channel: p.Channel, Parallel: b.Parallel, Progress: b.Out})
	if b.Out != nil {
		Summary(b.Out, res)
	}
	return err
}

var _ catalogops.UpdateBot = Bot{}

// OnlyPinMoves reports whether a regeneration changed nothing but the catalog release
// recorded in nassella.lock: the release did not touch this site's apps or host.
func OnlyPinMoves(old *generator.Lock, written tree.Result, newLock []byte) bool {
	if old == nil || len(written.Removed) > 0 || len(written.Written) != 1 || written.Written[0] != generator.LockPath {
		return false
	}
	var next generator.Lock
	if err := yaml.Unmarshal(newLock, &next); err != nil {
		return false
	}
	prev := *old
	prev.Catalog = next.Catalog
	return reflect.DeepEqual(prev, next)
}
