package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ReviewComment is a comment on a line of a pull request's file, also the JSON the API
// answers with.
type ReviewComment struct {
	ID        int64     `json:"id"`
	ReviewID  int64     `json:"pull_request_review_id"`
	Body      string    `json:"body"`
	Path      string    `json:"path"`
	Line      int       `json:"line"`
	Side      string    `json:"side"`
	CommitID  string    `json:"commit_id"`
	User      User      `json:"user"`
	CreatedAt time.Time `json:"created_at"`
}

var (
	rePullCommits    = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/pulls/([0-9]+)/commits$`)
	rePullComments   = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/pulls/([0-9]+)/comments$`)
	reDelPullComment = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/pulls/comments/([0-9]+)$`)
	reCommit         = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{7,40})$`)
)

// serveReviews answers what the bot that regenerates a pull request's files asks
// (https://docs.github.com/rest/pulls/pulls#get-a-pull-request, #list-commits-on-a-pull-request,
// https://docs.github.com/rest/commits/commits#get-a-commit, and
// https://docs.github.com/rest/pulls/comments: list, create, delete); false when r is
// none of them.
func (s *Server) serveReviews(w http.ResponseWriter, r *http.Request, who User) bool {
	var m []string
	switch {
	case match(rePull, r.URL.Path, &m) && r.Method == http.MethodGet:
		if _, p := s.pull(w, m[1]+"/"+m[2], m[3]); p != nil {
			s.refreshHead(p)
			writeJSON(w, http.StatusOK, p)
		}
	case match(rePullCommits, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.pullCommits(w, r, m[1]+"/"+m[2], m[3])
	case match(reCommit, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.commit(w, r, m[1]+"/"+m[2], m[3])
	case match(rePullComments, r.URL.Path, &m) && r.Method == http.MethodGet:
		if _, p := s.pull(w, m[1]+"/"+m[2], m[3]); p != nil {
			from, to := s.page(w, r, len(p.LineNotes))
			writeJSON(w, http.StatusOK, append([]ReviewComment{}, p.LineNotes[from:to]...))
		}
	case match(rePullComments, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.addLineNote(w, r, who, m[1]+"/"+m[2], m[3])
	case match(reDelPullComment, r.URL.Path, &m) && r.Method == http.MethodDelete:
		s.deleteLineNote(w, m[1]+"/"+m[2], m[3])
	default:
		return false
	}
	return true
}

// gitIn runs git on the bare repo full.
func (s *Server) gitIn(full string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"--git-dir", filepath.Join(s.root, full+".git")}, args...)...).Output()
	return string(out), err
}

// refreshHead points the pull request's head at its branch's tip, as GitHub does on a push.
func (s *Server) refreshHead(p *PullRequest) {
	if p.Head.Repo != nil {
		if hs := s.headSHA(p.Head.Repo.FullName, p.Head.Ref); hs != "" {
			p.Head.SHA = hs
		}
	}
}

// compareBase is where the pull request's diff starts: the merge base of its base
// branch and head, in the head's repo (a fork holds the base commit it was made from).
func (s *Server) compareBase(p *PullRequest, head string) string {
	base := p.Base.SHA
	if p.Head.Repo.FullName == p.Base.Repo.FullName {
		base = s.headSHA(p.Base.Repo.FullName, p.Base.Ref)
	}
	if mb, err := s.gitIn(p.Head.Repo.FullName, "merge-base", base, head); err == nil {
		return strings.TrimSpace(mb)
	}
	return base
}

// commitJSON is a commit as GitHub's commits answer it; files only for one commit.
type commitJSON struct {
	SHA    string `json:"sha"`
	Commit struct {
		Author    gitUser `json:"author"`
		Committer gitUser `json:"committer"`
		Message   string  `json:"message"`
	} `json:"commit"`
	Files []commitFile `json:"files,omitempty"`
}

type gitUser struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

type commitFile struct {
	Filename         string `json:"filename"`
	Status           string `json:"status"`
	PreviousFilename string `json:"previous_filename,omitempty"`
}

func (s *Server) readCommit(full, sha string) (commitJSON, error) {
	out, err := s.gitIn(full, "show", "-s", "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha+"^{commit}")
	f := strings.SplitN(out, "\x00", 8)
	if err != nil || len(f) != 8 {
		return commitJSON{}, fmt.Errorf("no commit %s in %s", sha, full)
	}
	var c commitJSON
	c.SHA = f[0]
	c.Commit.Author = gitUser{f[1], f[2], f[3]}
	c.Commit.Committer = gitUser{f[4], f[5], f[6]}
	c.Commit.Message = strings.TrimRight(f[7], "\n")
	return c, nil
}

// pullCommits lists the commits of the pull request, oldest first, without files.
func (s *Server) pullCommits(w http.ResponseWriter, req *http.Request, full, num string) {
	_, p := s.pull(w, full, num)
	if p == nil {
		return
	}
	s.refreshHead(p)
	head := p.Head.Repo.FullName
	out, err := s.gitIn(head, "rev-list", "--reverse", p.Head.SHA, "^"+s.compareBase(p, p.Head.SHA))
	if err != nil {
		http.Error(w, "git rev-list: "+err.Error(), http.StatusInternalServerError)
		return
	}
	list := []commitJSON{}
	for _, sha := range strings.Fields(out) {
		c, err := s.readCommit(head, sha)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		list = append(list, c)
	}
	from, to := s.page(w, req, len(list))
	writeJSON(w, http.StatusOK, list[from:to])
}

// commit is one commit with its files (paged, as GitHub pages a long file list), found
// in the repo or one of its forks.
func (s *Server) commit(w http.ResponseWriter, req *http.Request, full, sha string) {
	if s.repo(w, full) == nil {
		return
	}
	where := []string{full}
	for n, r := range s.repos {
		if r.parent == full {
			where = append(where, n)
		}
	}
	for _, in := range where {
		c, err := s.readCommit(in, sha)
		if err != nil {
			continue
		}
		out, err := s.gitIn(in, "diff-tree", "-r", "--root", "--no-commit-id", "-M", "--name-status", c.SHA)
		if err != nil {
			http.Error(w, "git diff-tree: "+err.Error(), http.StatusInternalServerError)
			return
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(line, "\t")
			switch {
			case len(f) == 3:
				c.Files = append(c.Files, commitFile{Filename: f[2], Status: "renamed", PreviousFilename: f[1]})
			case len(f) == 2:
				c.Files = append(c.Files, commitFile{Filename: f[1], Status: map[string]string{"A": "added", "D": "removed"}[f[0]]})
			}
		}
		for i := range c.Files {
			if c.Files[i].Status == "" {
				c.Files[i].Status = "modified"
			}
		}
		from, to := s.page(w, req, len(c.Files))
		c.Files = c.Files[from:to]
		writeJSON(w, http.StatusOK, c)
		return
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "No commit found for SHA: " + sha, "documentation_url": docs})
}

var hunk = regexp.MustCompile(`(?m)^@@ -[0-9,]+ \+([0-9]+)(?:,([0-9]+))? @@`)

// inDiff says whether line of path, as commit has it, is in the pull request's diff
// (a changed line or one of the three lines of context around it), the only lines
// GitHub takes a review comment on.
func (s *Server) inDiff(p *PullRequest, commit, path string, line int) bool {
	out, err := s.gitIn(p.Head.Repo.FullName, "diff", "-U3", s.compareBase(p, commit), commit, "--", path)
	if err != nil {
		return false
	}
	for _, m := range hunk.FindAllStringSubmatch(out, -1) {
		start, _ := strconv.Atoi(m[1])
		n := 1
		if m[2] != "" {
			n, _ = strconv.Atoi(m[2])
		}
		if line >= start && line < start+n {
			return true
		}
	}
	return false
}

// addLineNote is POST /repos/{owner}/{repo}/pulls/{n}/comments with body, commit_id,
// path, line and side; a line outside the diff gets GitHub's 422.
func (s *Server) addLineNote(w http.ResponseWriter, req *http.Request, who User, full, num string) {
	_, p := s.pull(w, full, num)
	if p == nil {
		return
	}
	var in struct {
		Body     string `json:"body"`
		CommitID string `json:"commit_id"`
		Path     string `json:"path"`
		Line     int    `json:"line"`
		Side     string `json:"side"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Body == "" || in.CommitID == "" || in.Path == "" || in.Line <= 0 {
		validation(w, "body, commit_id, path and line are required")
		return
	}
	if in.Side == "" {
		in.Side = "RIGHT"
	}
	if _, err := s.readCommit(p.Head.Repo.FullName, in.CommitID); err != nil {
		validation(w, "commit_id is not part of the pull request")
		return
	}
	if in.Side != "RIGHT" || !s.inDiff(p, in.CommitID, in.Path, in.Line) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Unprocessable Entity",
			"errors":            []string{"Pull request review thread line must be part of the diff and Pull request review thread diff hunk can't be blank"},
			"documentation_url": "https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request"})
		return
	}
	s.comments++
	c := ReviewComment{ID: s.comments, ReviewID: 50000 + s.comments, Body: in.Body, Path: in.Path, Line: in.Line, Side: in.Side,
		CommitID: in.CommitID, User: who, CreatedAt: time.Now().UTC()}
	p.LineNotes = append(p.LineNotes, c)
	writeJSON(w, http.StatusCreated, c)
}

// deleteLineNote is DELETE /repos/{owner}/{repo}/pulls/comments/{id}: 204, or 404.
func (s *Server) deleteLineNote(w http.ResponseWriter, full, id string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, p := range r.pulls {
		for i, c := range p.LineNotes {
			if c.ID == n {
				p.LineNotes = append(p.LineNotes[:i:i], p.LineNotes[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
}
