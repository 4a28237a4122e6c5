package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/nassella/nassella/internal/forge"
)

// Signing in is OAuth2's authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636,
// S256) and a state bound to the browser by a sealed cookie.
//
// Gitea and Forgejo: GET /login/oauth/authorize, POST /login/oauth/access_token
// (go-gitea/gitea routers/web/web.go, the /login/oauth group; v1.26). A public client
// must send PKCE (routers/web/auth/oauth2_provider.go AuthorizeOAuth: "PKCE is required
// for public clients"). Scopes narrow the token to what the console uses
// (services/oauth2_provider/access_token.go GrantAdditionalScopes; models/auth/access_token_scope.go):
// the user's profile, the repos (read files, push a branch, open and merge pull
// requests) and reading issue comments (the plan comment).
//
// GitHub: https://github.com/login/oauth/authorize and /login/oauth/access_token
// (docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps), which
// accept PKCE with S256 only (github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication);
// an OAuth app always needs its client secret as well; "repo" reads and pushes private repos and merges, and
// "workflow" is needed to push commits that change .github/workflows files, which
// regenerating a site may do (docs.github.com/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
var (
	giteaScopes  = []string{"read:user", "write:repository", "read:issue"}
	githubScopes = []string{"repo", "workflow"}
)

func oauthConfig(cfg Config) *oauth2.Config {
	c := &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.PublicURL + "/oauth/callback"}
	web := cfg.Forge
	if cfg.Kind == forge.KindGitHub {
		c.Scopes = githubScopes
		c.Endpoint = oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
		return c
	}
	c.Scopes = giteaScopes
	// Gitea reads client_id (and a confidential client's client_secret) from the form
	// body or from basic auth (AccessTokenOAuth); the body suits a public client too.
	c.Endpoint = oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
	return c
}

// oauthContext makes the oauth2 library reach the forge through the console's transport.
func (s *Server) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: s.cfg.Transport, Timeout: 30 * time.Second})
}

// login sends the browser to the forge to sign in and approve the console.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	st := loginState{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Expires: s.now().Add(10 * time.Minute).Unix()}
	if err := s.setCookie(w, loginCookie, st, s.now().Add(10*time.Minute)); err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "The console could not start signing you in.")
		return
	}
	http.Redirect(w, r, s.oauth.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), http.StatusSeeOther)
}

// callback is where the forge sends the browser back: the state must be the one this
// browser was given, then the code is exchanged (with the PKCE verifier) for the person's
// token, and the session cookie is set.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	var st loginState
	ok := s.readCookie(r, loginCookie, &st)
	s.clearCookie(w, loginCookie)
	q := r.URL.Query()
	if !ok || s.now().Unix() > st.Expires {
		s.fail(w, r, nil, http.StatusBadRequest, "Signing in took too long or was started in another browser. Sign in again.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		s.fail(w, r, nil, http.StatusBadRequest, "The forge's answer does not belong to this sign-in, so it was ignored. Sign in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "The forge did not sign you in."
		if e == "access_denied" {
			msg = "You did not allow the console to act for you, so you are not signed in."
		}
		s.fail(w, r, nil, http.StatusForbidden, msg)
		return
	}
	ctx := s.oauthContext(r.Context())
	tok, err := s.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		s.log.Warn("oauth2 code exchange failed", "error", oauthError(err))
		s.fail(w, r, nil, http.StatusBadGateway, "The forge did not accept the sign-in. Check that the console's OAuth2 application (client id, redirect URI "+s.oauth.RedirectURL+") is registered as the console expects, then sign in again.")
		return
	}
	fc, err := forge.New(s.cfg.Kind, s.cfg.API, "", "", tok.AccessToken, forge.Options{Transport: s.cfg.Transport, UserAgent: userAgent})
	var me forge.Person
	if err == nil {
		me, err = fc.Me(r.Context())
	}
	if err != nil || me.Login == "" {
		s.log.Warn("reading the signed-in user failed", "error", err)
		s.fail(w, r, nil, http.StatusBadGateway, "The forge signed you in but did not say who you are. Try again later.")
		return
	}
	sess := &Session{Login: me.Login, Name: me.Name, Email: me.Email, CSRF: randomToken(), Expires: s.now().Add(SessionLength).Unix()}
	setToken(sess, tok)
	if err := s.setCookie(w, sessionCookie, sess, time.Unix(sess.Expires, 0)); err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "The console could not keep your sign-in: "+err.Error())
		return
	}
	s.log.Info("signed in", "login", me.Login)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// oauthError is an exchange failure without the request's secrets: the forge's error code.
func oauthError(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return "status " + re.Response.Status + " " + re.ErrorCode
	}
	return "the forge could not be reached"
}

func setToken(sess *Session, tok *oauth2.Token) {
	sess.Token = tok.AccessToken
	if tok.RefreshToken != "" {
		sess.Refresh = tok.RefreshToken
	}
	sess.TokenExpiry = 0
	if !tok.Expiry.IsZero() {
		sess.TokenExpiry = tok.Expiry.Unix()
	}
}

// fresh renews the session's token when it has run out (or is about to) and the forge
// gave a refresh token, and rewrites the cookie; without one the person signs in again.
// False means the response is written.
func (s *Server) fresh(w http.ResponseWriter, r *http.Request, sess *Session) bool {
	if sess.TokenExpiry == 0 || s.now().Add(time.Minute).Unix() < sess.TokenExpiry {
		return true
	}
	if sess.Refresh != "" {
		old := &oauth2.Token{AccessToken: sess.Token, RefreshToken: sess.Refresh, Expiry: time.Unix(sess.TokenExpiry, 0).Add(-2 * time.Minute)}
		tok, err := s.oauth.TokenSource(s.oauthContext(r.Context()), old).Token()
		if err == nil {
			setToken(sess, tok)
			if s.setCookie(w, sessionCookie, sess, time.Unix(sess.Expires, 0)) == nil {
				return true
			}
		}
		s.log.Warn("renewing a token failed", "login", sess.Login, "error", oauthError(err))
	}
	s.clearCookie(w, sessionCookie)
	s.render(w, r, nil, http.StatusOK, "signin", signinData{Expired: true})
	return false
}

// logout forgets the session in this browser. The forge's grant stays until the person
// revokes it in the forge's settings (the sign-in page says where).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *Session) {
	s.clearCookie(w, sessionCookie)
	s.log.Info("signed out", "login", sess.Login)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
