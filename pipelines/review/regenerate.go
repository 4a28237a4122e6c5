package review

// Regenerating a pull request's files: the owner edits only site.yaml (in the forge's web
// editor) and the bot commits what nassella generate makes of it to the same branch, so
// the check that follows sees an up-to-date repo. A mistake in site.yaml gets a note on
// its line instead; a fork's branch, or a person's own change to a generated file, is
// never written to.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
)

// Markers of what the bot writes on a pull request it regenerates: its one comment, and
// its notes on lines of site.yaml. Only the bot's own count.
const (
	RegenerateMarker = "<!-- nassella-regenerate -->"
	NoteMarker       = "<!-- nassella-site-note -->"
)

// RegenerateOptions say which pull request to regenerate, and as whom.
type RegenerateOptions struct {
	Forge forge.Client
	// Repo is the site repo, OWNER/NAME: a pull request whose branch is elsewhere is a fork's.
	Repo string
	Bot  string // the login whose comments and notes are the bot's
	PR   int
	// Dir is the pull request's head branch, checked out (the workflow's checkout).
	Dir string
	// Author makes the commit; commits with its e-mail address are the bot's, any other's
	// a person's.
	Author gitx.Identity
	// Token pushes the commit over HTTPS. It must be a token of the bot's own, not the
	// workflow's: only such a push starts the checks again for the new commit.
	Token string
	Site  siterepo.Options // how to open the site (the catalog)
	Now   func() time.Time
}

// Outcomes of Regenerate that are no refusal.
const (
	OutcomeClosed    = "closed"     // the pull request is closed: nothing to do
	OutcomeUpToDate  = "up-to-date" // the generated files already match site.yaml
	OutcomeCommitted = "committed"  // the bot pushed one commit of generated files
)

// Regenerated is what Regenerate did.
type Regenerated struct {
	Outcome string
	Commit  string   // the bot's commit, when it made one
	Paths   []string // the generated files it wrote or removed
}

// Reasons of a Refusal.
const (
	RefusedFork     = "fork"         // the branch is in a fork, which the bot may not push to
	RefusedMistakes = "site-yaml"    // site.yaml has mistakes, noted on their lines
	RefusedHuman    = "human-commit" // a person changed generated files on the branch
	RefusedMoved    = "moved"        // the branch moved on while the bot worked
)

// Refusal is why the bot left a pull request's files as they are, in the words it posted
// on the pull request.
type Refusal struct {
	Reason string
	Text   string
	Err    error // site.yaml's mistakes (a diag.List), for CI annotations
}

func (r *Refusal) Error() string { return r.Text }
func (r *Refusal) Unwrap() error { return r.Err }

// Regenerate brings the generated files of pull request o.PR in line with its site.yaml:
// on a branch of the site repo itself it commits them as the bot, only generated paths,
// and pushes without force. It refuses (a *Refusal, also posted on the pull request) a
// fork's branch, a site.yaml with mistakes (each noted on its line, replacing the bot's
// earlier notes), a branch where a person's commit changed generated files, and a branch
// that moved on meanwhile (the run for the newer commit takes over).
func Regenerate(ctx context.Context, o RegenerateOptions) (Regenerated, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	pr, err := o.Forge.PullRequest(ctx, o.PR)
	if err != nil {
		return Regenerated{}, err
	}
	if pr.State != "open" {
		return Regenerated{Outcome: OutcomeClosed}, nil
	}
	if !strings.EqualFold(pr.HeadRepo, o.Repo) {
		return Regenerated{}, o.refuse(ctx, RefusedFork, "The generated files cannot be updated here", forkText(pr), nil)
	}
	repo, err := git.PlainOpen(o.Dir)
	if err != nil {
		return Regenerated{}, fmt.Errorf("opening the checkout %s: %w", o.Dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return Regenerated{}, fmt.Errorf("the checkout %s has no commit: %w", o.Dir, err)
	}
	if head.Hash().String() != pr.HeadSHA {
		return Regenerated{}, moved(pr.Head, head.Hash().String(), pr.HeadSHA)
	}

	opts := o.Site
	opts.Name = siterepo.SiteFile // as the forge names it, so notes land on the file
	r, err := siterepo.Open(o.Dir, opts)
	var mistakes diag.List
	if errors.As(err, &mistakes) {
		return Regenerated{}, o.mistakes(ctx, pr.HeadSHA, mistakes)
	}
	if err != nil {
		return Regenerated{}, err
	}
	if _, err := o.placeNotes(ctx, pr.HeadSHA, nil); err != nil {
		return Regenerated{}, err
	}

	t, err := r.Generate()
	if err != nil {
		return Regenerated{}, err
	}
	owned := r.Lock.Owned()
	if len(outOfDate(o.Dir, t, owned)) == 0 {
		return Regenerated{Outcome: OutcomeUpToDate}, o.settle(ctx, "They match your site.yaml; nothing needed changing.")
	}
	if err := o.checkNoHumanEdits(ctx, t, owned); err != nil {
		return Regenerated{}, err
	}

	res, err := r.Write(t)
	if err != nil {
		return Regenerated{}, err
	}
	paths := append(append([]string{}, res.Written...), res.Removed...)
	slices.Sort(paths)
	commit, err := o.commit(repo, pr, res)
	if err != nil {
		return Regenerated{}, err
	}
	if err := o.push(ctx, repo, pr, head.Hash(), commit); err != nil {
		return Regenerated{}, err
	}
	out := Regenerated{Outcome: OutcomeCommitted, Commit: commit.String(), Paths: paths}
	return out, o.settle(ctx, fmt.Sprintf("The bot updated %d of them to match your site.yaml in commit %s.", len(paths), short(out.Commit)))
}

func forkText(pr forge.PRInfo) string {
	from := pr.HeadRepo
	if from == "" {
		from = "a fork that no longer exists"
	}
	return fmt.Sprintf("This pull request comes from a fork (%s), and the bot may only push to branches of this repo, so it cannot update the generated files for you. "+
		"A maintainer of this repo must regenerate them (nassella generate) and push them to the pull request's branch; "+
		"or the owner makes the change in the site repo itself: edit site.yaml there and open the pull request from a branch of it.", from)
}

func moved(branch, had, now string) error {
	return &Refusal{Reason: RefusedMoved, Text: fmt.Sprintf("the branch %s moved on while the bot worked (the checkout is at %s, the branch at %s): nothing was pushed; the check for the newer commit updates the generated files",
		branch, short(had), short(now))}
}

// refuse posts text as the bot's comment under a title and returns it as a Refusal.
func (o RegenerateOptions) refuse(ctx context.Context, reason, title, text string, cause error) error {
	ref := &Refusal{Reason: reason, Text: text, Err: cause}
	if err := o.comment(ctx, "### "+title+"\n\n"+text, true); err != nil {
		ref.Text += fmt.Sprintf(" (posting this on pull request #%d failed too: %v)", o.PR, err)
	}
	return ref
}

// comment keeps the bot's one regenerate comment: it writes body into it, or adds it
// when there is none and add is set. Lookalikes by anyone else are left alone.
func (o RegenerateOptions) comment(ctx context.Context, body string, add bool) error {
	body = RegenerateMarker + "\n" + body
	cs, err := o.Forge.Comments(ctx, o.PR)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Author != o.Bot || !strings.HasPrefix(c.Body, RegenerateMarker) {
			continue
		}
		if c.Body == body {
			return nil
		}
		return o.Forge.EditComment(ctx, c.ID, body)
	}
	if !add {
		return nil
	}
	return o.Forge.Comment(ctx, o.PR, body)
}

// settle turns an earlier complaint of the bot into the news that all is well now.
func (o RegenerateOptions) settle(ctx context.Context, text string) error {
	return o.comment(ctx, "### The generated files are up to date\n\n"+text, false)
}

// mistakes notes each of site.yaml's mistakes on its line and refuses with the list.
func (o RegenerateOptions) mistakes(ctx context.Context, sha string, ds diag.List) error {
	var want []forge.LineNote
	for _, d := range ds {
		if d.Line > 0 && d.File == siterepo.SiteFile {
			want = append(want, forge.LineNote{Path: d.File, Line: d.Line, Body: noteBody(d)})
		}
	}
	unplaced, err := o.placeNotes(ctx, sha, want)
	if err != nil {
		return err
	}
	n := "1 mistake"
	if len(ds) != 1 {
		n = fmt.Sprintf("%d mistakes", len(ds))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The generated files were not updated: your site.yaml has %s. Change it on this branch (the notes on its lines say what to change) and this check runs again.\n", n)
	for _, d := range ds {
		where := "site.yaml"
		if d.Line > 0 {
			where = fmt.Sprintf("line %d", d.Line)
		}
		if slices.ContainsFunc(unplaced, func(u forge.LineNote) bool { return u.Line == d.Line }) {
			where += " (a line this pull request does not change, so it has no note)"
		}
		fmt.Fprintf(&b, "\n- **%s:** %s", where, d.Msg)
		if d.Fix != "" {
			fmt.Fprintf(&b, " — %s", d.Fix)
		}
	}
	return o.refuse(ctx, RefusedMistakes, "Your site.yaml needs a change", b.String()+"\n", ds)
}

// noteBody is a mistake as its line note says it: what is wrong, then what to change.
func noteBody(d diag.Diagnostic) string {
	body := NoteMarker + "\n**" + capitalize(d.Msg) + "**"
	if d.Fix != "" {
		body += "\n\nWhat to change: " + d.Fix
	}
	return body
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// placeNotes makes the bot's notes on the pull request exactly want: they stay when
// they already are; otherwise the bot's old notes go and want is added. A note the
// forge will not place (GitHub takes notes only on lines of the diff) is returned.
func (o RegenerateOptions) placeNotes(ctx context.Context, sha string, want []forge.LineNote) ([]forge.LineNote, error) {
	have, err := o.Forge.LineNotes(ctx, o.PR)
	if err != nil {
		return nil, err
	}
	var mine []forge.LineNote
	for _, n := range have {
		if n.Author == o.Bot && strings.HasPrefix(n.Body, NoteMarker) {
			mine = append(mine, n)
		}
	}
	key := func(n forge.LineNote) string { return fmt.Sprintf("%s:%d:%s", n.Path, n.Line, n.Body) }
	same := len(mine) == len(want)
	for _, n := range want {
		same = same && slices.ContainsFunc(mine, func(m forge.LineNote) bool { return key(m) == key(n) })
	}
	if same {
		return nil, nil
	}
	for _, n := range mine {
		if err := o.Forge.DeleteLineNote(ctx, o.PR, n); err != nil {
			return nil, err
		}
	}
	var unplaced []forge.LineNote
	for _, n := range want {
		err := o.Forge.AddLineNote(ctx, o.PR, sha, n)
		if forge.Status(err) == 422 {
			unplaced = append(unplaced, n)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return unplaced, nil
}

// outOfDate lists the generated files the repo in dir does not hold as t has them, and
// the files nassella wrote before (owned) that it no longer generates but are still there.
func outOfDate(dir string, t *tree.Tree, owned []string) []string {
	var out []string
	for _, p := range t.Paths() {
		f, _ := t.Get(p)
		got, err := inputfile.ReadIn(dir, filepath.FromSlash(p))
		if err != nil || !bytes.Equal(got, f.Data) {
			out = append(out, p)
		}
	}
	for _, p := range owned {
		if _, still := t.Get(p); still {
			continue
		}
		if _, err := inputfile.ReadIn(dir, filepath.FromSlash(p)); !errors.Is(err, fs.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}

// checkNoHumanEdits refuses when a commit of the pull request by anyone but the bot
// changed a generated file: the bot's commit would write over it.
func (o RegenerateOptions) checkNoHumanEdits(ctx context.Context, t *tree.Tree, owned []string) error {
	commits, err := o.Forge.PRCommits(ctx, o.PR)
	if err != nil {
		return err
	}
	generated := map[string]bool{}
	for _, p := range append(t.Paths(), owned...) {
		generated[p] = true
	}
	var found []string
	for _, c := range commits {
		if strings.EqualFold(c.AuthorEmail, o.Author.Email) {
			continue
		}
		var touched []string
		for _, f := range c.Files {
			if generated[f] && !slices.Contains(touched, f) {
				touched = append(touched, f)
			}
		}
		if len(touched) > 0 {
			found = append(found, fmt.Sprintf("commit %s by %s changed %s", short(c.SHA), c.AuthorName, strings.Join(touched, ", ")))
		}
	}
	if len(found) == 0 {
		return nil
	}
	drop := "drop that commit"
	if len(found) > 1 {
		drop = "drop those commits"
	}
	text := fmt.Sprintf("Your site.yaml changes what nassella generates, but %s, which nassella generates. The bot never writes over a person's changes: "+
		"regenerate locally with nassella generate, or %s.", strings.Join(found, "; "), drop)
	return o.refuse(ctx, RefusedHuman, "The generated files were not updated", text, nil)
}

// commit stages exactly the files the write changed and commits them as the bot.
func (o RegenerateOptions) commit(repo *git.Repository, pr forge.PRInfo, res tree.Result) (plumbing.Hash, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, p := range res.Written {
		if err := wt.AddWithOptions(&git.AddOptions{Path: p, SkipStatus: true}); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("staging %s: %w", p, err)
		}
	}
	for _, p := range res.Removed {
		if _, err := wt.Remove(p); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("staging the removal of %s: %w", p, err)
		}
	}
	msg := fmt.Sprintf("Update the generated files from site.yaml\n\nnassella generate, run by the bot for pull request #%d: only files nassella generates are changed.\n", pr.Number)
	h, err := gitx.Commit(wt, msg, o.Author, o.Now())
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing the generated files: %w", err)
	}
	return h, nil
}

// push sends commit to the pull request's branch without force, after checking that the
// branch is still where the checkout found it.
func (o RegenerateOptions) push(ctx context.Context, repo *git.Repository, pr forge.PRInfo, was, commit plumbing.Hash) error {
	if o.Token == "" {
		return errors.New("no token to push the generated files with: set NASSELLA_FORGE_TOKEN to the bot's token (a push with the workflow's own token would not start the checks again)")
	}
	url := pr.HeadCloneURL
	ref := plumbing.NewBranchReferenceName(pr.Head)
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "nassella-head", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: gitx.Auth(o.Token)})
	if err != nil {
		return gitx.Error("reading the branches of "+url, err, o.Token)
	}
	now := ""
	for _, r := range refs {
		if r.Name() == ref {
			now = r.Hash().String()
		}
	}
	if now != was.String() {
		return moved(pr.Head, was.String(), now)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, commit)); err != nil {
		return err
	}
	err = gitx.Push(ctx, repo, url, []config.RefSpec{config.RefSpec(ref + ":" + ref)}, o.Token, false)
	if err != nil && strings.Contains(err.Error(), "non-fast-forward") {
		return moved(pr.Head, was.String(), "a newer commit")
	}
	return err
}
