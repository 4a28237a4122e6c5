package giteatest

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Merge merges pull request number of repo (OWNER/NAME) as the token's user and returns
// its merge commit. Gitea checks mergeability in the background and answers 405 until it
// is done, so the merge is tried again for up to 10 seconds.
func (s *Server) Merge(ctx context.Context, repo string, number int) (string, error) {
	for try := 0; ; try++ {
		err := s.API(ctx, "POST", fmt.Sprintf("/repos/%s/pulls/%d/merge", repo, number), map[string]any{"Do": "merge"}, nil)
		if err == nil {
			break
		}
		if try == 50 || !strings.Contains(err.Error(), "405") {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
	}
	var merged struct {
		SHA string `json:"merge_commit_sha"`
	}
	if err := s.API(ctx, "GET", fmt.Sprintf("/repos/%s/pulls/%d", repo, number), nil, &merged); err != nil {
		return "", err
	}
	if merged.SHA == "" {
		return "", fmt.Errorf("pull request #%d of %s has no merge commit after its merge", number, repo)
	}
	return merged.SHA, nil
}
