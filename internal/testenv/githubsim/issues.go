package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Issue is a simulated issue, also the JSON the API answers with; PullRequest is set
// when the issues list shows a pull request, as GitHub's does.
type Issue struct {
	Number      int               `json:"number"`
	Title       string            `json:"title"`
	Body        string            `json:"body"`
	State       string            `json:"state"`
	User        User              `json:"user"`
	PullRequest map[string]string `json:"pull_request,omitempty"`
	Comments    []Comment         `json:"-"`
}

var (
	reCommitPulls = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/commits/([0-9a-f]+)/pulls$`)
	reIssues      = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/issues$`)
	reIssue       = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/issues/([0-9]+)$`)
	reEditComment = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/issues/comments/([0-9]+)$`)
)

// Merge merges pull request number as commit sha on its base branch (the test pushes
// the commit itself): it is closed, and the commit's pull requests list it.
func (s *Server) Merge(owner, name string, number int, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.repos[owner+"/"+name].pulls {
		if p.Number == number {
			p.State, p.MergeCommitSHA, p.Merged, p.UpdatedAt = "closed", sha, true, time.Now().UTC()
		}
	}
}

// Issues returns copies of the repo's issues (not pull requests), by number.
func (s *Server) Issues(owner, name string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, i := range s.repos[owner+"/"+name].issues {
		c := *i
		c.Comments = append([]Comment(nil), i.Comments...)
		out = append(out, c)
	}
	return out
}

// serveIssues answers the issue routes (https://docs.github.com/rest/issues and
// GET /repos/{owner}/{repo}/commits/{sha}/pulls); false when r is not one of them.
// Comments on issues go here, comments on pull requests to the pull request's own.
func (s *Server) serveIssues(w http.ResponseWriter, r *http.Request, who User) bool {
	var m []string
	switch {
	case match(reCommitPulls, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.commitPulls(w, r, m[1]+"/"+m[2], m[3])
	case match(reComment, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.listComments(w, r, m[1]+"/"+m[2], m[3])
	case match(reComment, r.URL.Path, &m) && r.Method == http.MethodPost && s.issue(m[1]+"/"+m[2], m[3]) != nil:
		i := s.issue(m[1]+"/"+m[2], m[3])
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			validation(w, "body is required")
			return true
		}
		s.comments++
		c := Comment{ID: s.comments, Body: in.Body, User: who}
		i.Comments = append(i.Comments, c)
		writeJSON(w, http.StatusCreated, c)
	case match(reEditComment, r.URL.Path, &m) && r.Method == http.MethodPatch:
		s.editComment(w, r, m[1]+"/"+m[2], m[3])
	case match(reIssues, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.listIssues(w, r, m[1]+"/"+m[2])
	case match(reIssues, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.editIssue(w, r, who, m[1]+"/"+m[2], "")
	case match(reIssue, r.URL.Path, &m) && r.Method == http.MethodPatch:
		s.editIssue(w, r, who, m[1]+"/"+m[2], m[3])
	default:
		return false
	}
	return true
}

func (s *Server) issue(full, num string) *Issue {
	n, _ := strconv.Atoi(num)
	if r := s.repos[full]; r != nil {
		for _, i := range r.issues {
			if i.Number == n {
				return i
			}
		}
	}
	return nil
}

// commitPulls lists the pull requests merged as sha, or whose head is sha.
func (s *Server) commitPulls(w http.ResponseWriter, req *http.Request, full, sha string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	out := []*PullRequest{}
	for _, p := range r.pulls {
		if p.MergeCommitSHA == sha || p.Head.SHA == sha {
			out = append(out, p)
		}
	}
	from, to := s.page(w, req, len(out))
	writeJSON(w, http.StatusOK, out[from:to])
}

// comments is a pointer to the comments of issue or pull request num, or nil.
func (s *Server) commentsOf(full, num string) *[]Comment {
	if i := s.issue(full, num); i != nil {
		return &i.Comments
	}
	n, _ := strconv.Atoi(num)
	if r := s.repos[full]; r != nil {
		for _, p := range r.pulls {
			if p.Number == n {
				return &p.Comments
			}
		}
	}
	return nil
}

func (s *Server) listComments(w http.ResponseWriter, req *http.Request, full, num string) {
	cs := s.commentsOf(full, num)
	if cs == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
		return
	}
	from, to := s.page(w, req, len(*cs))
	writeJSON(w, http.StatusOK, (*cs)[from:to])
}

// editComment is PATCH /repos/{owner}/{repo}/issues/comments/{id}: body.
func (s *Server) editComment(w http.ResponseWriter, req *http.Request, full, id string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	var in struct{ Body string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Body == "" {
		validation(w, "body is required")
		return
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	var lists []*[]Comment
	for _, p := range r.pulls {
		lists = append(lists, &p.Comments)
	}
	for _, i := range r.issues {
		lists = append(lists, &i.Comments)
	}
	for _, l := range lists {
		for k := range *l {
			if (*l)[k].ID == n {
				(*l)[k].Body = in.Body
				writeJSON(w, http.StatusOK, (*l)[k])
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
}

// listIssues is GET /repos/{owner}/{repo}/issues?state=: issues and pull requests, newest first.
func (s *Server) listIssues(w http.ResponseWriter, req *http.Request, full string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	state := req.URL.Query().Get("state")
	if state == "" {
		state = "open"
	}
	all := []Issue{}
	for _, i := range r.issues {
		all = append(all, *i)
	}
	for _, p := range r.pulls {
		all = append(all, Issue{Number: p.Number, Title: p.Title, Body: p.Body, State: p.State, User: p.User,
			PullRequest: map[string]string{"url": p.URL}})
	}
	out := []Issue{}
	for _, i := range all {
		if state == "all" || i.State == state {
			out = append(out, i)
		}
	}
	for a := range out {
		for b := a + 1; b < len(out); b++ {
			if out[b].Number > out[a].Number {
				out[a], out[b] = out[b], out[a]
			}
		}
	}
	from, to := s.page(w, req, len(out))
	writeJSON(w, http.StatusOK, out[from:to])
}

// editIssue is POST /repos/{owner}/{repo}/issues (num "": title, body) and PATCH
// /repos/{owner}/{repo}/issues/{n} (title, body, state).
func (s *Server) editIssue(w http.ResponseWriter, req *http.Request, who User, full, num string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	var in struct{ Title, Body, State *string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docs})
		return
	}
	i := s.issue(full, num)
	status := http.StatusOK
	if num == "" {
		if in.Title == nil || *in.Title == "" {
			validation(w, "title is required")
			return
		}
		r.nextID++
		i, status = &Issue{Number: r.nextID, State: "open", User: who}, http.StatusCreated
		r.issues = append(r.issues, i)
	}
	if i == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("Not Found: issue %s", num), "documentation_url": docs})
		return
	}
	if in.Title != nil {
		i.Title = *in.Title
	}
	if in.Body != nil {
		i.Body = *in.Body
	}
	if in.State != nil {
		i.State = *in.State
	}
	writeJSON(w, status, i)
}
