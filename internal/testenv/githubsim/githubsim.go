// Package githubsim is a simulator of the few GitHub endpoints the update bot uses, on
// 127.0.0.1, so the bot's GitHub client is tested against GitHub's documented behaviour
// without the network: pull requests (list, create, update), issue comments and labels,
// GraphQL's enablePullRequestAutoMerge, token auth, and the rate-limit headers and
// answers of the REST API (X-RateLimit-*, the primary limit's 403, the secondary
// limits' 403/429 with Retry-After); for bootstrap, the token's user, creating a repo for
// it or an organisation, and the repo's Actions secrets (sealed boxes to the repo's
// public key, opened here so tests see the values). Git goes to bare repos served by git http-backend
// under the same address, as https://github.com/OWNER/REPO.git would.
//
// It is a simulator: it keeps state in memory, knows the token's user and the ones
// AddUser adds (each with a token; every token may do everything), forks (Fork) and pull
// requests from them, and answers only what the bot asks. Endpoints follow https://docs.github.com/rest (pulls, issues
// comments and labels, rate limits, users, repos, Actions secrets; issues.go: issues,
// listing and editing comments, a commit's pull requests; reviews.go: one pull request,
// its commits and their files, review comments on lines) and
// https://docs.github.com/graphql.
package githubsim

import (
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// Server is a running simulator.
type Server struct {
	URL   string // http://127.0.0.1:PORT: git at /OWNER/REPO.git, REST at /api/v3/, GraphQL at /api/graphql
	Token string
	Login string // the token's user

	// RateLimit is the primary limit per hour (default 5000).
	RateLimit int

	root string // bare repos: root/OWNER/REPO.git
	srv  *httptest.Server
	git  http.Handler

	mu        sync.Mutex
	users     map[string]User // by token
	repos     map[string]*repo
	used      int
	reset     time.Time
	secondary []int // statuses (403 or 429) for the next API requests: secondary limits
	calls     map[string]int
	comments  int64 // the last comment id: ids are unique across the simulator, as GitHub's

	// The key pair every repo's Actions secrets are sealed to.
	secretsPub, secretsPriv *[32]byte
}

type repo struct {
	owner, name string
	parent      string // the full name of the repo this one is a fork of
	pulls       []*PullRequest
	issues      []*Issue // numbered with the pull requests, as on GitHub
	labels      map[string]bool
	nextID      int
	private     bool
	secrets     map[string]secret
}

type secret struct {
	value              string
	created, updatedAt time.Time
}

// PullRequest is a simulated pull request, also the JSON the API answers with.
type PullRequest struct {
	ID        int64      `json:"id"`
	NodeID    string     `json:"node_id"`
	Number    int        `json:"number"`
	State     string     `json:"state"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	HTMLURL   string     `json:"html_url"`
	URL       string     `json:"url"`
	User      User       `json:"user"`
	Head      Branch     `json:"head"`
	Base      Branch     `json:"base"`
	Labels    []Label    `json:"labels"`
	AutoMerge *AutoMerge `json:"auto_merge"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Comments  []Comment  `json:"-"`

	// MergeCommitSHA is the commit Merge made on the base branch.
	MergeCommitSHA string `json:"merge_commit_sha,omitempty"`
	Merged         bool   `json:"merged"`
	MergedBy       *User  `json:"merged_by"` // merged.go
	// LineNotes are its review comments (reviews.go).
	LineNotes []ReviewComment `json:"-"`
}

// User is a GitHub user.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
}

// Branch is a pull request's head or base: Label is OWNER:REF, User the repo's owner and
// Repo the repo the branch is in (a fork's for a pull request from a fork; null when
// that fork was deleted).
type Branch struct {
	Ref   string      `json:"ref"`
	SHA   string      `json:"sha"`
	Label string      `json:"label"`
	User  User        `json:"user"`
	Repo  *Repository `json:"repo"`
}

// Repository is the repo object of GitHub's answers, with the fields clients read.
type Repository struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	Owner         User   `json:"owner"`
	Private       bool   `json:"private"`
	Fork          bool   `json:"fork"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
}

// Label is an issue label.
type Label struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

// AutoMerge is the auto_merge field of a pull request.
type AutoMerge struct {
	EnabledBy   User   `json:"enabled_by"`
	MergeMethod string `json:"merge_method"`
}

// Comment is an issue comment.
type Comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User User   `json:"user"`
}

// Start starts a simulator whose API accepts token; repos live under a temp folder.
// Close stops it.
func Start(token string) (*Server, error) {
	backend, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("githubsim needs git: %w", err)
	}
	execPath, err := exec.Command(backend, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	root, err := os.MkdirTemp("", "githubsim-")
	if err != nil {
		return nil, err
	}
	s := &Server{Token: token, Login: "nassella-bot", RateLimit: 5000, root: root, repos: map[string]*repo{}, calls: map[string]int{}}
	s.users = map[string]User{token: {Login: s.Login, ID: 1}}
	s.git = &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Dir:  root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true"},
	}
	if s.secretsPub, s.secretsPriv, err = box.GenerateKey(crand.Reader); err != nil {
		return nil, err
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.reset = time.Now().Add(time.Hour)
	return s, nil
}

// Close stops the simulator and removes its repos.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.root)
}

// CreateRepo makes an empty bare repo OWNER/NAME with default branch main.
func (s *Server) CreateRepo(owner, name string) error {
	dir := filepath.Join(s.root, owner, name+".git")
	if out, err := exec.Command("git", "init", "--bare", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, out)
	}
	s.mu.Lock()
	s.repos[owner+"/"+name] = &repo{owner: owner, name: name, labels: map[string]bool{}}
	s.mu.Unlock()
	return nil
}

// AddUser adds a user who signs in with token (as a person's own token would), to open
// pull requests as someone other than the bot.
func (s *Server) AddUser(login, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[token] = User{Login: login, ID: int64(len(s.users) + 1)}
}

// Fork copies OWNER/NAME, all its branches, to FORKOWNER/NAME, as a fork on GitHub is.
func (s *Server) Fork(owner, name, forkOwner string) error {
	src, dst := filepath.Join(s.root, owner, name+".git"), filepath.Join(s.root, forkOwner, name+".git")
	if out, err := exec.Command("git", "clone", "--bare", "-q", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("git clone: %v: %s", err, out)
	}
	s.mu.Lock()
	s.repos[forkOwner+"/"+name] = &repo{owner: forkOwner, name: name, parent: owner + "/" + name, labels: map[string]bool{}}
	s.mu.Unlock()
	return nil
}

// SecondaryLimit makes the next API requests fail with a secondary rate limit, one per
// status given (403 or 429), each with Retry-After: 1.
func (s *Server) SecondaryLimit(statuses ...int) {
	s.mu.Lock()
	s.secondary = append(s.secondary, statuses...)
	s.mu.Unlock()
}

// PullRequests returns copies of the repo's pull requests, by number.
func (s *Server) PullRequests(owner, name string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	if r == nil {
		return nil
	}
	var out []PullRequest
	for _, p := range r.pulls {
		c := *p
		c.Comments = append([]Comment(nil), p.Comments...)
		c.LineNotes = append([]ReviewComment(nil), p.LineNotes...)
		out = append(out, c)
	}
	return out
}

// Calls returns how many API requests each "METHOD route" got.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

var (
	reGit     = regexp.MustCompile(`^/[^/]+/[^/]+\.git/`)
	rePulls   = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/pulls$`)
	rePull    = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/pulls/([0-9]+)$`)
	reComment = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments$`)
	reLabels  = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/issues/([0-9]+)/labels$`)
	reRepo    = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)$`)
	reNewRepo = regexp.MustCompile(`^/api/v3/(?:user|orgs/([^/]+))/repos$`)
	reSecrets = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/actions/secrets$`)
	reKey     = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/actions/secrets/public-key$`)
	reSecret  = regexp.MustCompile(`^/api/v3/repos/([^/]+)/([^/]+)/actions/secrets/([A-Za-z0-9_]+)$`)
)

const docs = "https://docs.github.com/rest"

// user is the user whose token signs the request, if any.
func (s *Server) user(r *http.Request) (User, bool) {
	token, ok := "", false
	if reGit.MatchString(r.URL.Path) {
		_, token, ok = r.BasicAuth()
	} else {
		h := r.Header.Get("Authorization")
		token, ok = strings.CutPrefix(h, "Bearer ")
		if !ok {
			token, ok = strings.CutPrefix(h, "token ")
		}
	}
	if !ok {
		return User{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[token]
	return u, ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	who, ok := s.user(r)
	if !ok {
		if reGit.MatchString(r.URL.Path) {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": docs})
		return
	}
	if reGit.MatchString(r.URL.Path) {
		s.git.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	route := r.Method + " " + routeOf(r.URL.Path)
	s.calls[route]++
	if now := time.Now(); now.After(s.reset) {
		s.used, s.reset = 0, now.Add(time.Hour)
	}
	if len(s.secondary) > 0 {
		status := s.secondary[0]
		s.secondary = s.secondary[1:]
		s.rateHeaders(w)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, status, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
		return
	}
	if s.used >= s.RateLimit {
		s.rateHeaders(w)
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"})
		return
	}
	s.used++
	s.rateHeaders(w)
	var m []string
	if s.serveIssues(w, r, who) || s.serveReviews(w, r, who) {
		return
	}
	switch {
	case r.URL.Path == "/api/graphql" && r.Method == http.MethodPost:
		s.graphql(w, r, who)
	case match(rePulls, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.listPulls(w, r, m[1]+"/"+m[2])
	case match(rePulls, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.createPull(w, r, who, m[1], m[2])
	case match(rePull, r.URL.Path, &m) && r.Method == http.MethodPatch:
		s.editPull(w, r, m[1]+"/"+m[2], m[3])
	case match(reComment, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.comment(w, r, who, m[1]+"/"+m[2], m[3])
	case match(reLabels, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.addLabels(w, r, m[1]+"/"+m[2], m[3])
	case r.URL.Path == "/api/v3/user" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, who)
	case match(reNewRepo, r.URL.Path, &m) && r.Method == http.MethodPost:
		s.createRepo(w, r, who, m[1])
	case match(reRepo, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.getRepo(w, m[1], m[2], http.StatusOK)
	case match(reSecrets, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.listSecrets(w, r, m[1]+"/"+m[2])
	case match(reKey, r.URL.Path, &m) && r.Method == http.MethodGet:
		s.publicKey(w, m[1]+"/"+m[2])
	case match(reSecret, r.URL.Path, &m) && r.Method == http.MethodPut:
		s.putSecret(w, r, m[1]+"/"+m[2], m[3])
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
	}
}

func routeOf(p string) string {
	for _, re := range []*regexp.Regexp{rePulls, rePull, reComment, reLabels, reRepo, reSecrets, reKey, reSecret, reCommitPulls, reIssues, reIssue, reEditComment, rePullComments, reCommit, rePullCommits, reDelPullComment} {
		if re.MatchString(p) {
			return re.String()
		}
	}
	return p
}

func match(re *regexp.Regexp, p string, m *[]string) bool {
	*m = re.FindStringSubmatch(p)
	return *m != nil
}

func (s *Server) rateHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.RateLimit-s.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func validation(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
		"errors": []map[string]string{{"resource": "PullRequest", "code": "custom", "message": msg}}, "documentation_url": docs})
}

func (s *Server) repo(w http.ResponseWriter, full string) *repo {
	r := s.repos[full]
	if r == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
	}
	return r
}

func (s *Server) pull(w http.ResponseWriter, full, num string) (*repo, *PullRequest) {
	r := s.repo(w, full)
	if r == nil {
		return nil, nil
	}
	n, _ := strconv.Atoi(num)
	for _, p := range r.pulls {
		if p.Number == n {
			return r, p
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs})
	return nil, nil
}

// listPulls is GET /repos/{owner}/{repo}/pulls: state (open, closed, all; open by
// default), head (user:ref), per_page (30 by default, at most 100) and page, with a
// Link header to the next page.
func (s *Server) listPulls(w http.ResponseWriter, req *http.Request, full string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	q := req.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var out []*PullRequest
	for _, p := range r.pulls {
		if state != "all" && p.State != state {
			continue
		}
		if h := q.Get("head"); h != "" && h != p.Head.Label {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	from, to := s.page(w, req, len(out))
	writeJSON(w, http.StatusOK, out[from:to])
}

// page picks the page a list request asks for out of n items: per_page (30 by default,
// at most 100) and page, with a Link header to the next page.
func (s *Server) page(w http.ResponseWriter, req *http.Request, n int) (from, to int) {
	q := req.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	from = min((page-1)*per, n)
	to = min(from+per, n)
	if to < n {
		next := *req.URL
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	return from, to
}

func (s *Server) headSHA(full, branch string) string {
	out, err := exec.Command("git", "--git-dir", filepath.Join(s.root, full+".git"), "rev-parse", "--verify", "-q", "refs/heads/"+branch).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// createPull is POST /repos/{owner}/{repo}/pulls, by the token's user: head is a branch
// of the repo, or USER:BRANCH for a branch of USER's fork of it.
func (s *Server) createPull(w http.ResponseWriter, req *http.Request, who User, owner, name string) {
	full := owner + "/" + name
	r := s.repo(w, full)
	if r == nil {
		return
	}
	var in struct{ Title, Body, Head, Base string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docs})
		return
	}
	headOwner, head, cross := strings.Cut(in.Head, ":")
	if !cross {
		headOwner, head = owner, in.Head
	}
	headFull := headOwner + "/" + name
	if in.Title == "" || in.Base == "" || head == "" {
		validation(w, "title, head and base are required")
		return
	}
	hr := s.repos[headFull]
	hs, bs := s.headSHA(headFull, head), s.headSHA(full, in.Base)
	if hr == nil || (headFull != full && hr.parent != full) || hs == "" || bs == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "PullRequest", "field": "head", "code": "invalid"}}, "documentation_url": docs})
		return
	}
	for _, p := range r.pulls {
		if p.State == "open" && p.Head.Label == headOwner+":"+head && p.Base.Ref == in.Base {
			validation(w, "A pull request already exists for "+headOwner+":"+head+".")
			return
		}
	}
	r.nextID++
	n := r.nextID
	now := time.Now().UTC()
	p := &PullRequest{ID: int64(1000 + n), NodeID: fmt.Sprintf("PR_sim_%s_%d", strings.ReplaceAll(full, "/", "_"), n), Number: n, State: "open",
		Title: in.Title, Body: in.Body, User: who,
		HTMLURL: fmt.Sprintf("%s/%s/pull/%d", s.URL, full, n), URL: fmt.Sprintf("%s/api/v3/repos/%s/pulls/%d", s.URL, full, n),
		Head: s.branch(hr, head, hs), Base: s.branch(r, in.Base, bs), Labels: []Label{}, CreatedAt: now, UpdatedAt: now}
	r.pulls = append(r.pulls, p)
	w.Header().Set("Location", p.URL)
	writeJSON(w, http.StatusCreated, p)
}

// branch is ref of r as a pull request's head or base.
func (s *Server) branch(r *repo, ref, sha string) Branch {
	info := s.repoInfo(r)
	return Branch{Ref: ref, SHA: sha, Label: r.owner + ":" + ref, User: info.Owner, Repo: &info}
}

// editPull is PATCH /repos/{owner}/{repo}/pulls/{n}: title, body, state.
func (s *Server) editPull(w http.ResponseWriter, req *http.Request, full, num string) {
	_, p := s.pull(w, full, num)
	if p == nil {
		return
	}
	var in struct{ Title, Body, State *string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docs})
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		validation(w, "state must be open or closed")
		return
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.State != nil {
		p.State = *in.State
	}
	if p.Head.Repo != nil {
		if hs := s.headSHA(p.Head.Repo.FullName, p.Head.Ref); hs != "" {
			p.Head.SHA = hs
		}
	}
	p.UpdatedAt = time.Now().UTC()
	writeJSON(w, http.StatusOK, p)
}

// comment is POST /repos/{owner}/{repo}/issues/{n}/comments.
func (s *Server) comment(w http.ResponseWriter, req *http.Request, who User, full, num string) {
	_, p := s.pull(w, full, num)
	if p == nil {
		return
	}
	var in struct{ Body string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Body == "" {
		validation(w, "body is required")
		return
	}
	s.comments++
	c := Comment{ID: s.comments, Body: in.Body, User: who}
	p.Comments = append(p.Comments, c)
	writeJSON(w, http.StatusCreated, c)
}

// addLabels is POST /repos/{owner}/{repo}/issues/{n}/labels: a JSON array of names or
// {"labels": [...]}; labels the repo does not have yet are created.
func (s *Server) addLabels(w http.ResponseWriter, req *http.Request, full, num string) {
	r, p := s.pull(w, full, num)
	if p == nil {
		return
	}
	data, _ := io.ReadAll(req.Body)
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		var obj struct{ Labels []string }
		if err := json.Unmarshal(data, &obj); err != nil {
			validation(w, "labels must be an array of names")
			return
		}
		names = obj.Labels
	}
	for _, n := range names {
		r.labels[n] = true
		have := false
		for _, l := range p.Labels {
			have = have || l.Name == n
		}
		if !have {
			p.Labels = append(p.Labels, Label{Name: n, Color: "ededed"})
		}
	}
	writeJSON(w, http.StatusOK, p.Labels)
}

var reAutoMerge = regexp.MustCompile(`enablePullRequestAutoMerge\s*\(`)

// graphql answers the one mutation the bot sends, enablePullRequestAutoMerge, as GitHub
// does: HTTP 200 with data, or with errors for an unknown pull request.
func (s *Server) graphql(w http.ResponseWriter, req *http.Request, who User) {
	var in struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	if !reAutoMerge.MatchString(in.Query) {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{"message": "githubsim: only enablePullRequestAutoMerge is simulated"}}})
		return
	}
	id, _ := in.Variables["id"].(string)
	for _, r := range s.repos {
		for _, p := range r.pulls {
			if p.NodeID == id && p.State == "open" {
				p.AutoMerge = &AutoMerge{EnabledBy: who, MergeMethod: "merge"}
				writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"enablePullRequestAutoMerge": map[string]any{
					"pullRequest": map[string]any{"autoMergeRequest": map[string]any{"enabledAt": time.Now().UTC()}}}}})
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []map[string]any{{"type": "NOT_FOUND",
		"message": fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}}})
}

// Secrets returns the repo's Actions secrets as the sealed boxes open, by name.
func (s *Server) Secrets(owner, name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if r := s.repos[owner+"/"+name]; r != nil {
		for n, v := range r.secrets {
			out[n] = v.value
		}
	}
	return out
}

// createRepo is POST /user/repos (org "") or POST /orgs/{org}/repos: an empty repo with
// default branch main; 422 when the name is taken.
func (s *Server) createRepo(w http.ResponseWriter, req *http.Request, who User, org string) {
	var in struct {
		Name    string `json:"name"`
		Private bool   `json:"private"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docs})
		return
	}
	owner := org
	if owner == "" {
		owner = who.Login
	}
	if s.repos[owner+"/"+in.Name] != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Repository creation failed.",
			"errors": []map[string]string{{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}}, "documentation_url": docs})
		return
	}
	dir := filepath.Join(s.root, owner, in.Name+".git")
	if out, err := exec.Command("git", "init", "--bare", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		http.Error(w, fmt.Sprintf("git init: %v: %s", err, out), http.StatusInternalServerError)
		return
	}
	s.repos[owner+"/"+in.Name] = &repo{owner: owner, name: in.Name, labels: map[string]bool{}, private: in.Private}
	s.getRepo(w, owner, in.Name, http.StatusCreated)
}

// getRepo answers GET /repos/{owner}/{repo} with the fields clients read.
func (s *Server) getRepo(w http.ResponseWriter, owner, name string, status int) {
	r := s.repo(w, owner+"/"+name)
	if r == nil {
		return
	}
	writeJSON(w, status, s.repoInfo(r))
}

func (s *Server) repoInfo(r *repo) Repository {
	full := r.owner + "/" + r.name
	return Repository{ID: 1, Name: r.name, FullName: full, Owner: User{Login: r.owner, ID: 1}, Private: r.private, Fork: r.parent != "",
		HTMLURL: s.URL + "/" + full, CloneURL: s.URL + "/" + full + ".git", DefaultBranch: "main"}
}

// listSecrets is GET /repos/{owner}/{repo}/actions/secrets: names and dates, never
// values, paged like every list.
func (s *Server) listSecrets(w http.ResponseWriter, req *http.Request, full string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	type item struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	var all []item
	for n, v := range r.secrets {
		all = append(all, item{n, v.created, v.updatedAt})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	from, to := s.page(w, req, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "secrets": append([]item{}, all[from:to]...)})
}

// secretsKeyID names the simulator's one key pair.
const secretsKeyID = "568250167242549743"

// publicKey is GET /repos/{owner}/{repo}/actions/secrets/public-key.
func (s *Server) publicKey(w http.ResponseWriter, full string) {
	if s.repo(w, full) == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"key_id": secretsKeyID, "key": base64.StdEncoding.EncodeToString(s.secretsPub[:])})
}

// putSecret is PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}: the value a
// sealed box to the repo's public key, base64; 201 for a new secret, 204 for a replaced
// one. Names are kept upper case, as GitHub does.
func (s *Server) putSecret(w http.ResponseWriter, req *http.Request, full, name string) {
	r := s.repo(w, full)
	if r == nil {
		return
	}
	var in struct {
		EncryptedValue string `json:"encrypted_value"`
		KeyID          string `json:"key_id"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docs})
		return
	}
	sealed, err := base64.StdEncoding.DecodeString(in.EncryptedValue)
	plain, ok := box.OpenAnonymous(nil, sealed, s.secretsPub, s.secretsPriv)
	if in.KeyID != secretsKeyID || err != nil || !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Bad request: the value is not a sealed box to the repository's public key " + secretsKeyID, "documentation_url": docs})
		return
	}
	if r.secrets == nil {
		r.secrets = map[string]secret{}
	}
	name = strings.ToUpper(name)
	old, existed := r.secrets[name]
	now := time.Now().UTC().Truncate(time.Second)
	if !existed {
		old.created = now
	}
	r.secrets[name] = secret{value: string(plain), created: old.created, updatedAt: now}
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
