package butane_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// jellyfinServer models Jellyfin 10.11.11's startup wizard as its source shows it:
// Jellyfin.Api/Controllers/StartupController.cs (routes [controller]/..., so /Startup/...,
// matched without regard to case as ASP.NET Core routes are), behind
// [Authorize(Policy = Policies.FirstTimeSetupOrElevated)], which lets anyone in until
// IsStartupWizardCompleted and then only an administrator's token
// (Jellyfin.Api/Auth/FirstTimeSetupPolicy/FirstTimeSetupHandler.cs); without a token the
// request is challenged: 401. Bodies are System.Text.Json with ASP.NET Core's web
// defaults, names matched without regard to case (aspnetcore src/Mvc/Mvc.Core/src/
// JsonOptions.cs, JsonSerializerDefaults.Web; Jellyfin keeps PascalCase names,
// ApiServiceCollectionExtensions.cs AddJsonOptions), read only as application/json (415
// otherwise, as for any [FromBody] without a matching input formatter).
type jellyfinServer struct {
	mu        sync.Mutex
	completed bool // ServerConfiguration.IsStartupWizardCompleted
	users     []*jellyfinUser
	remote    bool // NetworkConfiguration.EnableRemoteAccess
}

type jellyfinUser struct {
	Name, Password string
	Admin          bool
}

// jellyfinUsernameRe is UserManager.ValidUsernameRegex (Jellyfin.Server.Implementations/
// Users/UserManager.cs, ^(?!\s)[\w\ \-'._@+]+(?<!\s)$) in Go's syntax, .NET's \w spelt
// out; the spaces at either end are checked beside it.
var jellyfinUsernameRe = regexp.MustCompile(`^[\pL\p{Mn}\p{Nd}\p{Pc} \-'._@+]+$`)

func newJellyfin() *jellyfinServer { return &jellyfinServer{remote: true} }

func (s *jellyfinServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	action, ok := strings.CutPrefix(strings.ToLower(r.URL.Path), "/startup/")
	routes := map[string]string{"user": "GET POST", "firstuser": "GET", "remoteaccess": "POST", "complete": "POST", "configuration": "GET POST"}
	if !ok || routes[action] == "" {
		http.NotFound(w, r)
		return
	}
	if !strings.Contains(" "+routes[action]+" ", " "+r.Method+" ") {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	// FirstTimeSetupHandler: after the wizard, an administrator only (the claim has no token).
	if s.completed {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch action {
	case "user", "firstuser":
		if r.Method == http.MethodGet {
			s.getFirstUser(w)
			return
		}
		var dto struct{ Name, Password *string }
		if !jellyfinBody(w, r, &dto) {
			return
		}
		s.updateStartupUser(w, dto.Name, dto.Password)
	case "remoteaccess":
		var dto struct{ EnableRemoteAccess bool }
		if !jellyfinBody(w, r, &dto) {
			return
		}
		s.remote = dto.EnableRemoteAccess
		w.WriteHeader(http.StatusNoContent)
	case "complete":
		s.completed = true
		w.WriteHeader(http.StatusNoContent)
	default:
		// Configuration: not part of the claim.
		http.Error(w, "the claim leaves the configuration as it is", http.StatusTeapot)
	}
}

// getFirstUser is GetFirstUser: UserManager.InitializeAsync makes an administrator when
// there is no user (named Environment.UserName, or MyJellyfinUser; root here), and the
// first user's name is the answer.
func (s *jellyfinServer) getFirstUser(w http.ResponseWriter) {
	if len(s.users) == 0 {
		s.users = append(s.users, &jellyfinUser{Name: "root", Admin: true})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"Name": s.users[0].Name})
}

// updateStartupUser is UpdateStartupUser: 404 without a first user, 400 for an empty
// password, RenameUser's ArgumentException (an invalid name) as 400
// (Jellyfin.Api/Middleware/ExceptionMiddleware.cs), then 204.
func (s *jellyfinServer) updateStartupUser(w http.ResponseWriter, name, password *string) {
	if len(s.users) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if password == nil || strings.TrimSpace(*password) == "" {
		http.Error(w, "Password must not be empty", http.StatusBadRequest)
		return
	}
	u := s.users[0]
	if name != nil && !strings.EqualFold(*name, u.Name) {
		if strings.TrimSpace(*name) != *name || !jellyfinUsernameRe.MatchString(*name) {
			http.Error(w, "Usernames can contain unicode symbols, numbers (0-9), dashes (-), underscores (_), apostrophes ('), and periods (.)", http.StatusBadRequest)
			return
		}
		u.Name = *name
	}
	u.Password = *password
	w.WriteHeader(http.StatusNoContent)
}

// jellyfinBody reads a [FromBody] parameter: 415 for another content type, 400 (the
// [ApiController] model state answer) for an empty or broken body.
func jellyfinBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return false
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, v); err != nil {
		http.Error(w, `{"title":"One or more validation errors occurred.","status":400}`, http.StatusBadRequest)
		return false
	}
	return true
}

// wantRequestLines checks the claim's requests: method, path, content type and body, in order.
func wantRequestLines(t *testing.T, got []*recordedRequest, want [][4]string) {
	t.Helper()
	var g, w []string
	for _, r := range got {
		g = append(g, fmt.Sprintf("%s %s (%s) %s", r.Method, r.Path, r.Header.Get("Content-Type"), r.Body))
	}
	for _, r := range want {
		w = append(w, fmt.Sprintf("%s %s (%s) %s", r[0], r[1], r[2], r[3]))
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func TestClaimJellyfin(t *testing.T) {
	jf := newJellyfin()
	first := runClaim(t, "jellyfin", jf)
	wantClaimed(t, first, "jellyfin", "admin")
	pw := first.Secrets["ADMIN_PASSWORD"]
	wantRequestLines(t, first.Requests, [][4]string{
		{"GET", "/Startup/User", "", ""},
		{"POST", "/Startup/User", "application/json", `{"Name": "admin", "Password": "` + pw + `"}`},
		{"POST", "/Startup/RemoteAccess", "application/json", `{"EnableRemoteAccess": true}`},
		{"POST", "/Startup/Complete", "", ""},
	})
	if len(jf.users) != 1 || *jf.users[0] != (jellyfinUser{Name: "admin", Password: pw, Admin: true}) || !jf.completed || !jf.remote {
		t.Errorf("users %+v, wizard completed %v, remote access %v; want one administrator admin with the generated password, completed, remote access on", jf.users, jf.completed, jf.remote)
	}

	// Once the wizard is complete nobody can run it again: the same claim is refused.
	second := runClaim(t, "jellyfin", jf)
	wantRefused(t, second, "step 1 (GET /Startup/User) answered 401, want 200")
	if len(second.Requests) != 1 || jf.users[0].Password != pw {
		t.Errorf("the second claim went on or changed the administrator: %d requests", len(second.Requests))
	}

	// Something other than Jellyfin's wizard answering 200 does not claim the app.
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>welcome</html>") })
	wantRefused(t, runClaim(t, "jellyfin", other), "step 1 (GET /Startup/User) answered 200 without what it should say")
}

// The model refuses what Jellyfin refuses.
func TestJellyfinModel(t *testing.T) {
	const jsonType = "application/json"
	for name, c := range map[string]struct {
		method, path, contentType, body string
		fresh                           bool // without GET /Startup/User first
		completed                       bool
		status                          int
	}{
		"the user before it exists":   {"POST", "/Startup/User", jsonType, `{"Name": "admin", "Password": "p"}`, true, false, 404},
		"no password":                 {"POST", "/Startup/User", jsonType, `{"Name": "admin"}`, false, false, 400},
		"a blank password":            {"POST", "/Startup/User", jsonType, `{"Name": "admin", "Password": " "}`, false, false, 400},
		"a name with a space at end":  {"POST", "/Startup/User", jsonType, `{"Name": "admin ", "Password": "p"}`, false, false, 400},
		"a form":                      {"POST", "/Startup/User", "application/x-www-form-urlencoded", `Name=admin&Password=p`, false, false, 415},
		"no body":                     {"POST", "/Startup/User", jsonType, ``, false, false, 400},
		"a PUT":                       {"PUT", "/Startup/User", jsonType, `{"Name": "admin", "Password": "p"}`, false, false, 405},
		"another path":                {"POST", "/Startup/Users", jsonType, `{"Name": "admin", "Password": "p"}`, false, false, 404},
		"after the wizard":            {"GET", "/Startup/User", "", "", false, true, 401},
		"completing after the wizard": {"POST", "/Startup/Complete", "", "", false, true, 401},
		"names in camelCase":          {"POST", "/startup/user", jsonType, `{"name": "owner", "password": "p"}`, false, false, 204},
	} {
		t.Run(name, func(t *testing.T) {
			s := newJellyfin()
			if !c.fresh {
				s.getFirstUser(httptest.NewRecorder())
			}
			s.completed = c.completed
			req := httptest.NewRequest(c.method, "http://media.example"+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != c.status {
				t.Errorf("answered %d, want %d", w.Code, c.status)
			}
		})
	}
}
