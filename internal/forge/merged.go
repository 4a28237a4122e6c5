package forge

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// MergedPR is a pull request and the login that merged it.
type MergedPR struct {
	PR
	// By is who merged it ("" while it is not merged). A pull request that merged by
	// itself once its checks passed counts as merged by whoever turned auto-merge on.
	By string
}

// MergedBy reads pull request number with who merged it: GET
// /repos/{owner}/{repo}/pulls/{number}, whose merged_by GitHub
// (docs.github.com/rest/pulls/pulls#get-a-pull-request) and Gitea/Forgejo
// (go-gitea/gitea modules/structs/pull.go, PullRequest.MergedBy) both fill in; Gitea's
// auto-merge merges as the user who scheduled it (services/automerge).
func (b *base) MergedBy(ctx context.Context, number int) (MergedPR, error) {
	var p github.PullRequest
	_, err := b.raw(ctx, fmt.Sprintf("reading who merged pull request #%d of", number), http.MethodGet,
		fmt.Sprintf("repos/%s/%s/pulls/%d", b.owner, b.name, number), nil, &p)
	if err != nil {
		return MergedPR{}, err
	}
	return MergedPR{PR: prFrom(&p), By: p.GetMergedBy().GetLogin()}, nil
}
