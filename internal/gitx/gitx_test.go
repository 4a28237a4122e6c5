package gitx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestParseIdentity(t *testing.T) {
	for in, want := range map[string]string{
		"Ada Lovelace <ada@example.org>":     "Ada Lovelace <ada@example.org>",
		"  nassella  < nassella@localhost >": "nassella <nassella@localhost>",
	} {
		got, err := ParseIdentity(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseIdentity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Ada", "<ada@example.org>", "Ada <ada>", "Ada <ada@example.org", "Ada <ada@example.org> x", "Ada <a da@example.org>", "A<b <ada@example.org>"} {
		if got, err := ParseIdentity(in); err == nil {
			t.Errorf("ParseIdentity(%q) = %q, want an error", in, got)
		}
	}
}

func TestCommitAndPush(t *testing.T) {
	ctx := context.Background()
	bare := t.TempDir()
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	commit := func(text string) plumbing.Hash {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add("f"); err != nil {
			t.Fatal(err)
		}
		who := Identity{Name: "Bot", Email: "bot@example.org"}
		h, err := Commit(wt, text, who, time.Unix(1_700_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := repo.CommitObject(h)
		if c.Author.String() != c.Committer.String() || c.Author.Email != who.Email {
			t.Fatalf("commit by %s, committed by %s; want %s for both", c.Author, c.Committer, who)
		}
		return h
	}
	first := commit("one")
	ref := plumbing.NewBranchReferenceName("main")
	// By URL: no remote is added to the repo's config.
	if err := Push(ctx, repo, bare, []config.RefSpec{config.RefSpec(first.String() + ":" + ref.String())}, "", false); err != nil {
		t.Fatal(err)
	}
	if rs, _ := repo.Remotes(); len(rs) != 1 {
		t.Errorf("pushing by URL left %d remotes in the config, want 1", len(rs))
	}
	second := commit("two")
	if err := PushLease(ctx, repo, "origin", ref, second, plumbing.NewHash(strings.Repeat("1", 40)), ""); err == nil {
		t.Error("a push with a stale lease succeeded")
	}
	if err := PushLease(ctx, repo, "origin", ref, second, first, ""); err != nil {
		t.Fatal(err)
	}
	// Everything there already is no error.
	if err := PushLease(ctx, repo, "origin", ref, second, second, ""); err != nil {
		t.Errorf("pushing what the remote has: %v", err)
	}
	r, _ := git.PlainOpen(bare)
	if got, _ := r.Reference(ref, true); got.Hash() != second {
		t.Errorf("main is at %s, want %s", got.Hash(), second)
	}
}

func TestErrorHidesToken(t *testing.T) {
	const token = "s3cr3t-token"
	err := Error("pushing main to https://x:"+token+"@forge.example/r.git", errors.Join(errors.New("bad "+token), transport.ErrAuthorizationFailed), token)
	if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "check that the token is valid") {
		t.Errorf("got %q", err)
	}
}
