package forge

import "strings"

// UpdateBranchPrefix starts every branch the update bot pushes to a site repo; the
// catalog release follows.
const UpdateBranchPrefix = "nassella/catalog-"

// FromUpdateBranch says whether a pull request comes from a bot-named branch of repo
// (OWNER/NAME) itself. The name alone proves nothing: anyone who may open a pull request
// can name a fork's branch so. Callers also check who opened (or merged) it.
func FromUpdateBranch(head, headRepo, repo string) bool {
	return strings.HasPrefix(head, UpdateBranchPrefix) && strings.EqualFold(headRepo, repo)
}
