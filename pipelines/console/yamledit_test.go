package console

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestConsoleAddApp(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"block", "version: 1\napps:\n  # ours\n  vaultwarden: {}\nbackups: {}\n",
			"version: 1\napps:\n  # ours\n  vaultwarden: {}\n  immich: {}\nbackups: {}\n"},
		{"last entry a block, comment after it stays with the next key", "apps:\n  nextcloud:\n    subdomain: files\n\n# backups below\nbackups: {}\n",
			"apps:\n  nextcloud:\n    subdomain: files\n  immich: {}\n\n# backups below\nbackups: {}\n"},
		{"four spaces, end of file without newline", "apps:\n    vaultwarden: { subdomain: vault }", "apps:\n    vaultwarden: { subdomain: vault }\n    immich: {}\n"},
		{"flow on one line", "apps: { vaultwarden: {} } # mine\n", "apps: { vaultwarden: {}, immich: {} } # mine\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := addApp([]byte(c.in), "immich")
			if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
	for _, in := range []string{"apps:\n  {\n  a: {} }\n", "name: x\n", "apps: &a\n  x: {}\nother: *a\n"} {
		if got, err := addApp([]byte(in), "immich"); err == nil {
			t.Errorf("addApp(%q) = %q, want an error", in, got)
		}
	}
}

func TestConsoleRemoveApp(t *testing.T) {
	in := "apps:\n  nextcloud:\n    subdomain: files\n  # the vault\n  vaultwarden: {}\nbackups: {}\n"
	got, err := removeApp([]byte(in), "nextcloud")
	if want := "apps:\n  # the vault\n  vaultwarden: {}\nbackups: {}\n"; err != nil || string(got) != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := removeApp([]byte("apps: { a: {}, b: {} }\n"), "a"); !errors.Is(err, errLayout) {
		t.Errorf("a flow mapping: %v", err)
	}
	if _, err := removeApp([]byte(in), "immich"); err == nil {
		t.Error("removing an app the site does not have")
	}
}

func TestConsoleShortSummary(t *testing.T) {
	for in, want := range map[string]string{
		"Password manager that works with the Bitwarden apps and browser extensions.": "password manager",
		"Photo and video library with automatic backup from phones, albums.":          "photo and video library",
		"HTTPS everywhere.": "HTTPS everywhere",
	} {
		if got := shortSummary(in); got != want {
			t.Errorf("shortSummary(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConsoleMarkdownIsSafe(t *testing.T) {
	got := string(renderMarkdown("<!-- nassella-plan -->\n### Plan\n\n> [!WARNING]\n> The server is rebuilt.\n\n<script>alert(1)</script>\n\n" +
		"[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n<details><summary>Technical details</summary>\n\n| a | b |\n|---|---|\n| `c` | d |\n\n</details>\n"))
	for _, bad := range []string{"<script", "javascript:", "onerror", "<details", "<img"} {
		if strings.Contains(got, bad) {
			t.Errorf("the HTML holds %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"<h4>Technical details</h4>", "<table>", "<strong>Warning:</strong>", "<h3>Plan</h3>"} {
		if !strings.Contains(got, want) {
			t.Errorf("the HTML lacks %q:\n%s", want, got)
		}
	}
}

func TestConsoleForgeCache(t *testing.T) {
	var calls, revalidated atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			revalidated.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte("for " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	c := &http.Client{Transport: newForgeCache(http.DefaultTransport, 10*time.Second, func() time.Time { return now })}
	get := func(token string, fresh bool) string {
		req, _ := http.NewRequest("GET", srv.URL+"/f", nil)
		req.Header.Set("Authorization", token)
		if fresh {
			req = req.WithContext(current(req.Context()))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return string(data)
	}
	if got := get("token a", false); got != "for token a" {
		t.Fatal(got)
	}
	get("token a", false)
	if calls.Load() != 1 {
		t.Errorf("a fresh answer was asked for again: %d calls", calls.Load())
	}
	if got := get("token b", false); got != "for token b" {
		t.Errorf("another person got %q", got)
	}
	if got := get("token a", true); got != "for token a" || revalidated.Load() != 1 {
		t.Errorf("a current read: %q, %d revalidations", got, revalidated.Load())
	}
	now = now.Add(time.Minute)
	if got := get("token a", false); got != "for token a" || revalidated.Load() != 2 {
		t.Errorf("after the ttl: %q, %d revalidations", got, revalidated.Load())
	}
	// A write drops the writer's answers only.
	get("token b", false)
	req, _ := http.NewRequest("POST", srv.URL+"/f", nil)
	req.Header.Set("Authorization", "token a")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
	before := calls.Load()
	get("token b", false)
	get("token a", false)
	if calls.Load() != before+1 {
		t.Errorf("after a write: %d calls, want 1 (token a's)", calls.Load()-before)
	}
}

func TestConsoleSetFlag(t *testing.T) {
	for _, c := range []struct {
		in   string
		on   bool
		want string
	}{
		{"updates:\n  automerge: false # for now\n  window: \"Sun 03:00\"\n", true, "updates:\n  automerge: true # for now\n  window: \"Sun 03:00\"\n"},
		{"updates:\n  window: \"Sun 03:00\"\n\n# mail\nmail: {}\n", true, "updates:\n  window: \"Sun 03:00\"\n  automerge: true\n\n# mail\nmail: {}\n"},
	} {
		got, err := setFlag([]byte(c.in), "updates", "automerge", c.on)
		if err != nil || string(got) != c.want {
			t.Errorf("setFlag(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if got, err := setFlag([]byte("updates: { window: x, automerge: false }\n"), "updates", "automerge", true); err != nil || string(got) != "updates: { window: x, automerge: true }\n" {
		t.Errorf("in braces: %q, %v", got, err)
	}
	if _, err := setFlag([]byte("updates: { window: x }\n"), "updates", "automerge", true); !errors.Is(err, errLayout) {
		t.Errorf("adding a key in braces: %v", err)
	}
}
