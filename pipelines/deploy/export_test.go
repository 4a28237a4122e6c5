package deploy

import (
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	tfjson "github.com/hashicorp/terraform-json"
)

// The rollback's steps that need no OpenTofu, for the tests.

func (e Env) LastGoodForTest(repo *git.Repository, rev string) (string, *object.Commit, error) {
	return e.lastGood(repo, rev)
}

func SwapInForTest(dir string, commit *object.Commit) (restore func(), err error) {
	sv, err := swapIn(dir, commit)
	return sv.restore, err
}

func ReadsForTest(p *tfjson.Plan) []Read { return reads(p) }

func PreventedDestroysForTest(out string) []string { return preventedDestroys(out) }
