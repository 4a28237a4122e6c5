package butane_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
)

// immichServer models Immich's first-administrator sign-up as its source shows it:
// server/src/controllers/auth.controller.ts, signUpAdmin (POST /api/auth/admin-sign-up, no
// login, 201 as any NestJS @Post without @HttpCode); server/src/dtos/auth.dto.ts,
// SignUpSchema (email, password and name, all required; other keys are dropped);
// server/src/services/auth.service.ts, adminSignUp (400 once an administrator exists).
// The answer's fields are those of e2e/src/responses.ts, signupResponseDto.
type immichServer struct {
	mu    sync.Mutex
	admin *immichUser
}

type immichUser struct{ Email, Name, Password string }

// immichError answers as NestJS's exception filter does.
func immichError(w http.ResponseWriter, status int, message any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": message, "error": http.StatusText(status), "statusCode": status})
}

func (s *immichServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/auth/admin-sign-up" {
		immichError(w, http.StatusNotFound, fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
		return
	}
	// Express's JSON parser reads only application/json; any other body stays empty.
	dto := map[string]any{}
	body, _ := io.ReadAll(r.Body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.Unmarshal(body, &dto); err != nil {
			immichError(w, http.StatusBadRequest, "Unexpected token in JSON")
			return
		}
	}
	email, _ := dto["email"].(string)
	password, okPassword := dto["password"].(string)
	name, okName := dto["name"].(string)
	var problems []string
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		problems = append(problems, "[email] Invalid email address")
	}
	if !okPassword {
		problems = append(problems, "[password] Invalid input: expected string")
	}
	if !okName {
		problems = append(problems, "[name] Invalid input: expected string")
	}
	if len(problems) > 0 {
		immichError(w, http.StatusBadRequest, problems)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		immichError(w, http.StatusBadRequest, "The server already has an admin")
		return
	}
	s.admin = &immichUser{Email: strings.ToLower(email), Name: name, Password: password}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "9a8b7c6d-0000-4000-8000-000000000001", "email": s.admin.Email, "name": name, "isAdmin": true,
		"storageLabel": "admin", "shouldChangePassword": true, "status": "active", "oauthId": "",
		"profileImagePath": "", "quotaSizeInBytes": nil, "quotaUsageInBytes": 0, "license": nil, "deletedAt": nil,
	})
}

// wantOneRequest checks that the claim sent exactly one request: method, path, content
// type and body.
func wantOneRequest(t *testing.T, got []*recordedRequest, method, path, contentType, body string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%d requests, want one", len(got))
	}
	r := got[0]
	if r.Method != method || r.Path != path || r.Header.Get("Content-Type") != contentType || r.Body != body {
		t.Errorf("request %s %s (%s) %s\nwant %s %s (%s) %s", r.Method, r.Path, r.Header.Get("Content-Type"), r.Body, method, path, contentType, body)
	}
}

func TestClaimImmich(t *testing.T) {
	immich := &immichServer{}
	first := runClaim(t, "immich", immich)
	pw := wantClaimed(t, first, "immich", "ops@everything.example")
	wantOneRequest(t, first.Requests, "POST", "/api/auth/admin-sign-up", "application/json",
		`{"email": "ops@everything.example", "password": "`+pw+`", "name": "Admin"}`)
	if a := immich.admin; a == nil || a.Email != "ops@everything.example" || a.Password != pw {
		t.Errorf("administrator %+v, want ops@everything.example with the generated password", a)
	}

	// A second sign-up, to the same server: refused, and the app stays shut.
	second := runClaim(t, "immich", immich)
	wantRefused(t, second, "step 1 (POST /api/auth/admin-sign-up) answered 400, want 201")
	if a := immich.admin; a.Password != pw {
		t.Errorf("the second claim changed the administrator")
	}

	// Something other than Immich's sign-up answering 201 does not claim the app.
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"isAdmin":false}`)
	})
	wantRefused(t, runClaim(t, "immich", other), "step 1 (POST /api/auth/admin-sign-up) answered 201 without what it should say")
}

// The model refuses what Immich refuses.
func TestClaimImmichModel(t *testing.T) {
	for name, c := range map[string]struct {
		method, path, contentType, body string
		status                          int
	}{
		"a GET":             {"GET", "/api/auth/admin-sign-up", "application/json", `{}`, 404},
		"another path":      {"POST", "/api/auth/sign-up", "application/json", `{"email": "a@b.example", "password": "p", "name": "n"}`, 404},
		"no name":           {"POST", "/api/auth/admin-sign-up", "application/json", `{"email": "a@b.example", "password": "p"}`, 400},
		"a form":            {"POST", "/api/auth/admin-sign-up", "application/x-www-form-urlencoded", `email=a%40b.example&password=p&name=n`, 400},
		"not an address":    {"POST", "/api/auth/admin-sign-up", "application/json", `{"email": "admin", "password": "p", "name": "n"}`, 400},
		"the first is fine": {"POST", "/api/auth/admin-sign-up", "application/json", `{"email": "A@b.example", "password": "p", "name": "n", "x": 1}`, 201},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "http://photos.example"+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			w := httptest.NewRecorder()
			(&immichServer{}).ServeHTTP(w, req)
			if w.Code != c.status {
				t.Errorf("answered %d, want %d", w.Code, c.status)
			}
		})
	}
}
