package butane_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// kumaServer models Uptime Kuma 2.5.3's first-administrator setup as its source shows it,
// with the transport it rides on:
//   - Engine.IO v4 long-polling as engine.io 6.6.9 serves it (socketio/socket.io
//     packages/engine.io: lib/server.ts verify and abortRequest, lib/socket.ts onOpen,
//     onPacket and flush, lib/transports/polling.ts onPollRequest and onDataRequest) under
//     socket.io 4.8.3's path /socket.io/; Uptime Kuma lets polling in from anyone
//     (server/uptime-kuma-server.js allowRequest) and sets no cookie.
//   - Socket.IO v5 packets (socketio/socket.io-protocol Readme; lib/client.ts ondecoded,
//     lib/socket.ts onevent and dispatch: an event nobody listens for is dropped, its ack
//     never sent).
//   - server/server.js: io.on("connection") awaits sendInfo (server/client.js, emits
//     "info"), emits "setup" while needSetup, and only then adds its handlers, among them
//     socket.on("setup") with check-password-strength 2.0.10's passwordStrength.
//   - Other pages: Express's app.get("*") answers every GET with the app's page, other
//     methods get Express's 404.
type kumaServer struct {
	mu        sync.Mutex
	users     []kumaUser
	needSetup bool // server.js: set at start when the user table is empty
	sessions  map[string]*eioSession
	sids      []string // Engine.IO sessions opened, in order
	// slowInfo: sendInfo is still waiting for the database when the first read after
	// connecting arrives, so the read has the connection's ack only.
	slowInfo bool
	ping     time.Duration // how long a read waits for packets before a ping
}

type kumaUser struct{ Username, Password string }

type eioSession struct {
	buf       []string      // packets waiting for a read
	wake      chan struct{} // a packet arrived
	connected bool          // to the main namespace
	listening bool          // the connection handler has added its handlers
	late      bool          // slowInfo: info and setup come after the next read
}

func newKuma() *kumaServer {
	return &kumaServer{needSetup: true, sessions: map[string]*eioSession{}, ping: 2 * time.Second}
}

// base64id is how engine.io and socket.io make ids (base64id.generateId, URL-safe).
func base64id() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// eioAbort is engine.io's abortRequest: 400 with the error's code and message.
func eioAbort(w http.ResponseWriter, code int) {
	msg := []string{"Transport unknown", "Session ID unknown", "Bad handshake method", "Bad request", "Forbidden", "Unsupported protocol version"}[code]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

func (s *kumaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/socket.io/") {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Uptime Kuma</title></head></html>")
			return
		}
		http.Error(w, "Cannot "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	// Server.verify, then handshake; no request here is a websocket upgrade.
	q := r.URL.Query()
	if t := q.Get("transport"); t != "polling" && t != "websocket" {
		eioAbort(w, 0)
		return
	}
	s.mu.Lock()
	sid := q.Get("sid")
	if sid == "" {
		defer s.mu.Unlock()
		switch {
		case r.Method != http.MethodGet:
			eioAbort(w, 2)
			return
		case q.Get("transport") != "polling":
			eioAbort(w, 3)
			return
		case q.Get("EIO") != "4": // protocol 3 unless EIO=4, and allowEIO3 is off
			eioAbort(w, 5)
			return
		}
		sid = base64id()
		s.sessions[sid] = &eioSession{wake: make(chan struct{}, 1)}
		s.sids = append(s.sids, sid)
		eioWrite(w, []string{`0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`})
		return
	}
	sess := s.sessions[sid]
	if sess == nil {
		s.mu.Unlock()
		eioAbort(w, 1)
		return
	}
	if q.Get("transport") != "polling" { // TRANSPORT_MISMATCH
		s.mu.Unlock()
		eioAbort(w, 3)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Unlock()
		s.poll(w, sid, sess)
	case http.MethodPost:
		defer s.mu.Unlock()
		if r.Header.Get("Content-Type") == "application/octet-stream" {
			delete(s.sessions, sid) // "invalid content"
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		for _, p := range strings.Split(string(body), "\x1e") {
			if !s.onPacket(sid, sess, p) {
				break
			}
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "ok")
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// poll answers a read with the packets waiting, or waits for some; with none by the ping
// interval it sends a ping.
func (s *kumaServer) poll(w http.ResponseWriter, sid string, sess *eioSession) {
	deadline := time.After(s.ping)
	for {
		s.mu.Lock()
		if s.sessions[sid] == nil {
			s.mu.Unlock()
			eioAbort(w, 1)
			return
		}
		if len(sess.buf) > 0 {
			out := sess.buf
			sess.buf = nil
			eioWrite(w, out)
			if sess.late {
				sess.late = false
				s.afterSendInfo(sess)
			}
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		select {
		case <-sess.wake:
		case <-deadline:
			s.mu.Lock()
			sess.buf = append(sess.buf, "2")
			s.mu.Unlock()
		}
	}
}

func eioWrite(w http.ResponseWriter, packets []string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	fmt.Fprint(w, strings.Join(packets, "\x1e"))
}

func (sess *eioSession) send(p string) {
	sess.buf = append(sess.buf, p)
	select {
	case sess.wake <- struct{}{}:
	default:
	}
}

// onPacket handles one Engine.IO packet from the client; false when it closed the session.
func (s *kumaServer) onPacket(sid string, sess *eioSession, p string) bool {
	if p == "" {
		delete(s.sessions, sid)
		return false
	}
	switch p[0] {
	case '3': // pong
		return true
	case '4': // message: a Socket.IO packet
		if s.onSocketIO(sess, p[1:]) {
			return true
		}
	}
	// close, a ping from the client ("invalid heartbeat direction"), anything else, or a
	// Socket.IO packet the server cannot take: the session ends.
	delete(s.sessions, sid)
	return false
}

// sioEventRe is a Socket.IO EVENT for the main namespace: 2, an optional ack id, the
// arguments as a JSON array (socket.io-parser decodeString).
var sioEventRe = regexp.MustCompile(`^2([0-9]*)(\[.*)$`)

// onSocketIO handles one Socket.IO packet; false when the client closes the connection
// for it (Client.ondecoded: a packet out of order; a packet the parser refuses).
func (s *kumaServer) onSocketIO(sess *eioSession, p string) bool {
	if p == "0" { // CONNECT to the main namespace
		if sess.connected {
			return false
		}
		sess.connected = true
		sess.send(`40{"sid":"` + base64id() + `"}`)
		if s.slowInfo {
			sess.late = true
		} else {
			s.afterSendInfo(sess)
		}
		return true
	}
	m := sioEventRe.FindStringSubmatch(p)
	if m == nil || !sess.connected {
		return false
	}
	var args []any
	if err := json.Unmarshal([]byte(m[2]), &args); err != nil || len(args) == 0 {
		return false
	}
	if name, ok := args[0].(string); !ok || name != "setup" || !sess.listening {
		return true // no handler for it (yet): dropped, unanswered
	}
	// The reply's keys in server.js's order: ok, msg, msgi18n.
	ack := func(ok bool, msg string, i18n bool) {
		if m[1] == "" {
			return // no callback: the reply is lost
		}
		b, _ := json.Marshal([]any{struct {
			OK   bool   `json:"ok"`
			Msg  string `json:"msg"`
			I18n bool   `json:"msgi18n"`
		}{ok, msg, i18n}})
		sess.send("43" + m[1] + string(b))
	}
	username, _ := jsonArg(args, 1).(string)
	password, _ := jsonArg(args, 2).(string)
	switch {
	case kumaPasswordStrength(password) == "Too weak":
		ack(false, "passwordTooWeak", true)
	case len(s.users) != 0:
		ack(false, "Uptime Kuma has been initialized. If you want to run setup again, please delete the database.", false)
	default:
		s.users = append(s.users, kumaUser{Username: username, Password: password})
		s.needSetup = false
		ack(true, "successAdded", true)
	}
	return true
}

func jsonArg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// afterSendInfo is the rest of the connection handler once sendInfo is done: "info"
// (without the version, hideVersion), "setup" while no user exists, then the handlers.
func (s *kumaServer) afterSendInfo(sess *eioSession) {
	sess.send(`42["info",{"serverTimezone":"Europe/Berlin","serverTimezoneOffset":"+01:00"}]`)
	if s.needSetup {
		sess.send(`42["setup"]`)
	}
	sess.listening = true
}

// kumaPasswordStrength is check-password-strength 2.0.10's passwordStrength with its
// default options, the value only: "Too weak" below two kinds of character (lower case,
// upper case, digits, symbols) or six characters.
func kumaPasswordStrength(pw string) string {
	kinds := 0
	for _, re := range []string{`[a-z]`, `[A-Z]`, `[0-9]`, "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]"} {
		if regexp.MustCompile(re).MatchString(pw) {
			kinds++
		}
	}
	switch {
	case kinds >= 4 && len(pw) >= 10:
		return "Strong"
	case kinds >= 4 && len(pw) >= 8:
		return "Medium"
	case kinds >= 2 && len(pw) >= 6:
		return "Weak"
	}
	return "Too weak"
}

func TestClaimUptimeKuma(t *testing.T) {
	kuma := newKuma()
	first := runClaim(t, "uptime-kuma", kuma)
	wantClaimed(t, first, "uptime-kuma", "admin")
	pw := first.Secrets["ADMIN_PASSWORD"]
	if len(kuma.sids) != 1 {
		t.Fatalf("%d sessions opened, want one", len(kuma.sids))
	}
	at := "/socket.io/?EIO=4&transport=polling&sid=" + kuma.sids[0]
	const form = "application/x-www-form-urlencoded"
	wantRequestLines(t, first.Requests, [][4]string{
		{"GET", "/socket.io/?EIO=4&transport=polling", "", ""},
		{"POST", at, form, "40"},
		{"GET", at, "", ""},
		{"POST", at, form, `420["setup","admin","` + pw + `"]`},
		{"GET", at, "", ""},
	})
	if len(kuma.users) != 1 || kuma.users[0] != (kumaUser{"admin", pw}) {
		t.Errorf("users %+v, want admin with the generated password", kuma.users)
	}

	// With a user, the server asks for no setup: the same claim stops before sending the
	// password.
	second := runClaim(t, "uptime-kuma", kuma)
	wantRefused(t, second, "step 3 (GET /socket.io/) answered 200 without what it should say")
	for _, r := range second.Requests {
		if strings.Contains(r.Body, pw) {
			t.Errorf("the second claim sent the password: %s %s", r.Method, r.Path)
		}
	}
	if len(kuma.users) != 1 {
		t.Errorf("users %+v after the second claim", kuma.users)
	}

	// The server still busy with sendInfo when the claim reads: that read has only the
	// connection's ack, so the claim reads again (repeat) and sends the password only
	// once "setup" has come.
	slow := newKuma()
	slow.slowInfo = true
	r := runClaim(t, "uptime-kuma", slow)
	wantClaimed(t, r, "uptime-kuma", "admin")
	at = "/socket.io/?EIO=4&transport=polling&sid=" + slow.sids[0]
	wantRequestLines(t, r.Requests, [][4]string{
		{"GET", "/socket.io/?EIO=4&transport=polling", "", ""},
		{"POST", at, form, "40"},
		{"GET", at, "", ""},
		{"GET", at, "", ""},
		{"POST", at, form, `420["setup","admin","` + r.Secrets["ADMIN_PASSWORD"] + `"]`},
		{"GET", at, "", ""},
	})
}

// kumaExchange sends each request to s in order (the session id filled in for SID) and
// returns the answers as "status body".
func kumaExchange(s *kumaServer, reqs [][3]string) []string {
	var out []string
	for _, q := range reqs {
		sid := ""
		if len(s.sids) > 0 {
			sid = s.sids[len(s.sids)-1]
		}
		req := httptest.NewRequest(q[0], "http://status.example"+strings.ReplaceAll(q[1], "SID", sid), strings.NewReader(q[2]))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		out = append(out, strconv.Itoa(w.Code)+" "+strings.TrimSpace(w.Body.String()))
	}
	return out
}

// The model refuses what engine.io, socket.io and Uptime Kuma refuse.
func TestUptimeKumaModel(t *testing.T) {
	const (
		open = "/socket.io/?EIO=4&transport=polling"
		at   = open + "&sid=SID"
	)
	handshake := [][3]string{{"GET", open, ""}, {"POST", at, "40"}, {"GET", at, ""}}
	setup := func(pw string) [][3]string {
		return append(handshake, [3]string{"POST", at, `420["setup","admin","` + pw + `"]`}, [3]string{"GET", at, ""})
	}
	for name, c := range map[string]struct {
		slow, withUser bool
		reqs           [][3]string
		last           string // the last answer, as a regular expression
		users          int
	}{
		"a handshake by POST":      {reqs: [][3]string{{"POST", open, ""}}, last: `^400 \{"code":2,"message":"Bad handshake method"\}$`},
		"Engine.IO 3":              {reqs: [][3]string{{"GET", "/socket.io/?EIO=3&transport=polling", ""}}, last: `^400 \{"code":5,`},
		"websocket, not upgraded":  {reqs: [][3]string{{"GET", "/socket.io/?EIO=4&transport=websocket", ""}}, last: `^400 \{"code":3,`},
		"an unknown session":       {reqs: [][3]string{{"GET", open + "&sid=nope", ""}}, last: `^400 \{"code":1,"message":"Session ID unknown"\}$`},
		"another page":             {reqs: [][3]string{{"GET", "/setup", ""}}, last: `^200 <!DOCTYPE html>`},
		"another page by POST":     {reqs: [][3]string{{"POST", "/api/setup", "{}"}}, last: `^404 Cannot POST`},
		"an event before connect":  {reqs: [][3]string{{"GET", open, ""}, {"POST", at, `420["setup","admin","Passw0rdPassw0rd"]`}, {"GET", at, ""}}, last: `^400 \{"code":1,`},
		"a ping from the client":   {reqs: [][3]string{{"GET", open, ""}, {"POST", at, "2"}, {"GET", at, ""}}, last: `^400 \{"code":1,`},
		"the setup asked for":      {reqs: handshake, last: `^200 40\{"sid":"[A-Za-z0-9_-]{20}"\}` + "\x1e" + `42\["info",\{.*\}\]` + "\x1e" + `42\["setup"\]$`},
		"the first setup":          {reqs: setup("Passw0rdPassw0rd"), last: `^200 430\[\{"ok":true,"msg":"successAdded","msgi18n":true\}\]$`, users: 1},
		"a weak password":          {reqs: setup("passwordpassword"), last: `^200 430\[\{"ok":false,"msg":"passwordTooWeak","msgi18n":true\}\]$`},
		"a second setup":           {withUser: true, reqs: setup("Passw0rdPassw0rd"), last: `^200 430\[\{"ok":false,"msg":"Uptime Kuma has been initialized`, users: 1},
		"no setup asked for":       {withUser: true, reqs: handshake, last: `^200 40\{"sid":"[^"]+"\}` + "\x1e" + `42\["info",\{.*\}\]$`, users: 1},
		"a setup without an ack":   {reqs: append(handshake, [3]string{"POST", at, `42["setup","admin","Passw0rdPassw0rd"]`}, [3]string{"GET", at, ""}), last: `^200 2$`, users: 1},
		"a setup sent too early":   {slow: true, reqs: [][3]string{{"GET", open, ""}, {"POST", at, "40"}, {"POST", at, `420["setup","admin","Passw0rdPassw0rd"]`}, {"GET", at, ""}, {"GET", at, ""}, {"GET", at, ""}}, last: `^200 2$`},
		"the read before sendInfo": {slow: true, reqs: handshake, last: `^200 40\{"sid":"[^"]+"\}$`},
	} {
		t.Run(name, func(t *testing.T) {
			s := newKuma()
			s.ping = 50 * time.Millisecond
			s.slowInfo = c.slow
			if c.withUser {
				s.users, s.needSetup = []kumaUser{{"owner", "Passw0rdPassw0rd"}}, false
			}
			got := kumaExchange(s, c.reqs)
			if last := got[len(got)-1]; !regexp.MustCompile(c.last).MatchString(last) {
				t.Errorf("answers %q\nlast want %s", got, c.last)
			}
			if len(s.users) != c.users {
				t.Errorf("%d users, want %d", len(s.users), c.users)
			}
		})
	}
}
