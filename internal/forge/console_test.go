package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The GitHub side of the console's calls, against answers shaped as GitHub's REST
// documentation gives them (the Gitea side runs against a real Gitea in
// pipelines/console). Each request is recorded as "METHOD path?query [Accept]".
func TestConsoleCallsOnGitHub(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		line := r.Method + " " + r.URL.RequestURI()
		if a := r.Header.Get("Accept"); strings.Contains(a, "raw") {
			line += " [" + a + "]"
		}
		if len(body) > 0 {
			line += " " + strings.TrimSpace(string(body))
		}
		seen = append(seen, line)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/user/repos" && r.URL.Query().Get("page") == "1":
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/user/repos?page=2>; rel="next"`, r.Host))
			fmt.Fprint(w, `[{"full_name":"acme/site","default_branch":"main","permissions":{"admin":false,"maintain":true,"push":true,"pull":true}}]`)
		case r.URL.Path == "/user/repos":
			fmt.Fprint(w, `[{"full_name":"acme/other","permissions":{"pull":true}}]`)
		case strings.HasSuffix(r.URL.Path, "/contents/dir/site.yaml"):
			fmt.Fprint(w, "name: acme\n")
		case strings.HasSuffix(r.URL.Path, "/status"):
			fmt.Fprint(w, `{"state":"pending","statuses":[{"context":"ci/plan","state":"success","description":"planned"}]}`)
		case strings.HasSuffix(r.URL.Path, "/check-runs"):
			fmt.Fprint(w, `{"total_count":2,"check_runs":[{"name":"apply","status":"in_progress"},{"name":"validate","status":"completed","conclusion":"failure","output":{"title":"site.yaml has 1 mistake"}}]}`)
		case strings.HasSuffix(r.URL.Path, "/pulls/7/merge"):
			fmt.Fprint(w, `{"merged":true}`)
		case strings.HasSuffix(r.URL.Path, "/pulls/8/merge"):
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"message":"Head branch was modified. Review and try the merge again."}`)
		case r.URL.Path == "/user":
			fmt.Fprint(w, `{"login":"ada","name":"Ada L","email":null}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := New(KindGitHub, srv.URL+"/", "acme", "site", "tok", Options{})
	if err != nil {
		t.Fatal(err)
	}
	repos, err := VisibleRepos(ctx, KindGitHub, srv.URL+"/", "tok", Options{}, 10)
	if err != nil || len(repos) != 2 || !repos[0].Push || repos[1].Push || repos[0].FullName != "acme/site" {
		t.Errorf("VisibleRepos: %+v, %v", repos, err)
	}
	data, err := c.File(ctx, "dir/site.yaml", "feature/x")
	if err != nil || string(data) != "name: acme\n" {
		t.Errorf("File: %q, %v", data, err)
	}
	if _, err := c.File(ctx, "missing.yaml", ""); Status(err) != http.StatusNotFound {
		t.Errorf("a missing file: %v", err)
	}
	checks, err := c.Checks(ctx, "abc")
	want := []Check{{Name: "ci/plan", State: "success", Description: "planned"}, {Name: "apply", State: "pending"},
		{Name: "validate", State: "failure", Description: "site.yaml has 1 mistake"}}
	if got, _ := json.Marshal(checks); err != nil || string(got) != mustJSON(want) {
		t.Errorf("Checks: %s, %v", got, err)
	}
	if err := c.Merge(ctx, 7, "abc"); err != nil {
		t.Errorf("Merge: %v", err)
	}
	if err := c.Merge(ctx, 8, "abc"); !errors.Is(err, ErrHeadMoved) {
		t.Errorf("Merge of a moved head: %v", err)
	}
	if me, err := c.Me(ctx); err != nil || me != (Person{Login: "ada", Name: "Ada L"}) {
		t.Errorf("Me: %+v, %v", me, err)
	}
	wantSeen := []string{
		"GET /user/repos?affiliation=owner,collaborator,organization_member&sort=full_name&per_page=100&page=1",
		"GET /user/repos?affiliation=owner,collaborator,organization_member&sort=full_name&per_page=100&page=2",
		"GET /repos/acme/site/contents/dir/site.yaml?ref=feature%2Fx [application/vnd.github.raw+json]",
		"GET /repos/acme/site/contents/missing.yaml [application/vnd.github.raw+json]",
		"GET /repos/acme/site/commits/abc/status",
		"GET /repos/acme/site/commits/abc/check-runs?per_page=100",
		`PUT /repos/acme/site/pulls/7/merge {"merge_method":"merge","sha":"abc"}`,
		`PUT /repos/acme/site/pulls/8/merge {"merge_method":"merge","sha":"abc"}`,
		"GET /user",
	}
	if strings.Join(seen, "\n") != strings.Join(wantSeen, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(wantSeen, "\n"))
	}
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
