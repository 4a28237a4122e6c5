// Package gitx is nassella's one way to speak git: who commits (Identity, parsed from
// "Name <email>" in one place), a commit made as that identity, a shallow clone, and a
// push over HTTPS with a forge token that never shows in an error.
package gitx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Identity is who makes a commit or tag: its author, committer or tagger, with an
// optional OpenPGP key that signs it.
type Identity struct {
	Name, Email string
	SignKey     *openpgp.Entity
}

// ParseIdentity reads "Name <email>": a name without angle brackets, then an email
// address with an @ and no spaces in angle brackets.
func ParseIdentity(s string) (Identity, error) {
	name, rest, ok := strings.Cut(s, "<")
	email, tail, ok2 := strings.Cut(rest, ">")
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	if !ok || !ok2 || strings.TrimSpace(tail) != "" || name == "" || strings.ContainsAny(name, "<>") ||
		!strings.Contains(email, "@") || strings.ContainsAny(email, "<> \t\n") {
		return Identity{}, fmt.Errorf("%q is not of the form \"Name <email>\"", s)
	}
	return Identity{Name: name, Email: email}, nil
}

func (i Identity) String() string { return i.Name + " <" + i.Email + ">" }

// Signature is the identity at a moment, as commits and tags record it.
func (i Identity) Signature(when time.Time) *object.Signature {
	return &object.Signature{Name: i.Name, Email: i.Email, When: when}
}

// Commit commits what is staged in wt with who as author and committer, signed when
// who has a key.
func Commit(wt *git.Worktree, msg string, who Identity, when time.Time) (plumbing.Hash, error) {
	sig := who.Signature(when)
	return wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, SignKey: who.SignKey})
}

// Auth is the token as HTTPS basic auth, as GitHub, Gitea and Forgejo take it for git.
func Auth(token string) transport.AuthMethod {
	if token == "" {
		return nil
	}
	return &githttp.BasicAuth{Username: "nassella-bot", Password: token}
}

// Clone makes a shallow clone of one branch of url in dir (the default branch when
// branch is empty), without tags.
func Clone(ctx context.Context, dir, url, branch, token string) (*git.Repository, error) {
	co := &git.CloneOptions{URL: url, Auth: Auth(token), Depth: 1, SingleBranch: true, Tags: git.NoTags}
	if branch != "" {
		co.ReferenceName = plumbing.NewBranchReferenceName(branch)
	}
	repo, err := git.PlainCloneContext(ctx, dir, false, co)
	if err != nil {
		return nil, Error("cloning "+url, err, token)
	}
	return repo, nil
}

// Push pushes refspecs to remote, a remote's name or a URL, with the token. force
// replaces what the remote holds. A remote that has everything already is no error.
func Push(ctx context.Context, repo *git.Repository, remote string, refspecs []config.RefSpec, token string, force bool) error {
	po := &git.PushOptions{RefSpecs: refspecs, Force: force}
	return push(ctx, repo, remote, po, token)
}

// PushLease points ref on remote at commit, replacing it only while it still holds was
// (a zero was: only when ref does not exist yet), so that nobody's newer push is lost.
// It sets ref and its remote-tracking ref in repo, which go-git's lease check reads.
func PushLease(ctx context.Context, repo *git.Repository, remote string, ref plumbing.ReferenceName, commit, was plumbing.Hash, token string) error {
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, commit)); err != nil {
		return err
	}
	po := &git.PushOptions{RefSpecs: []config.RefSpec{config.RefSpec(ref + ":" + ref)}}
	if !was.IsZero() {
		po.RefSpecs = []config.RefSpec{config.RefSpec("+" + ref + ":" + ref)}
		po.ForceWithLease = &git.ForceWithLease{RefName: ref, Hash: was}
	}
	return push(ctx, repo, remote, po, token)
}

func push(ctx context.Context, repo *git.Repository, remote string, po *git.PushOptions, token string) error {
	po.Auth = Auth(token)
	rem, err := repo.Remote(remote)
	if errors.Is(err, git.ErrRemoteNotFound) {
		// A URL: push through a remote that is never written to the repo's config.
		rem = git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "nassella-push", URLs: []string{remote}})
	} else if err != nil {
		return err
	}
	po.RemoteName = rem.Config().Name
	if l := po.ForceWithLease; l != nil {
		tracking := plumbing.ReferenceName("refs/remotes/" + po.RemoteName + "/" + l.RefName.Short())
		if err := repo.Storer.SetReference(plumbing.NewHashReference(tracking, l.Hash)); err != nil {
			return err
		}
	}
	err = rem.PushContext(ctx, po)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return Error("pushing "+refNames(po.RefSpecs)+" to "+rem.Config().URLs[len(rem.Config().URLs)-1], err, token)
	}
	return nil
}

func refNames(rs []config.RefSpec) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Dst("").Short())
	}
	return strings.Join(s, ", ")
}

// Error words a git failure of what (e.g. "cloning URL"), with the token cut out should
// a library ever echo it, and a hint at what to check.
func Error(what string, err error, token string) error {
	hint := ""
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		hint = "; check that the token is valid and may push to the repo"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		hint = "; check the repo's URL, and that the token can see the repo"
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		hint = "; push the generated site to it first"
	}
	msg := fmt.Sprintf("%s: %s%s", what, err, hint)
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[token]")
	}
	return errors.New(msg)
}
