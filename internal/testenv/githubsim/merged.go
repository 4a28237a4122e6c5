package githubsim

// MergeAs merges pull request number as commit sha, as Merge does, by login: the user who
// pressed merge, or, for a pull request that merged by itself, who turned auto-merge on.
// GET /repos/{owner}/{repo}/pulls/{number} then shows it as merged_by
// (https://docs.github.com/rest/pulls/pulls#get-a-pull-request).
func (s *Server) MergeAs(owner, name string, number int, sha, login string) {
	s.Merge(owner, name, number, sha)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.repos[owner+"/"+name].pulls {
		if p.Number == number {
			p.MergedBy = &User{Login: login}
			for _, u := range s.users {
				if u.Login == login {
					p.MergedBy.ID = u.ID
				}
			}
		}
	}
}
