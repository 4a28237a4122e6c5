package update

import (
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/tree"
)

// A release that does not touch a site's apps or host only moves the pin in nassella.lock:
// the bot must not open a pull request for it; any other change must.
func TestOnlyPinMoves(t *testing.T) {
	dir := t.TempDir()
	data, _ := examples.Get("one-app")
	cat := catalog.Embedded()
	l := generateInto(t, dir, data, cat)
	old, err := generator.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}

	// The same catalog under a newer release number: only the pin moves.
	next := *cat
	next.Release = "2099.01.0"
	tr2, err := generator.Generate(l, &next)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr2.Write(dir, old.Owned())
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := tr2.Get(generator.LockPath)
	if !OnlyPinMoves(old, res, lock.Data) {
		t.Errorf("a release that changes nothing but the pin was taken for a change: wrote %v", res.Written)
	}

	// A changed file is a change.
	if OnlyPinMoves(old, tree.Result{Written: []string{generator.LockPath, "proxy/Caddyfile"}}, lock.Data) {
		t.Error("a change to the Caddyfile was ignored")
	}
	// A changed image in the lock is a change, even when no other file moved.
	moved := *old
	moved.Images = map[string]string{"vaultwarden/server": "docker.io/vaultwarden/server:9.9.9"}
	if OnlyPinMoves(&moved, res, lock.Data) {
		t.Error("a changed image was ignored")
	}
}
