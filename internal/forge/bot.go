package forge

// What the site workflows write on a forge, which the pipelines and the console both read.
const (
	// PlanCommentMarker opens the sticky plan comment on a pull request
	// (pipelines/deploy writes it, the review job and the console find it by it).
	PlanCommentMarker = "<!-- nassella-plan -->"
	// GitHubActionsBot is the login GitHub Actions' GITHUB_TOKEN writes as. That token
	// cannot read GET /user, so the GitHub workflows name it.
	GitHubActionsBot = "github-actions[bot]"
)
