package console

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// The console's defences, applied to every request in one place.

// contentSecurityPolicy allows the console's own script, styles and images and nothing
// else: no inline script or style, no frames, forms posting only back to the console.
// connect-src lets logs.js's EventSource reach the console (without it default-src
// 'none' applies and the live log view is blocked: MDN, CSP connect-src).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxForm is the largest request body the console reads: its forms are a few fields.
const maxForm = 64 << 10

// statusRecorder remembers the status a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection: a streaming page (the live
// log of a SiteTool) flushes and extends its write deadline through it.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// protect sets the security headers on every response, bounds the request body, turns
// away cross-origin writes, and logs one line per request: method, path (never the query,
// which carries the OAuth2 code), status and time.
func (s *Server) protect(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	_ = cop.AddTrustedOrigin(s.origin)
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusForbidden, "This form was sent from another website, so the console did not act on it. Open the console yourself and try again.")
	}))
	guarded := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages hold a person's private view of their sites.
			h.Set("Cache-Control", "no-store")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		rec := &statusRecorder{ResponseWriter: w}
		guarded.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

// handler is a page for a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, sess *Session)

// signedIn serves h to a signed-in person and sends anyone else to the sign-in page.
func (s *Server) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.session(r)
		if sess == nil {
			s.render(w, r, nil, http.StatusOK, "signin", signinData{Expired: hasCookie(r, s.cookieName(sessionCookie))})
			return
		}
		if !s.fresh(w, r, sess) {
			return
		}
		h(w, r, sess)
	}
}

// form is signedIn for a form's POST: the form must carry the session's CSRF token
// (compared in constant time). Cross-origin posts were turned away before (protect).
func (s *Server) form(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, nil, http.StatusRequestEntityTooLarge, "The form was too large or could not be read.")
			return
		}
		sess := s.session(r)
		if sess == nil {
			s.fail(w, r, nil, http.StatusForbidden, "You are not signed in (or your sign-in ended), so nothing was changed. Sign in and try again.")
			return
		}
		got := r.PostForm.Get("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			s.fail(w, r, sess, http.StatusForbidden, "This form is out of date or did not come from the console, so nothing was changed. Reload the page and try again.")
			return
		}
		if !s.fresh(w, r, sess) {
			return
		}
		h(w, r, sess)
	}
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}
