package butane_test

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// absServer models Audiobookshelf's first start as its source shows it (server/Server.js
// at v2.36.0): POST /init, no login, answers 500 once a root user exists
// (Database.hasRootUser), else initializeServer creates the root user from
// req.body.newRoot — its username, or root when empty, and its password, none when empty
// — and answers 200 "OK". Only express.json parses a JSON body (application/json); a body
// without newRoot throws in initializeServer, an unhandled rejection on which the server
// logs and exits, so the request gets no answer. Other routes fall through to 404.
type absServer struct {
	mu   sync.Mutex
	root *absUser
}

type absUser struct{ Username, Password string }

func (s *absServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/init" {
		http.Error(w, "Cannot "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	body := map[string]any{}
	raw, _ := io.ReadAll(r.Body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "Bad Request", http.StatusBadRequest) // body-parser's answer
			return
		}
	}
	newRoot, ok := body["newRoot"].(map[string]any)
	if !ok {
		panic(http.ErrAbortHandler) // newRoot.username of undefined: the process exits
	}
	username, _ := newRoot["username"].(string)
	if username == "" {
		username = "root"
	}
	password, _ := newRoot["password"].(string)
	s.root = &absUser{Username: username, Password: password}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK") // res.sendStatus(200)
}

func TestClaimAudiobookshelf(t *testing.T) {
	abs := &absServer{}
	first := runClaim(t, "audiobookshelf", abs)
	pw := wantClaimed(t, first, "audiobookshelf", "root")
	wantOneRequest(t, first.Requests, "POST", "/init", "application/json",
		`{"newRoot": {"username": "root", "password": "`+pw+`"}}`)
	if u := abs.root; u == nil || u.Username != "root" || u.Password != pw {
		t.Errorf("root user %+v, want root with the generated password", u)
	}

	// Once there is a root user, /init is refused: the claim fails and the app stays shut.
	wantRefused(t, runClaim(t, "audiobookshelf", abs), "step 1 (POST /init) answered 500, want 200")
	if abs.root.Password != pw {
		t.Errorf("the second claim changed the root user")
	}
}

// The model refuses what Audiobookshelf refuses.
func TestClaimAudiobookshelfModel(t *testing.T) {
	for name, c := range map[string]struct {
		method, path, contentType, body string
		status                          int // 0: no answer
	}{
		"a GET":             {"GET", "/init", "application/json", ``, 404},
		"another path":      {"POST", "/api/init", "application/json", `{"newRoot": {"username": "root", "password": "p"}}`, 404},
		"no newRoot":        {"POST", "/init", "application/json", `{"username": "root", "password": "p"}`, 0},
		"not JSON":          {"POST", "/init", "text/plain", `{"newRoot": {"username": "root", "password": "p"}}`, 0},
		"the first is fine": {"POST", "/init", "application/json", `{"newRoot": {"password": "p"}}`, 200},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(&absServer{})
			defer srv.Close()
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			status := 0
			if resp, err := http.DefaultClient.Do(req); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			if status != c.status {
				t.Errorf("answered %d, want %d", status, c.status)
			}
		})
	}
}
