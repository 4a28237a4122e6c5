package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// ClaimPath is where the stand-in behaves like the apps whose first visitor becomes
// their administrator (Forgejo, Immich, Jellyfin, Uptime Kuma, Audiobookshelf): the first
// POST with {"login": ..., "password": ...} makes that login the administrator (201), every
// later one is refused (403). GET tells who it is (404 while there is none). The
// administrator is kept in the first data folder, so it survives a restart as the apps'
// own does.
const ClaimPath = "/nassella-standin/claim"

type claimer struct {
	mu   sync.Mutex
	file string
}

func newClaimer(dirs []string) *claimer {
	dir := stateDir()
	if len(dirs) > 0 {
		dir = dirs[0]
	}
	return &claimer{file: filepath.Join(dir, ".nassella-standin-admin")}
}

func (c *claimer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	admin, _ := os.ReadFile(c.file)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	switch r.Method {
	case http.MethodGet:
		if len(admin) == 0 {
			reply(http.StatusNotFound, map[string]string{"error": "no administrator yet"})
			return
		}
		reply(http.StatusOK, map[string]string{"admin": string(admin)})
	case http.MethodPost:
		var in struct{ Login, Password string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || in.Login == "" {
			reply(http.StatusBadRequest, map[string]string{"error": "want {\"login\": ..., \"password\": ...}"})
			return
		}
		if len(admin) > 0 {
			reply(http.StatusForbidden, map[string]string{"error": "an administrator exists"})
			return
		}
		if err := os.WriteFile(c.file, []byte(in.Login), 0o600); err != nil {
			reply(http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		reply(http.StatusCreated, map[string]string{"admin": in.Login})
	default:
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "GET or POST"})
	}
}
