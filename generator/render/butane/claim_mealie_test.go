package butane_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// mealieServer models the part of Mealie's API the claim uses, as github:mealie-recipes/
// mealie shows it at v2.0.0 and in the stored files of 2026 where they differ (v3.28.0
// itself is not stored):
//   - the default administrator: default_user_init, mealie/repos/seed/init_users.py, with
//     every permission (_set_permissions, mealie/db/models/users/users.py) in the group
//     Home and the household Family (DEFAULT_GROUP, DEFAULT_HOUSEHOLD,
//     mealie/core/settings/settings.py);
//   - POST /api/auth/token: get_token, mealie/routes/auth/auth.py, form fields only
//     (CredentialsRequestForm, mealie/schema/user/auth.py), a user name or an e-mail
//     (AuthProvider.try_get_user), 401 on a wrong password, 423 once locked out;
//   - the token in the Authorization header or the mealie.access_token cookie
//     (get_current_user, mealie/core/dependencies/dependencies.py), 401 otherwise;
//   - GET /api/users/self, PUT /api/users/password and PUT /api/users/{item_id}
//     (mealie/routes/users/crud.py; assert_user_change_allowed, mealie/routes/users/
//     _helpers.py), bodies in camelCase or snake_case (MealieModel, populate_by_name),
//     FastAPI's 404, 405 and 422.
type mealieServer struct {
	mu       sync.Mutex
	users    []*mealieUser
	sessions map[string]string // token → user id
	n        int
	// endSessions ends a user's sessions when their password changes, as a stored setup.vue
	// of 2026 says Mealie does ("Changing the password invalidates this session"); v2.0.0
	// keeps them. The claim has to work either way.
	endSessions bool
}

type mealieUser struct {
	ID, Username, FullName, Email, Password, Group, Household              string
	Admin, Advanced, CanInvite, CanManage, CanManageHousehold, CanOrganize bool
	Locked                                                                 bool
}

const mealieAdminID = "3f2c5b1e-8d4a-4c7e-9b1f-0a2d6e8c4b71"

func newMealieServer() *mealieServer {
	return &mealieServer{sessions: map[string]string{}, users: []*mealieUser{{
		ID: mealieAdminID, Username: "admin", FullName: "Change Me", Email: "changeme@example.com", Password: "MyPassword",
		Group: "Home", Household: "Family", Admin: true, Advanced: true, CanInvite: true, CanManage: true, CanManageHousehold: true, CanOrganize: true,
	}}}
}

// mealieError answers as FastAPI does: {"detail": ...}.
func mealieError(w http.ResponseWriter, status int, detail any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"detail": detail})
}

func mealieOK(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

var mealieUUIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (s *mealieServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	rest, isUser := strings.CutPrefix(r.URL.Path, "/api/users/")
	switch {
	case r.URL.Path != "/api/auth/token" && (!isUser || rest == "" || strings.Contains(rest, "/")):
		mealieError(w, http.StatusNotFound, "Not Found")
		return
	case r.URL.Path == "/api/auth/token" && r.Method != http.MethodPost,
		isUser && !(r.Method == http.MethodGet && rest == "self" || r.Method == http.MethodPut):
		mealieError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if r.URL.Path == "/api/auth/token" {
		s.token(w, r, body)
		return
	}
	user := s.current(r)
	if user == nil {
		mealieError(w, http.StatusUnauthorized, "Could not validate credentials")
		return
	}
	switch {
	case r.Method == http.MethodGet:
		mealieOK(w, map[string]any{
			"id": user.ID, "username": user.Username, "fullName": user.FullName, "email": user.Email, "authMethod": "Mealie",
			"admin": user.Admin, "group": user.Group, "household": user.Household, "advanced": user.Advanced,
			"canInvite": user.CanInvite, "canManage": user.CanManage, "canManageHousehold": user.CanManageHousehold, "canOrganize": user.CanOrganize,
			"groupId": "0b6e3c1a-4f2d-4a8e-9c7b-5d1e2f3a4b5c", "groupSlug": "home", "householdId": "1c7f4d2b-5e3a-4b9f-8d6c-6e2f3a4b5c6d",
			"householdSlug": "family", "tokens": []any{}, "cacheKey": "1234",
		})
	case rest == "password":
		s.changePassword(w, r, user, body)
	default:
		s.updateUser(w, r, user, rest, body)
	}
}

func (s *mealieServer) token(w http.ResponseWriter, r *http.Request, body []byte) {
	// Form(""): any other body leaves both fields empty, which matches no user.
	var form url.Values
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, _ = url.ParseQuery(string(body))
	}
	login, password := form.Get("username"), form.Get("password")
	var user *mealieUser
	for _, u := range s.users {
		if strings.EqualFold(u.Username, login) || strings.EqualFold(u.Email, login) {
			user = u
		}
	}
	if user != nil && user.Locked {
		mealieError(w, http.StatusLocked, "User is locked out")
		return
	}
	if user == nil || user.Password != password {
		mealieError(w, http.StatusUnauthorized, nil)
		return
	}
	s.n++
	tok := fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi%d.c2ln", s.n)
	s.sessions[tok] = user.ID
	// set_session_cookie: Secure when the visitor came over https.
	http.SetCookie(w, &http.Cookie{Name: "mealie.access_token", Value: tok, Path: "/", Secure: r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteLaxMode})
	mealieOK(w, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": 172800})
}

func (s *mealieServer) current(r *http.Request) *mealieUser {
	tok := ""
	if scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		tok = t
	} else if c, err := r.Cookie("mealie.access_token"); err == nil {
		tok = c.Value
	}
	for _, u := range s.users {
		if id, ok := s.sessions[tok]; ok && u.ID == id {
			return u
		}
	}
	return nil
}

// mealieBody decodes a JSON body as FastAPI does for a pydantic model; ok is false (and
// 422 answered) for anything else.
func mealieBody(w http.ResponseWriter, r *http.Request, body []byte) (map[string]any, bool) {
	m := map[string]any{}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" || json.Unmarshal(body, &m) != nil {
		mealieError(w, http.StatusUnprocessableEntity, []any{map[string]any{"type": "model_attributes_type", "msg": "Input should be a valid dictionary or object to extract fields from"}})
		return nil, false
	}
	return m, true
}

// mealieField reads a field by its camelCase alias or its Python name.
func mealieField(m map[string]any, camel, snake string) any {
	if v, ok := m[camel]; ok {
		return v
	}
	return m[snake]
}

func (s *mealieServer) changePassword(w http.ResponseWriter, r *http.Request, user *mealieUser, body []byte) {
	m, ok := mealieBody(w, r, body)
	if !ok {
		return
	}
	current, _ := mealieField(m, "currentPassword", "current_password").(string)
	next, _ := mealieField(m, "newPassword", "new_password").(string)
	if len(next) < 8 { // Field(..., min_length=8)
		mealieError(w, http.StatusUnprocessableEntity, []any{map[string]any{"type": "string_too_short", "loc": []string{"body", "newPassword"}}})
		return
	}
	if current != user.Password {
		mealieError(w, http.StatusBadRequest, map[string]any{"message": "Invalid current password", "error": true})
		return
	}
	user.Password = next
	if s.endSessions {
		for tok, id := range s.sessions {
			if id == user.ID {
				delete(s.sessions, tok)
			}
		}
	}
	mealieOK(w, map[string]any{"message": "Password updated", "error": false})
}

func (s *mealieServer) updateUser(w http.ResponseWriter, r *http.Request, user *mealieUser, id string, body []byte) {
	if !mealieUUIDRe.MatchString(id) {
		mealieError(w, http.StatusUnprocessableEntity, []any{map[string]any{"type": "uuid_parsing", "loc": []string{"path", "item_id"}}})
		return
	}
	m, ok := mealieBody(w, r, body)
	if !ok {
		return
	}
	email, ok := m["email"].(string)
	if !ok {
		mealieError(w, http.StatusUnprocessableEntity, []any{map[string]any{"type": "missing", "loc": []string{"body", "email"}}})
		return
	}
	flag := func(camel, snake string) bool { b, _ := mealieField(m, camel, snake).(bool); return b }
	str := func(camel, snake string) string { v, _ := mealieField(m, camel, snake).(string); return v }
	// assert_user_change_allowed: an administrator edits only themselves here, and keeps
	// their own permissions.
	if !user.Admin || id != user.ID {
		mealieError(w, http.StatusForbidden, map[string]any{"message": "Use the Admin API to update other users", "error": true})
		return
	}
	if flag("admin", "admin") != user.Admin || flag("canInvite", "can_invite") != user.CanInvite || flag("canManage", "can_manage") != user.CanManage ||
		flag("canManageHousehold", "can_manage_household") != user.CanManageHousehold || flag("canOrganize", "can_organize") != user.CanOrganize {
		mealieError(w, http.StatusForbidden, map[string]any{"message": "Admins can't change their own permissions", "error": true})
		return
	}
	// User.update looks the group and the household up by name; upstream would leave a user
	// without either, which the claim must never do, so the model refuses it.
	if str("group", "group") != "Home" || str("household", "household") != "Family" {
		mealieError(w, http.StatusBadRequest, map[string]any{"message": "Failed to update user", "error": true})
		return
	}
	user.Email = strings.ToLower(strings.TrimSpace(email))
	user.FullName = str("fullName", "full_name")
	user.Username = str("username", "username")
	if user.Username == "" {
		user.Username = user.FullName
	}
	user.Advanced = flag("advanced", "advanced")
	mealieOK(w, map[string]any{"message": "User updated", "error": false})
}

// signIn is the account a sign-in with login and password reaches, if any.
func (s *mealieServer) signIn(login, password string) *mealieUser {
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/auth/token", strings.NewReader(url.Values{"username": {login}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return nil
	}
	return s.users[0]
}

func TestClaimMealie(t *testing.T) {
	for _, endSessions := range []bool{false, true} {
		t.Run(fmt.Sprintf("sessions end with a new password: %v", endSessions), func(t *testing.T) {
			mealie := newMealieServer()
			mealie.endSessions = endSessions
			first := runClaim(t, "mealie", mealie)
			wantClaimed(t, first, "mealie", "ops@everything.example")
			pw := first.Secrets["ADMIN_PASSWORD"]
			bearer := "Bearer eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi1.c2ln"
			want := []recordedRequest{
				{Method: "POST", Path: "/api/auth/token", Body: "username=changeme%40example.com&password=MyPassword",
					Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
				{Method: "GET", Path: "/api/users/self", Header: http.Header{"Authorization": {bearer}}},
				{Method: "PUT", Path: "/api/users/" + mealieAdminID, Header: http.Header{"Authorization": {bearer}, "Content-Type": {"application/json"}},
					Body: `{"id": "` + mealieAdminID + `", "username": "admin", "fullName": "Admin", "email": "ops@everything.example", "admin": true, "group": "Home", "household": "Family", "advanced": true, "canInvite": true, "canManage": true, "canManageHousehold": true, "canOrganize": true}`},
				{Method: "PUT", Path: "/api/users/password", Header: http.Header{"Authorization": {bearer}, "Content-Type": {"application/json"}},
					Body: `{"currentPassword": "MyPassword", "newPassword": "` + pw + `"}`},
			}
			wantSent(t, first.Requests, want)

			// The owner signs in with the site's e-mail and the generated password, as an
			// administrator; the documented default works no more, by e-mail or by name.
			if u := mealie.signIn("ops@everything.example", pw); u == nil || !u.Admin || u.Group != "Home" || u.Household != "Family" || !u.CanManage {
				t.Errorf("the owner cannot sign in as the administrator: %+v", u)
			}
			for _, login := range []string{"changeme@example.com", "admin"} {
				if mealie.signIn(login, "MyPassword") != nil {
					t.Errorf("%s / MyPassword still signs in", login)
				}
			}

			// A second claim: the default login is refused, and the app stays shut.
			wantRefused(t, runClaim(t, "mealie", mealie), "step 1 (POST /api/auth/token) answered 401, want 200")
		})
	}

	// A default administrator locked out by failed sign-ins (SECURITY_MAX_LOGIN_ATTEMPTS):
	// the claim fails and says where.
	locked := newMealieServer()
	locked.users[0].Locked = true
	wantRefused(t, runClaim(t, "mealie", locked), "step 1 (POST /api/auth/token) answered 423, want 200")
}

// wantSent checks the requests a claim sent, in order: method, path, body and the
// headers want names.
func wantSent(t *testing.T, got []*recordedRequest, want []recordedRequest) {
	t.Helper()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("%s %s %s", r.Method, r.Path, r.Body)
		}
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.Method || g.Path != w.Path || g.Body != w.Body {
			t.Errorf("request %d: %s %s %s\nwant %s %s %s", i+1, g.Method, g.Path, g.Body, w.Method, w.Path, w.Body)
		}
		for k, v := range w.Header {
			if g := g.Header.Values(k); strings.Join(g, "\n") != strings.Join(v, "\n") {
				t.Errorf("request %d: %s %q, want %q", i+1, k, g, v)
			}
		}
	}
}

// The model refuses what Mealie refuses.
func TestMealieModel(t *testing.T) {
	full := `{"id": "` + mealieAdminID + `", "email": "a@b.example", "admin": true, "group": "Home", "household": "Family", "canInvite": true, "canManage": true, "canManageHousehold": true, "canOrganize": true}`
	for name, c := range map[string]struct {
		method, path, contentType, body string
		signedIn                        bool
		status                          int
	}{
		"a token by GET":             {"GET", "/api/auth/token", "", "", false, 405},
		"a token from JSON":          {"POST", "/api/auth/token", "application/json", `{"username": "admin", "password": "MyPassword"}`, false, 401},
		"a token by user name":       {"POST", "/api/auth/token", "application/x-www-form-urlencoded", "username=admin&password=MyPassword", false, 200},
		"self without a token":       {"GET", "/api/users/self", "", "", false, 401},
		"another path":               {"GET", "/api/user/self", "", "", true, 404},
		"a short password":           {"PUT", "/api/users/password", "application/json", `{"currentPassword": "MyPassword", "newPassword": "short"}`, true, 422},
		"a wrong current password":   {"PUT", "/api/users/password", "application/json", `{"currentPassword": "x", "newPassword": "long enough"}`, true, 400},
		"a password as a form":       {"PUT", "/api/users/password", "application/x-www-form-urlencoded", "currentPassword=MyPassword&newPassword=long+enough", true, 422},
		"a password by POST":         {"POST", "/api/users/password", "application/json", `{"currentPassword": "MyPassword", "newPassword": "long enough"}`, true, 405},
		"an update without e-mail":   {"PUT", "/api/users/" + mealieAdminID, "application/json", `{"admin": true}`, true, 422},
		"an update dropping a right": {"PUT", "/api/users/" + mealieAdminID, "application/json", strings.Replace(full, `"canOrganize": true`, `"canOrganize": false`, 1), true, 403},
		"an update of someone else":  {"PUT", "/api/users/9a8b7c6d-0000-4000-8000-000000000001", "application/json", full, true, 403},
		"an update without a group":  {"PUT", "/api/users/" + mealieAdminID, "application/json", strings.Replace(full, `"group": "Home", `, "", 1), true, 400},
		"an update by a bad id":      {"PUT", "/api/users/1", "application/json", full, true, 422},
		"an update signed out":       {"PUT", "/api/users/" + mealieAdminID, "application/json", full, false, 401},
		"the whole update":           {"PUT", "/api/users/" + mealieAdminID, "application/json", full, true, 200},
	} {
		t.Run(name, func(t *testing.T) {
			s := newMealieServer()
			req := httptest.NewRequest(c.method, "http://recipes.example"+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.signedIn {
				s.sessions["t"] = mealieAdminID
				req.Header.Set("Authorization", "Bearer t")
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != c.status {
				t.Errorf("answered %d %s, want %d", w.Code, strings.TrimSpace(w.Body.String()), c.status)
			}
		})
	}
}
