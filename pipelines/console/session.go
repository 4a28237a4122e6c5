package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The console keeps no database: who is signed in, with their forge token, lives in a
// cookie sealed with AES-256-GCM under a key only the console holds. The browser can
// neither read the token nor change a byte without the console noticing.

// Cookie names. The __Host- prefix (RFC 6265bis) makes the browser refuse the cookie
// unless it is Secure, host-only and Path=/, so it is used when the console is on https.
const (
	sessionCookie = "nassella_session"
	loginCookie   = "nassella_login" // the OAuth state and PKCE verifier while signing in
)

// Session is one person signed in.
type Session struct {
	Login string `json:"l"`
	Name  string `json:"n,omitempty"`
	Email string `json:"e,omitempty"`
	// Token is the person's forge token; Refresh renews it when the forge gave one.
	Token       string `json:"t"`
	Refresh     string `json:"r,omitempty"`
	TokenExpiry int64  `json:"te,omitempty"` // unix seconds; 0 when the forge gave none
	Expires     int64  `json:"x"`            // unix seconds: the session ends then, whatever the token says
	CSRF        string `json:"c"`            // the token every form of this session carries
}

// loginState is what the console must remember between sending the browser to the forge
// and its return: the state that ties the answer to this browser, and the PKCE verifier.
type loginState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Expires  int64  `json:"x"`
}

// SessionLength is how long a sign-in lasts at most.
const SessionLength = 8 * time.Hour

// sealer seals and opens cookie values.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("the session key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// ParseSessionKey reads a session key file's content: 32 bytes as 64 hex digits or in
// base64, or 32 raw bytes.
func ParseSessionKey(data []byte) ([]byte, error) {
	text := strings.TrimSpace(string(data))
	if k, err := hex.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	if len(data) == 32 {
		return data, nil
	}
	return nil, errors.New("the session key file must hold 32 random bytes: 64 hex digits (openssl rand -hex 32), base64, or the raw bytes")
}

// seal encrypts v as JSON; name is authenticated with it, so a value sealed for one cookie
// does not open as another.
func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errBadCookie = errors.New("the cookie is not one this console sealed")

func (s *sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n+s.aead.Overhead() {
		return errBadCookie
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return errBadCookie
	}
	if json.Unmarshal(plain, v) != nil {
		return errBadCookie
	}
	return nil
}

// cookieName is name with the __Host- prefix on https.
func (s *Server) cookieName(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

// setCookie sets a sealed cookie that lasts until expires.
func (s *Server) setCookie(w http.ResponseWriter, name string, v any, expires time.Time) error {
	value, err := s.sealer.seal(name, v)
	if err != nil {
		return err
	}
	if len(value) > 3800 {
		return errors.New("the session does not fit in a cookie (the forge's token is unusually long)")
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", Expires: expires,
		MaxAge: int(expires.Sub(s.now()).Seconds()), Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: "", Path: "/", MaxAge: -1,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// readCookie opens the sealed cookie name into v; false when it is missing or not ours.
func (s *Server) readCookie(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(s.cookieName(name))
	return err == nil && s.sealer.open(name, c.Value, v) == nil
}

// session returns the request's session, or nil when nobody is signed in (no cookie, a
// cookie that does not open, or one past its end).
func (s *Server) session(r *http.Request) *Session {
	var sess Session
	if !s.readCookie(r, sessionCookie, &sess) || sess.Token == "" || sess.CSRF == "" {
		return nil
	}
	if s.now().Unix() >= sess.Expires {
		return nil
	}
	return &sess
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on a supported system
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
