package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// offlineConsole is a console whose forge knows the person and has no repos: enough for
// the checks that come before any site is read.
func offlineConsole(t *testing.T, public string) *Server {
	t.Helper()
	forgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/user/repos" {
			_, _ = w.Write([]byte("[]"))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(forgeSrv.Close)
	s, err := New(Config{Forge: forgeSrv.URL, Kind: "gitea", ClientID: "console", PublicURL: public})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sessionCookieFor seals sess as the console would after a sign-in.
func sessionCookieFor(t testing.TB, s *Server, name string, v any) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.setCookie(rec, name, v, s.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

func validSession(s *Server) *Session {
	return &Session{Login: "ada", Token: "forge-token", CSRF: "the-csrf-token", Expires: s.now().Add(time.Hour).Unix()}
}

func TestConsoleCSRF(t *testing.T) {
	const public = "http://console.test"
	s := offlineConsole(t, public)
	cookie := sessionCookieFor(t, s, sessionCookie, validSession(s))
	for _, c := range []struct {
		name    string
		form    url.Values
		headers map[string]string
		cookie  bool
		want    int
	}{
		{"the console's own form", url.Values{"csrf": {"the-csrf-token"}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": public}, true, http.StatusSeeOther},
		{"a client without browser headers", url.Values{"csrf": {"the-csrf-token"}}, nil, true, http.StatusSeeOther},
		{"no token", url.Values{}, nil, true, http.StatusForbidden},
		{"a wrong token", url.Values{"csrf": {"the-csrf-tokeN"}}, nil, true, http.StatusForbidden},
		{"a token of another length", url.Values{"csrf": {"x"}}, nil, true, http.StatusForbidden},
		{"cross-site, right token", url.Values{"csrf": {"the-csrf-token"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, true, http.StatusForbidden},
		{"same-site other origin", url.Values{"csrf": {"the-csrf-token"}}, map[string]string{"Sec-Fetch-Site": "same-site"}, true, http.StatusForbidden},
		{"foreign Origin, no Sec-Fetch-Site", url.Values{"csrf": {"the-csrf-token"}}, map[string]string{"Origin": "http://evil.example"}, true, http.StatusForbidden},
		{"no session", url.Values{"csrf": {"the-csrf-token"}}, nil, false, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", public+"/logout", strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			if c.cookie {
				req.AddCookie(cookie)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d\n%s", rec.Code, c.want, rec.Body)
			}
			if c.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), `id="error-message"`) {
				t.Errorf("a refusal without a message:\n%s", rec.Body)
			}
		})
	}
}

func TestConsoleSession(t *testing.T) {
	const public = "http://console.test"
	s := offlineConsole(t, public)
	good := validSession(s)
	expired := validSession(s)
	expired.Expires = s.now().Add(-time.Minute).Unix()
	tampered := sessionCookieFor(t, s, sessionCookie, good)
	raw := []byte(tampered.Value)
	raw[len(raw)/2] ^= 1
	tampered.Value = string(raw)
	otherKey := offlineConsole(t, public)
	for _, c := range []struct {
		name     string
		cookie   *http.Cookie
		signedIn bool
	}{
		{"valid", sessionCookieFor(t, s, sessionCookie, good), true},
		{"tampered", tampered, false},
		{"expired", sessionCookieFor(t, s, sessionCookie, expired), false},
		{"sealed by another console", sessionCookieFor(t, otherKey, sessionCookie, good), false},
		// A value sealed for the sign-in cookie does not open as a session.
		{"another cookie's value", &http.Cookie{Name: sessionCookie, Value: sessionCookieFor(t, s, loginCookie, good).Value}, false},
		{"garbage", &http.Cookie{Name: sessionCookie, Value: "not-base64!"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", public+"/", nil)
			req.AddCookie(c.cookie)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			body := rec.Body.String()
			if got := strings.Contains(body, "Signed in as <strong>ada</strong>"); got != c.signedIn {
				t.Fatalf("signed in: %v, want %v (status %d)\n%s", got, c.signedIn, rec.Code, body)
			}
			if !c.signedIn && !strings.Contains(body, `id="expired"`) {
				t.Error("the sign-in page does not say the sign-in ended")
			}
		})
	}
}

func TestConsoleSessionCookieAttributes(t *testing.T) {
	for _, c := range []struct {
		public, name string
		secure       bool
	}{
		{"https://console.example.org", "__Host-nassella_session", true},
		{"http://127.0.0.1:8470", "nassella_session", false},
	} {
		s := offlineConsole(t, c.public)
		rec := httptest.NewRecorder()
		if err := s.setCookie(rec, sessionCookie, validSession(s), s.now().Add(SessionLength)); err != nil {
			t.Fatal(err)
		}
		ck := rec.Result().Cookies()[0]
		if ck.Name != c.name || ck.Secure != c.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" ||
			ck.MaxAge <= 0 || ck.MaxAge > int(SessionLength.Seconds()) {
			t.Errorf("%s: cookie %+v", c.public, ck)
		}
		if strings.Contains(ck.Value, "forge-token") || strings.Contains(ck.Value, "ada") {
			t.Errorf("%s: the cookie shows its content", c.public)
		}
	}
}

func TestConsoleHeadersOnEveryResponse(t *testing.T) {
	const public = "http://console.test"
	s := offlineConsole(t, public)
	signed := sessionCookieFor(t, s, sessionCookie, validSession(s))
	for _, c := range []struct {
		method, path string
		cookie       bool
		want         int
	}{
		{"GET", "/", false, http.StatusOK},
		{"GET", "/", true, http.StatusOK},
		{"GET", "/static/console.css", false, http.StatusOK},
		{"GET", "/static/console.js", false, http.StatusOK},
		{"GET", "/login", false, http.StatusSeeOther},
		{"GET", "/oauth/callback?state=x&code=y", false, http.StatusBadRequest},
		{"GET", "/no/such/page", true, http.StatusNotFound},
		{"GET", "/site/ada/missing", true, http.StatusNotFound},
		{"POST", "/logout", true, http.StatusForbidden},
	} {
		req := httptest.NewRequest(c.method, public+c.path, nil)
		if c.cookie {
			req.AddCookie(signed)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		h := rec.Header()
		if rec.Code != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.want)
		}
		if got := h.Get("Content-Security-Policy"); got != contentSecurityPolicy {
			t.Errorf("%s %s: CSP %q", c.method, c.path, got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: headers %v", c.method, c.path, h)
		}
		if !strings.HasPrefix(c.path, "/static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", c.method, c.path, h.Get("Cache-Control"))
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && strings.Contains(rec.Body.String(), "<script>") {
			t.Errorf("%s %s: an inline script", c.method, c.path)
		}
	}
}

func TestConsoleLoginSendsPKCEAndState(t *testing.T) {
	s := offlineConsole(t, "http://console.test")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://console.test/login", nil))
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/login/oauth/authorize" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 ||
		len(q.Get("state")) < 43 || q.Get("redirect_uri") != "http://console.test/oauth/callback" || q.Get("scope") != strings.Join(giteaScopes, " ") {
		t.Errorf("authorize URL %s", u)
	}
	// The callback with another state is refused even with the browser's login cookie.
	req := httptest.NewRequest("GET", "http://console.test/oauth/callback?code=c&state=other", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "does not belong to this sign-in") {
		t.Errorf("a foreign state: %d\n%s", rec.Code, rec.Body)
	}
}
