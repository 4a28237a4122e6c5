// Package update is the update bot: for a catalog release it brings every site repo of
// the fleet on the release's channel to that release through one reviewed pull request
// per repo, on GitHub, Gitea or Forgejo; a site whose site.yaml has updates.plan: os-only
// gets none (plan.go), unless its server type can no longer be ordered (servertype.go,
// which also moves a full-plan site off such a type). It clones, regenerates with the
// generator the CLI uses, and only when the files change pushes one bot commit to
// nassella/catalog-<release> and opens (or refreshes) the pull request. Runs are
// idempotent: a second run, or one after an interruption, finishes the work without
// duplicating a commit, a pull request or a comment.
package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// BranchPrefix starts every bot branch; the release follows.
const BranchPrefix = forge.UpdateBranchPrefix

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
	// Trace, when set, is told how long each step of a site took (the benchmark sums
	// them to show where a run waits). It is called from several goroutines at once.
	Trace func(site, step string, took time.Duration)
}

// Outcomes of a site.
const (
	Unchanged  = "unchanged"    // regenerating changes nothing: no branch, no pull request
	Opened     = "opened"       // a new pull request
	Refreshed  = "refreshed"    // the bot's pull request got a new commit or text
	UpToDate   = "up-to-date"   // the bot's pull request already holds exactly this
	HumanHeld  = "human-commit" // someone pushed to the bot's branch: left alone, commented
	Skipped    = "skipped"      // not on the channel, on a newer release already, or on the os-only plan
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
	// APICalls counts the site's requests; the run's one look-up of the bot's login per
	// forge is not in them.
	APICalls int64
	Duration time.Duration
	Note     string
	Err      error
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
	ids := &logins{}
	fanOut(todo, opts.Parallel, func(i int) {
		start := time.Now()
		r := updateSite(ctx, opts, sites[i], ev, ids)
		r.Duration = time.Since(start)
		if r.Err != nil {
			r.Outcome = Failed
		}
		mu.Lock()
		defer mu.Unlock()
		results[i] = r
		done++
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "[%d/%d] %s\n", done, len(todo), r.line())
		}
	})
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

// fanOut calls do for every item of todo, parallel at once, and returns when all are done.
func fanOut(todo []int, parallel int, do func(int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < parallel && w < len(todo); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				do(i)
			}
		}()
	}
	for _, i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
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

// updateSite does one site, step by step: clone, regenerate, commit, reconcile the bot's
// branch, then the pull request. Every error names the site's repo and what to do.
func updateSite(ctx context.Context, opts Options, s fleet.Site, ev string, ids *logins) (res Result) {
	res = Result{Site: s.Name, Repo: s.Repo}
	token := opts.Getenv(s.TokenEnv)
	if token == "" {
		res.Err = fmt.Errorf("the environment variable %s is empty; set it to the bot's token for %s", s.TokenEnv, s.Repo)
		return res
	}
	dir, err := os.MkdirTemp(opts.WorkDir, "nassella-update-"+unsafeName.ReplaceAllString(s.Name, "_")+"-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.RemoveAll(dir)
	j := &job{opts: opts, site: s, token: token, logins: ids, dir: dir, branch: BranchPrefix + opts.Catalog.Release}
	if res.Err = j.clone(ctx); res.Err != nil {
		return res
	}
	gen, err := j.regenerate(ev)
	if err != nil || gen.outcome != "" {
		res.Outcome, res.Note, res.Err = gen.outcome, gen.note, err
		return res
	}
	ours, err := j.commit(gen)
	if err != nil {
		res.Err = err
		return res
	}
	br, err := j.reconcileBranch(ctx, ours, gen.siteOnly)
	if err != nil {
		res.Commit, res.Err = ours.Hash.String(), err
		return res
	}
	res.Commit, res.Pushed = br.commit, br.pushed
	fc, err := forge.New(s.Forge, s.APIURL(), s.Owner(), s.RepoName(), token, opts.Forge)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", s.Repo, err)
		return res
	}
	defer func() { res.APICalls = fc.Calls() }()
	j.pullRequest(ctx, fc, gen, br, &res)
	return res
}

// job is the work on one site's clone.
type job struct {
	opts   Options
	site   fleet.Site
	token  string
	logins *logins // the run's, shared by its sites
	dir    string  // the clone
	branch string  // the bot's branch for the release

	repo       *git.Repository
	base       plumbing.Hash // the tip of the branch the site deploys from
	baseBranch string
}

// timed tells Options.Trace how long step took since start: defer j.timed("clone", time.Now()).
func (j *job) timed(step string, start time.Time) {
	if j.opts.Trace != nil {
		j.opts.Trace(j.site.Name, step, time.Since(start))
	}
}

// clone makes a shallow clone of the branch the site deploys from.
func (j *job) clone(ctx context.Context) error {
	defer j.timed("clone", time.Now())
	repo, err := gitx.Clone(ctx, j.dir, j.site.CloneURL(), j.site.Branch, j.token)
	if err != nil {
		return err
	}
	head, err := repo.Head()
	if err != nil {
		return fmt.Errorf("%s has no commits on its branch: %v; push the generated site first", j.site.Repo, err)
	}
	j.repo, j.base, j.baseBranch = repo, head.Hash(), head.Name().Short()
	return nil
}

// generated is the clone regenerated with the release, and the pull request that
// describes it; outcome is set when there is nothing to propose.
type generated struct {
	outcome, note string
	loaded        *site.Loaded
	title, body   string
	// siteOnly: the pull request changes site.yaml alone (an os-only site's move off a
	// withdrawn server type, servertype.go).
	siteOnly bool
}

// regenerate rewrites the clone with the release, as nassella generate
// --update-catalog does.
func (j *job) regenerate(ev string) (generated, error) {
	defer j.timed("regenerate", time.Now())
	s, cat := j.site, j.opts.Catalog
	// The lock is read first: a repo on a newer release is left alone before its
	// site.yaml is loaded against an older catalog.
	lock, err := generator.ReadLock(j.dir)
	if err != nil {
		return generated{}, fmt.Errorf("%s: %w", s.Repo, err)
	}
	if lock != nil && newer(lock.Catalog, cat.Release) {
		return generated{outcome: Skipped, note: "already on catalog " + lock.Catalog}, nil
	}
	move, err := j.moveServerType()
	if err != nil {
		return generated{}, err
	}
	if note, ok := j.osOnly(lock); ok {
		if move != nil {
			return j.typeOnly(move), nil
		}
		return generated{outcome: Skipped, note: note}, nil
	}
	r, err := siterepo.Open(j.dir, siterepo.Options{Catalog: cat, MoveCatalog: true, Name: s.Repo + ":" + siterepo.SiteFile})
	if errors.Is(err, fs.ErrNotExist) {
		return generated{}, fmt.Errorf("%s has no %s on %s; push the site to it (nassella init makes one)", s.Repo, siterepo.SiteFile, j.baseBranch)
	}
	if err != nil {
		return generated{}, fmt.Errorf("the site.yaml of %s does not load with catalog %s; the owner must fix it (or the catalog must keep what it uses):\n%w", s.Repo, cat.Release, err)
	}
	t, err := r.Generate()
	if err != nil {
		return generated{}, fmt.Errorf("generating %s with catalog %s: %w", s.Repo, cat.Release, err)
	}
	written, err := r.Write(t)
	if err != nil {
		return generated{}, fmt.Errorf("regenerating %s: %w", s.Repo, err)
	}
	if len(written.Written) == 0 && len(written.Removed) == 0 && move == nil {
		return generated{outcome: Unchanged}, nil
	}
	if newLock, _ := t.Get(generator.LockPath); move == nil && OnlyPinMoves(r.Lock, written, newLock.Data) {
		// Nothing on the server would change: a pull request would only be noise.
		return generated{outcome: Unchanged, note: "only the catalog pin would move"}, nil
	}
	ch := changes(r.Lock, r.Site, cat)
	oldRelease := ""
	if r.Lock != nil {
		oldRelease = r.Lock.Catalog
	}
	title := prTitle(cat.Release, ch)
	if move != nil && len(ch) == 0 {
		title = "nassella: " + typeTitle(move) // the release brings the site nothing else worth naming
	} else if move != nil {
		title += "; " + typeTitle(move)
	}
	return generated{loaded: r.Site, title: title,
		body: prBody(bodyInput{Site: r.Site, OldRelease: oldRelease, Release: cat.Release, Changes: ch,
			Written: len(written.Written), Removed: len(written.Removed), Evidence: ev, Move: move})}, nil
}

// commit makes one bot commit of the regenerated files on top of the base.
func (j *job) commit(gen generated) (*object.Commit, error) {
	defer j.timed("commit", time.Now())
	wt, err := j.repo.Worktree()
	if err != nil {
		return nil, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return nil, fmt.Errorf("staging the regenerated files of %s: %w", j.site.Repo, err)
	}
	bot := gitx.Identity{Name: j.opts.Fleet.Bot.Name, Email: j.opts.Fleet.Bot.Email}
	h, err := gitx.Commit(wt, gen.title+"\n\nRegenerated by the nassella update bot with catalog "+j.opts.Catalog.Release+".\n", bot, j.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("committing in %s: %w", j.site.Repo, err)
	}
	return j.repo.CommitObject(h)
}

// branchState is the bot's branch on the forge after reconciling it with our commit.
type branchState struct {
	commit string // the commit the branch holds for the release
	pushed bool
	human  string // a commit someone else made on the branch, which the bot left alone
}

// reconcileBranch compares our commit with the bot's branch on the forge and pushes it
// unless the branch already holds the same change or someone else's commit.
func (j *job) reconcileBranch(ctx context.Context, ours *object.Commit, siteOnly bool) (branchState, error) {
	remote, err := j.repo.Remote("origin")
	if err != nil {
		return branchState{}, err
	}
	listed := time.Now()
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: gitx.Auth(j.token)})
	j.timed("list branches", listed)
	if err != nil {
		return branchState{}, gitx.Error("listing the branches of "+j.site.CloneURL(), err, j.token)
	}
	ref := plumbing.NewBranchReferenceName(j.branch)
	var theirs plumbing.Hash
	for _, r := range refs {
		if r.Name() == ref {
			theirs = r.Hash()
		}
	}
	if !theirs.IsZero() {
		tip, err := j.fetchCommit(ctx, ref, theirs)
		if err != nil {
			return branchState{}, gitx.Error("fetching "+j.branch+" of "+j.site.CloneURL(), err, j.token)
		}
		bot := j.opts.Fleet.Bot.Email
		switch {
		case !strings.EqualFold(tip.Author.Email, bot) || !strings.EqualFold(tip.Committer.Email, bot):
			return branchState{commit: ours.Hash.String(), human: theirs.String()}, nil
		case tip.TreeHash == ours.TreeHash && len(tip.ParentHashes) == 1 && tip.ParentHashes[0] == j.base:
			return branchState{commit: theirs.String()}, nil
		case siteOnly && sameSiteFile(tip, ours):
			// The site's check regenerated the files on top of the bot's site.yaml.
			return branchState{commit: theirs.String()}, nil
		}
	}
	// Replace only the bot's own commit: if someone pushed meanwhile, the lease fails.
	defer j.timed("push", time.Now())
	if err := gitx.PushLease(ctx, j.repo, "origin", ref, ours.Hash, theirs, j.token); err != nil {
		return branchState{}, err
	}
	return branchState{commit: ours.Hash.String(), pushed: true}, nil
}

// fetchCommit fetches the tip of one remote branch (shallow) and returns its commit.
func (j *job) fetchCommit(ctx context.Context, ref plumbing.ReferenceName, want plumbing.Hash) (*object.Commit, error) {
	local := plumbing.ReferenceName("refs/remotes/origin/" + ref.Short())
	err := j.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: gitx.Auth(j.token), Depth: 1, Tags: git.NoTags,
		RefSpecs: []config.RefSpec{config.RefSpec("+" + ref.String() + ":" + local.String())}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, err
	}
	return j.repo.CommitObject(want)
}

// openPRs sorts the repo's open bot pull requests: the one for this release, older
// ones it supersedes, and the first one for a newer release; and taken, a pull request
// someone else opened from the bot's own branch of this release.
type openPRs struct {
	mine  *forge.PR
	older []forge.PR
	newer *forge.PR
	taken *forge.PR
}

// botPRs picks the bot's pull requests out of prs. A branch name proves nothing:
// anyone who may open a pull request can name a fork's branch nassella/catalog-<release>.
// So a pull request is the bot's only when its branch is in the site repo itself and
// the bot's own login (the token's user) opened it; any other is never edited,
// labelled, merged, closed or taken as a newer release.
func botPRs(prs []forge.PR, repo, login, release string) openPRs {
	var o openPRs
	for i, p := range prs {
		if !forge.FromUpdateBranch(p.Head, p.HeadRepo, repo) {
			continue
		}
		r := strings.TrimPrefix(p.Head, BranchPrefix)
		if login == "" || !strings.EqualFold(p.Author, login) {
			if r == release {
				o.taken = &prs[i]
			}
			continue
		}
		switch {
		case r == release:
			o.mine = &prs[i]
		case newer(r, release):
			o.newer = &prs[i]
			return o
		default:
			o.older = append(o.older, p)
		}
	}
	return o
}

// candidates says whether any of prs is from a bot-named branch of repo itself: only
// then is the bot's login needed to tell whose it is.
func candidates(prs []forge.PR, repo string) bool {
	for _, p := range prs {
		if forge.FromUpdateBranch(p.Head, p.HeadRepo, repo) {
			return true
		}
	}
	return false
}

// logins are the bot's logins, looked up once per run for each forge and token (the
// token's user), and only when a site has pull requests to tell apart. The look-up's
// request is the run's, so it is not in any site's API calls.
type logins struct {
	mu sync.Mutex
	m  map[string]*login
}

type login struct {
	once  sync.Once
	login string
	err   error
}

func (l *logins) get(ctx context.Context, s fleet.Site, token string, opts forge.Options) (string, error) {
	key := s.Forge + " " + s.APIURL() + " " + token
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*login{}
	}
	e := l.m[key]
	if e == nil {
		e = &login{}
		l.m[key] = e
	}
	l.mu.Unlock()
	e.once.Do(func() {
		fc, err := forge.New(s.Forge, s.APIURL(), s.Owner(), s.RepoName(), token, opts)
		if err == nil {
			e.login, err = fc.User(ctx)
		}
		if err != nil {
			e.err = fmt.Errorf("reading the bot's own login, which tells its pull requests from others': %w; the token in %s must be allowed to read its user (on Gitea/Forgejo: the scope read:user)", err, s.TokenEnv)
		}
	})
	return e.login, e.err
}

// pullRequest brings the forge's pull requests in line with the branch: opens or
// refreshes the bot's, labels it, closes the ones it supersedes and asks for
// auto-merge; or, on a branch someone else holds, says so once.
func (j *job) pullRequest(ctx context.Context, fc forge.Client, gen generated, br branchState, res *Result) {
	release := j.opts.Catalog.Release
	listed := time.Now()
	prs, err := fc.OpenPRs(ctx)
	j.timed("list pull requests", listed)
	if err != nil {
		res.Err = err
		return
	}
	var me string
	if candidates(prs, j.site.Repo) {
		if me, err = j.logins.get(ctx, j.site, j.token, j.opts.Forge); err != nil {
			res.Err = err
			return
		}
	}
	o := botPRs(prs, j.site.Repo, me, release)
	if o.newer != nil {
		res.Outcome, res.PR, res.PRURL = AlreadyNew, o.newer.Number, o.newer.URL
		res.Note = "a pull request for the newer catalog " + strings.TrimPrefix(o.newer.Head, BranchPrefix) + " is open; nothing done"
		return
	}
	if br.human != "" {
		res.Outcome = HumanHeld
		res.Note = fmt.Sprintf("%s holds commit %s by someone else; the bot left it alone", j.branch, br.human[:12])
		if o.mine == nil {
			if o.taken != nil {
				res.PR, res.PRURL = o.taken.Number, o.taken.URL
				res.Note += fmt.Sprintf(" (its pull request #%d was opened by %s, not the bot)", o.taken.Number, o.taken.Author)
				return
			}
			res.Note += " (its pull request is closed)"
			return
		}
		res.PR, res.PRURL = o.mine.Number, o.mine.URL
		res.Err = j.noteHumanCommit(ctx, fc, *o.mine, br.human)
		return
	}
	if o.mine == nil && o.taken != nil {
		res.PR, res.PRURL = o.taken.Number, o.taken.URL
		res.Err = fmt.Errorf("%s: pull request #%d from the bot's branch %s was opened by %s, not by the bot (%s); the bot leaves it alone and cannot open its own beside it: close it, and the next run opens the bot's",
			j.site.Repo, o.taken.Number, j.branch, o.taken.Author, me)
		return
	}
	upserted := time.Now()
	mine, outcome, err := j.upsertPR(ctx, fc, o.mine, gen, br.pushed)
	j.timed("upsert pull request", upserted)
	if err != nil {
		res.Err = err
		return
	}
	res.Outcome, res.PR, res.PRURL = outcome, mine.Number, mine.URL
	if !contains(mine.Labels, Label) {
		labelled := time.Now()
		res.Err = fc.AddLabels(ctx, mine.Number, []string{Label})
		j.timed("label", labelled)
		if res.Err != nil {
			return
		}
	}
	what := "moves this site to catalog " + release
	if gen.siteOnly {
		what = "makes the same change to site.yaml" // an os-only site takes no release
	}
	if res.Closed, res.Err = closeSuperseded(ctx, fc, o.older, mine.Number, what); res.Err != nil {
		return
	}
	if gen.loaded != nil && gen.loaded.Updates.Automerge && !mine.AutoMerge {
		res.AutoMerge, res.Err = fc.EnableAutoMerge(ctx, mine)
	}
}

// noteHumanCommit tells the pull request's readers, once per commit, why the bot left
// its branch alone.
func (j *job) noteHumanCommit(ctx context.Context, fc forge.Client, pr forge.PR, human string) error {
	note := fmt.Sprintf("<!-- nassella-human-commit %s -->", human)
	if strings.Contains(pr.Body, note) {
		return nil
	}
	msg := fmt.Sprintf("The nassella update bot did not update this branch: its newest commit (%s) was not made by the bot, and the bot never overwrites someone's work.\n\n"+
		"To let the bot take over again, delete the branch `%s` (or close this pull request); the next run opens a fresh one. To keep your change instead, put it into `site.yaml` on `%s` — the generated files are rewritten for every release.",
		human[:12], j.branch, pr.Base)
	if err := fc.Comment(ctx, pr.Number, msg); err != nil {
		return err
	}
	return fc.EditPR(ctx, pr.Number, pr.Title, pr.Body+"\n"+note+"\n")
}

// upsertPR opens the bot's pull request, or refreshes its title and text.
func (j *job) upsertPR(ctx context.Context, fc forge.Client, mine *forge.PR, gen generated, pushed bool) (forge.PR, string, error) {
	if mine == nil {
		pr, err := fc.CreatePR(ctx, forge.NewPR{Title: gen.title, Body: gen.body, Head: j.branch, Base: j.baseBranch})
		return pr, Opened, err
	}
	outcome := UpToDate
	if pushed {
		outcome = Refreshed
	}
	if mine.Title != gen.title || strings.TrimSpace(mine.Body) != strings.TrimSpace(gen.body) {
		if err := fc.EditPR(ctx, mine.Number, gen.title, gen.body); err != nil {
			return *mine, "", err
		}
		outcome = Refreshed
	}
	return *mine, outcome, nil
}

// closeSuperseded closes the older bot pull requests in favour of number, which does
// what, and returns the ones it closed.
func closeSuperseded(ctx context.Context, fc forge.Client, older []forge.PR, number int, what string) ([]int, error) {
	var closed []int
	for _, p := range older {
		msg := fmt.Sprintf("Superseded by #%d, which %s. The nassella update bot closed this one; merging the new pull request brings everything this one had.", number, what)
		if err := fc.Comment(ctx, p.Number, msg); err != nil {
			return closed, err
		}
		if err := fc.ClosePR(ctx, p.Number); err != nil {
			return closed, err
		}
		closed = append(closed, p.Number)
	}
	return closed, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
