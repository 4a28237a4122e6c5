package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/gitx"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
)

// A change is saved the way the update bot saves its own: a shallow clone of the site's
// branch, site.yaml edited, every generated file regenerated exactly as nassella generate
// does (siterepo), one commit on a new branch pushed with the person's token over HTTPS,
// and a pull request. Nothing reaches the site before someone merges it.

type change struct {
	slug string // names the branch: add-vaultwarden
	// fields maps the form's fields to the site.yaml paths they edit, to show the
	// loader's messages beside them.
	fields      map[string]string
	title, body string
	edit        func([]byte) ([]byte, error)
}

// invalidSite is a change the site loader refuses, with its messages.
type invalidSite struct {
	data []byte
	ds   diag.List
}

func (e *invalidSite) Error() string { return e.ds.Error() }

// BranchPrefix starts the branches the console pushes.
const BranchPrefix = "nassella/console-"

func (s *Server) propose(ctx context.Context, sess *Session, fc forge.Client, st *siteState, ch change) (forge.PR, error) {
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "nassella-console-")
	if err != nil {
		return forge.PR{}, err
	}
	defer os.RemoveAll(dir)
	acc := st.Access
	repo, err := gitx.Clone(ctx, dir, acc.CloneURL, acc.DefaultBranch, sess.Token)
	if err != nil {
		return forge.PR{}, err
	}
	data, err := inputfile.ReadIn(dir, siterepo.SiteFile)
	if err != nil {
		return forge.PR{}, fmt.Errorf("reading site.yaml of %s: %w", st.FullName(), err)
	}
	out, err := ch.edit(data)
	if err != nil {
		return forge.PR{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, siterepo.SiteFile), out, 0o644); err != nil {
		return forge.PR{}, err
	}
	r, err := siterepo.Open(dir, siterepo.Options{Catalog: s.cat, Name: siterepo.SiteFile})
	var ds diag.List
	if errors.As(err, &ds) {
		return forge.PR{}, &invalidSite{data: out, ds: ds}
	}
	if err != nil {
		return forge.PR{}, err
	}
	res, err := r.Regenerate()
	if err != nil {
		return forge.PR{}, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return forge.PR{}, err
	}
	for _, p := range append([]string{siterepo.SiteFile}, res.Written...) {
		if err := wt.AddWithOptions(&git.AddOptions{Path: p, SkipStatus: true}); err != nil {
			return forge.PR{}, fmt.Errorf("staging %s: %w", p, err)
		}
	}
	for _, p := range res.Removed {
		if _, err := wt.Remove(p); err != nil {
			return forge.PR{}, fmt.Errorf("staging the removal of %s: %w", p, err)
		}
	}
	who := s.identity(sess)
	msg := fmt.Sprintf("%s\n\nMade in nassella console by %s: site.yaml, and the files nassella generates from it.\n", ch.title, sess.Login)
	commit, err := gitx.Commit(wt, msg, who, s.now())
	if err != nil {
		return forge.PR{}, fmt.Errorf("committing the change: %w", err)
	}
	branch := BranchPrefix + ch.slug + "-" + strconv.FormatInt(s.now().Unix(), 36)
	ref := plumbing.NewBranchReferenceName(branch)
	// A zero lease: the branch is created, never moved if it exists.
	if err := gitx.PushLease(ctx, repo, acc.CloneURL, ref, commit, plumbing.ZeroHash, sess.Token); err != nil {
		return forge.PR{}, err
	}
	files := append(append([]string{}, res.Written...), res.Removed...)
	slices.Sort(files)
	return fc.CreatePR(ctx, forge.NewPR{Title: ch.title, Body: prBody(ch, sess.Login, files), Head: branch, Base: acc.DefaultBranch})
}

// identity is the person as the commit's author: their name and e-mail on the forge, or
// the forge's no-reply form of their login when it hides the address.
func (s *Server) identity(sess *Session) gitx.Identity {
	name, email := sess.Name, sess.Email
	if name == "" {
		name = sess.Login
	}
	if email == "" || !strings.Contains(email, "@") {
		host := "noreply.invalid"
		if u, err := url.Parse(s.cfg.Forge); err == nil {
			host = "users.noreply." + u.Hostname()
		}
		email = sess.Login + "@" + host
	}
	return gitx.Identity{Name: name, Email: email}
}

func prBody(ch change, login string, files []string) string {
	var b strings.Builder
	b.WriteString(ch.body)
	b.WriteString("**What happens next:** the checks on this pull request work out what merging changes on your server and say it in a comment. " +
		"Nothing changes on your server until someone merges this pull request.\n\n")
	fmt.Fprintf(&b, "<details><summary>Files changed</summary>\n\n- `site.yaml` (only the lines of this change; your comments stay)\n")
	for _, f := range files {
		if f != siterepo.SiteFile {
			fmt.Fprintf(&b, "- `%s` (generated)\n", f)
		}
	}
	fmt.Fprintf(&b, "\n</details>\n\nOpened in nassella console by @%s.\n", login)
	return b.String()
}
