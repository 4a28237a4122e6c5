package butane_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// vaultwardenServer models Vaultwarden's admin page sign-in, its invitation and the first
// step of registering, as github:dani-garcia/vaultwarden shows them at tag 1.37.2:
//   - POST /admin: post_admin_login, src/api/admin.rs, only as a form (format =
//     "application/x-www-form-urlencoded"; Rocket matches no route otherwise), the field
//     token compared with ADMIN_TOKEN after trimming (validate_token); a wrong one answers
//     401 with the login page, a right one sets the cookie VW_ADMIN (path /admin, Secure
//     when X-Forwarded-Proto is https: Secure in src/auth.rs) and answers 200 with the
//     admin page, or 303 when the form names a redirect;
//   - POST /admin/invite: invite_user, only JSON {"email": ...} (InviteData), with a valid
//     VW_ADMIN cookie (AdminToken) or 401; 409 when the address has an account already;
//     otherwise an invited user (no password: "_status": 1, User::to_json in
//     src/db/models/user.rs), invited by e-mail when mail is on and by an Invitation row
//     when it is off;
//   - POST /identity/accounts/register/send-verification-email: register_verification_email,
//     src/api/identity.rs: with sign-ups off, only an address with an Invitation row, and
//     only while mail is off; with mail on, only the e-mailed invitation registers.
type vaultwardenServer struct {
	mu          sync.Mutex
	adminToken  string
	mail        bool
	sessions    map[string]bool
	users       map[string]bool // lower-case e-mail → invited, not registered yet
	invitations map[string]bool // Invitation rows
	mailed      []string        // invitations sent by e-mail
	n           int
}

func newVaultwardenServer(adminToken string, mail bool) *vaultwardenServer {
	return &vaultwardenServer{adminToken: adminToken, mail: mail, sessions: map[string]bool{}, users: map[string]bool{}, invitations: map[string]bool{}}
}

// vaultwardenError answers as Vaultwarden's Error does: JSON with the message.
func vaultwardenError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": message, "object": "error"})
}

func vaultwardenPage(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><body>%s</body></html>", text)
}

func (s *vaultwardenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/admin" && mt == "application/x-www-form-urlencoded":
		s.login(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/admin/invite" && mt == "application/json":
		s.invite(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/identity/accounts/register/send-verification-email" && mt == "application/json":
		var data struct{ Email string }
		if json.Unmarshal(body, &data) != nil || data.Email == "" {
			vaultwardenError(w, http.StatusUnprocessableEntity, "Unprocessable Entity")
			return
		}
		// SIGNUPS_ALLOWED is false and SIGNUPS_DOMAINS_WHITELIST unset: is_signup_allowed
		// is false, so only an invitation without mail lets an address on.
		if !(!s.mail && s.invitations[strings.ToLower(data.Email)]) {
			vaultwardenError(w, http.StatusBadRequest, "Registration not allowed or user already exists")
			return
		}
		_ = json.NewEncoder(w).Encode("eyJ0eXAiOiJKV1QifQ.register.sig")
	default:
		vaultwardenPage(w, http.StatusNotFound, "Page not found")
	}
}

func (s *vaultwardenServer) login(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("token") {
		vaultwardenPage(w, http.StatusUnprocessableEntity, "Unprocessable Entity")
		return
	}
	if strings.TrimSpace(form.Get("token")) != strings.TrimSpace(s.adminToken) {
		vaultwardenPage(w, http.StatusUnauthorized, "Error: Invalid admin token, please try again.")
		return
	}
	s.n++
	jwt := fmt.Sprintf("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbl9wYW5lbCJ9.c2lnbmVk-%d", s.n)
	s.sessions[jwt] = true
	http.SetCookie(w, &http.Cookie{Name: "VW_ADMIN", Value: jwt, Path: "/admin", MaxAge: 1200, SameSite: http.SameSiteStrictMode,
		HttpOnly: true, Secure: r.Header.Get("X-Forwarded-Proto") == "https"})
	if redirect := form.Get("redirect"); redirect != "" {
		http.Redirect(w, r, "/admin"+redirect, http.StatusSeeOther)
		return
	}
	vaultwardenPage(w, http.StatusOK, "Vaultwarden Admin Panel: Settings")
}

func (s *vaultwardenServer) invite(w http.ResponseWriter, r *http.Request, body []byte) {
	c, err := r.Cookie("VW_ADMIN")
	if err != nil || !s.sessions[c.Value] {
		vaultwardenError(w, http.StatusUnauthorized, "Authorization failed.")
		return
	}
	var data struct {
		Email *string `json:"email"`
	}
	if json.Unmarshal(body, &data) != nil || data.Email == nil {
		vaultwardenError(w, http.StatusUnprocessableEntity, "Unprocessable Entity")
		return
	}
	email := strings.ToLower(*data.Email) // User::new and find_by_mail
	if _, ok := s.users[email]; ok {
		vaultwardenError(w, http.StatusConflict, "User already exists")
		return
	}
	if s.mail {
		s.mailed = append(s.mailed, email)
	} else {
		s.invitations[email] = true
	}
	s.users[email] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"_status": 1, "id": "5d0c1f7e-2b3a-4c5d-8e9f-0a1b2c3d4e5f", "name": "", "email": email,
		"emailVerified": !s.mail, "premium": true, "key": nil, "privateKey": nil, "organizations": []any{}, "object": "profile"})
}

// register asks to register address as the web vault's "Create account" does first.
func (s *vaultwardenServer) register(address string) int {
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/identity/accounts/register/send-verification-email", strings.NewReader(`{"email": "`+address+`", "name": "Someone"}`))
	req.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(w, req)
	return w.Code
}

func TestClaimVaultwarden(t *testing.T) {
	token := testSecret("ADMIN_TOKEN", 48) // the admin token the claim's secrets file holds
	for _, mail := range []bool{true, false} {
		t.Run(fmt.Sprintf("outgoing mail %v", mail), func(t *testing.T) {
			vw := newVaultwardenServer(token, mail)
			first := runClaim(t, "vaultwarden", vw)
			if first.Err != nil || !first.Claimed || first.Failed != "" {
				t.Fatalf("the claim failed: err %v, claimed %v, reason %q\n%s", first.Err, first.Claimed, first.Failed, first.Output)
			}
			// The owner is shown the address to register and the admin page's token.
			if want := "vaultwarden\tclaimed\tops@everything.example\t" + token + "\t\n"; first.Credentials != want {
				t.Errorf("credentials %q, want %q", first.Credentials, want)
			}
			wantSent(t, first.Requests, []recordedRequest{
				{Method: "POST", Path: "/admin", Body: "token=" + token, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
				{Method: "POST", Path: "/admin/invite", Body: `{"email": "ops@everything.example"}`, Header: http.Header{"Content-Type": {"application/json"}}},
			})
			// The session cookie, marked Secure since the runner says https, goes back by the
			// step's own Cookie header.
			if len(first.Requests) == 2 {
				req := &http.Request{Header: first.Requests[1].Header}
				c, err := req.Cookie("VW_ADMIN")
				if err != nil || !vw.sessions[c.Value] {
					t.Errorf("the invitation did not carry the admin session: %v", first.Requests[1].Header.Values("Cookie"))
				}
			}

			// Only the site's admin e-mail may register, and with mail on only through the
			// e-mailed invitation.
			if invited := vw.users["ops@everything.example"]; !invited {
				t.Errorf("ops@everything.example is not invited: %v", vw.users)
			}
			if mail && (len(vw.mailed) != 1 || vw.mailed[0] != "ops@everything.example" || vw.register("ops@everything.example") != 400) {
				t.Errorf("with mail on, the invitation is not e-mailed only: mailed %v", vw.mailed)
			}
			if !mail && vw.register("ops@everything.example") != 200 {
				t.Errorf("with mail off, the invited address cannot register")
			}
			if code := vw.register("someone@else.example"); code != 400 {
				t.Errorf("another address could register: %d", code)
			}

			// A second claim: the address exists already, and the app stays shut.
			wantRefused(t, runClaim(t, "vaultwarden", vw), "step 2 (POST /admin/invite) answered 409, want 200")
		})
	}

	// A Vaultwarden with another admin token: the first step fails and says where.
	wantRefused(t, runClaim(t, "vaultwarden", newVaultwardenServer("another", true)), "step 1 (POST /admin) answered 401, want 200")
}

// The model refuses what Vaultwarden refuses.
func TestVaultwardenModel(t *testing.T) {
	const form, js = "application/x-www-form-urlencoded", "application/json"
	for name, c := range map[string]struct {
		method, path, contentType, body string
		signedIn                        bool
		status                          int
	}{
		"sign-in as JSON":          {"POST", "/admin", js, `{"token": "t0k"}`, false, 404},
		"sign-in without a token":  {"POST", "/admin", form, "password=t0k", false, 422},
		"sign-in with another":     {"POST", "/admin", form, "token=nope", false, 401},
		"sign-in":                  {"POST", "/admin", form, "token=t0k", false, 200},
		"sign-in with a redirect":  {"POST", "/admin", form, "token=t0k&redirect=/users", false, 303},
		"an invitation signed out": {"POST", "/admin/invite", js, `{"email": "a@b.example"}`, false, 401},
		"an invitation as a form":  {"POST", "/admin/invite", form, "email=a%40b.example", true, 404},
		"an invitation by GET":     {"GET", "/admin/invite", js, "", true, 404},
		"an invitation to nobody":  {"POST", "/admin/invite", js, `{"mail": "a@b.example"}`, true, 422},
		"an invitation":            {"POST", "/admin/invite", js, `{"email": "a@b.example"}`, true, 200},
		"registering uninvited":    {"POST", "/identity/accounts/register/send-verification-email", js, `{"email": "a@b.example"}`, false, 400},
	} {
		t.Run(name, func(t *testing.T) {
			s := newVaultwardenServer("t0k", false)
			req := httptest.NewRequest(c.method, "http://vault.example"+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			if c.signedIn {
				s.sessions["jwt"] = true
				req.AddCookie(&http.Cookie{Name: "VW_ADMIN", Value: "jwt"})
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != c.status {
				t.Errorf("answered %d %s, want %d", w.Code, strings.TrimSpace(w.Body.String()), c.status)
			}
		})
	}
	// Behind https the session cookie is Secure, so a client on plain http drops it.
	s := newVaultwardenServer("t0k", false)
	req := httptest.NewRequest("POST", "http://vault.example/admin", strings.NewReader("token=t0k"))
	req.Header.Set("Content-Type", form)
	req.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != "VW_ADMIN" || !c[0].Secure || c[0].Path != "/admin" {
		t.Errorf("cookies %v", c)
	}
}
