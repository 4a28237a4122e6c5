package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/nassella/nassella/internal/forge"
)

// The pull request page: what it changes in plain words (the plan comment), its checks,
// and a Merge button for those the forge lets merge.

type prData struct {
	Owner, Repo string
	PR          forge.PRInfo
	Checks      []forge.Check
	State       string // overall state of the checks
	Plan        template.HTML
	PlanBy      string
	Body        template.HTML
	CanMerge    bool
	CanWrite    bool
	CSRF        string
	Done        string
	Message     string
}

func (d prData) title() string { return fmt.Sprintf("#%d %s", d.PR.Number, d.PR.Title) }

// trusted says whether login's comments may be shown as the plan: the bots the console
// was told about and the repo's owner. Anyone who can comment could post a lookalike.
func (s *Server) trusted(owner, login string) bool {
	return strings.EqualFold(login, owner) || slices.ContainsFunc(s.cfg.Bots, func(b string) bool { return strings.EqualFold(b, login) })
}

// prView reads pull request n and what the page shows of it.
func (s *Server) prView(w http.ResponseWriter, r *http.Request, sess *Session) (forge.Client, prData, bool) {
	fc, acc, ok := s.siteAccess(w, r, sess)
	if !ok {
		return nil, prData{}, false
	}
	d := prData{Owner: r.PathValue("owner"), Repo: r.PathValue("repo"), CSRF: sess.CSRF, CanWrite: acc.Push}
	full := d.Owner + "/" + d.Repo
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		s.fail(w, r, sess, http.StatusNotFound, "There is no such pull request.")
		return nil, d, false
	}
	ctx := current(r.Context())
	if d.PR, err = fc.PullRequest(ctx, n); err != nil {
		s.forgeFailed(w, r, sess, err, full)
		return nil, d, false
	}
	if d.Checks, err = fc.Checks(ctx, d.PR.HeadSHA); err != nil {
		s.forgeFailed(w, r, sess, err, full)
		return nil, d, false
	}
	d.State = overall(d.Checks)
	comments, err := fc.Comments(ctx, n)
	if err != nil {
		s.forgeFailed(w, r, sess, err, full)
		return nil, d, false
	}
	for _, c := range comments {
		if s.trusted(d.Owner, c.Author) && strings.HasPrefix(c.Body, forge.PlanCommentMarker) {
			d.Plan, d.PlanBy = renderMarkdown(c.Body), c.Author
		}
	}
	d.Body = renderMarkdown(d.PR.Body)
	d.CanMerge = acc.Push && d.PR.State == "open" && !d.PR.Merged
	return fc, d, true
}

func (s *Server) prPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	if _, d, ok := s.prView(w, r, sess); ok {
		d.Done = done[r.URL.Query().Get("done")]
		s.render(w, r, sess, http.StatusOK, "pr", d)
	}
}

// mergePost merges the pull request with the person's token, only at the commit the page
// showed them.
func (s *Server) mergePost(w http.ResponseWriter, r *http.Request, sess *Session) {
	fc, d, ok := s.prView(w, r, sess)
	if !ok {
		return
	}
	full := d.Owner + "/" + d.Repo
	switch {
	case !d.CanWrite:
		s.fail(w, r, sess, http.StatusForbidden, "You can look at "+full+" but not merge: your account on the forge may only read it. Ask the site's owner.")
		return
	case !d.CanMerge:
		d.Message = "This pull request is not open any more, so it cannot be merged."
		s.render(w, r, sess, http.StatusConflict, "pr", d)
		return
	}
	sha := r.PostForm.Get("sha")
	if sha != d.PR.HeadSHA {
		d.Message = forge.ErrHeadMoved.Error()
		s.render(w, r, sess, http.StatusConflict, "pr", d)
		return
	}
	err := fc.Merge(r.Context(), d.PR.Number, sha)
	var er *github.ErrorResponse
	switch {
	case errors.Is(err, forge.ErrHeadMoved):
		d.Message = err.Error()
		s.render(w, r, sess, http.StatusConflict, "pr", d)
		return
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode < 500 && er.Response.StatusCode != http.StatusUnauthorized:
		d.Message = "The forge did not merge it: " + er.Message + "."
		s.render(w, r, sess, http.StatusConflict, "pr", d)
		return
	case err != nil:
		s.forgeFailed(w, r, sess, err, full)
		return
	}
	s.log.Info("merged", "login", sess.Login, "repo", full, "pr", d.PR.Number)
	http.Redirect(w, r, fmt.Sprintf("/site/%s/%s?done=merged", d.Owner, d.Repo), http.StatusSeeOther)
}
