package butane_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// paperlessServer models POST /api/token/ as github:paperless-ngx/paperless-ngx shows it
// at tag v2.20.15: PaperlessObtainAuthTokenView (src/paperless/views.py, routed in
// src/paperless/urls.py) is Django REST framework's ObtainAuthToken
// (rest_framework/authtoken/views.py): POST only (405 otherwise), the fields username and
// password from a form or JSON, 400 when they match no user, {"token": ...} otherwise.
// users is the superuser table manage_superuser fills from the environment
// (src/documents/management/commands/manage_superuser.py): empty on a fresh install.
type paperlessServer struct {
	users map[string]string // name → password
}

func paperlessJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *paperlessServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/token/" {
		paperlessJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	if r.Method != http.MethodPost {
		paperlessJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
		return
	}
	body, _ := io.ReadAll(r.Body)
	fields := map[string]string{}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/x-www-form-urlencoded":
		form, _ := url.ParseQuery(string(body))
		for k := range form {
			fields[k] = form.Get(k)
		}
	case "application/json":
		_ = json.Unmarshal(body, &fields)
	default:
		paperlessJSON(w, http.StatusUnsupportedMediaType, map[string]string{"detail": `Unsupported media type "` + mt + `" in request.`})
		return
	}
	name, password := fields["username"], fields["password"]
	if name == "" || password == "" {
		paperlessJSON(w, http.StatusBadRequest, map[string][]string{"username": {"This field is required."}})
		return
	}
	if pw, ok := s.users[name]; !ok || pw != password {
		paperlessJSON(w, http.StatusBadRequest, map[string][]string{"non_field_errors": {"Unable to log in with provided credentials."}})
		return
	}
	key := sha1.Sum([]byte(name))
	paperlessJSON(w, http.StatusOK, map[string]string{"token": hex.EncodeToString(key[:])})
}

func TestClaimPaperless(t *testing.T) {
	pw := testSecret("ADMIN_PASSWORD", 24)
	// The image made the superuser admin from PAPERLESS_ADMIN_USER and _PASSWORD.
	first := runClaim(t, "paperless-ngx", &paperlessServer{users: map[string]string{"admin": pw}})
	wantClaimed(t, first, "paperless-ngx", "admin")
	wantSent(t, first.Requests, []recordedRequest{{Method: "POST", Path: "/api/token/", Body: "username=admin&password=" + pw,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}})

	// A fresh install without the superuser, where the first to sign up would become it:
	// the claim fails and the app stays shut.
	wantRefused(t, runClaim(t, "paperless-ngx", &paperlessServer{}), "step 1 (POST /api/token/) answered 400, want 200")
	// Something else answering 200 does not pass for Paperless.
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"token": null}`)) })
	wantRefused(t, runClaim(t, "paperless-ngx", other), "step 1 (POST /api/token/) answered 200 without what it should say")
}

// The model refuses what Paperless refuses.
func TestPaperlessModel(t *testing.T) {
	for name, c := range map[string]struct {
		method, contentType, body string
		status                    int
	}{
		"a GET":              {"GET", "", "", 405},
		"a wrong password":   {"POST", "application/x-www-form-urlencoded", "username=admin&password=nope", 400},
		"no password":        {"POST", "application/x-www-form-urlencoded", "username=admin", 400},
		"plain text":         {"POST", "text/plain", "username=admin&password=pw", 415},
		"as JSON":            {"POST", "application/json", `{"username": "admin", "password": "pw"}`, 200},
		"as a form, rightly": {"POST", "application/x-www-form-urlencoded", "username=admin&password=pw", 200},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://paperless.example/api/token/", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			w := httptest.NewRecorder()
			(&paperlessServer{users: map[string]string{"admin": "pw"}}).ServeHTTP(w, req)
			if w.Code != c.status {
				t.Errorf("answered %d %s, want %d", w.Code, strings.TrimSpace(w.Body.String()), c.status)
			}
		})
	}
}
