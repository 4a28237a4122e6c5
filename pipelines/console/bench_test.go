package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nassella/nassella/generator/examples"
)

// BenchmarkSitesPage renders the sites page of a person who sees 200 sites (and 20 repos
// that are not sites) with the forge's answers in the cache: the server time the issue
// asks to stay well under 100 ms. The forge here answers Gitea-shaped JSON from memory; it
// is only asked while the cache warms up, which the timing leaves out (forge-calls/op says
// so).
func BenchmarkConsoleSitesPage(b *testing.B) {
	const sites, others = 200, 20
	siteYAML, _ := examples.Get("one-app")
	var calls atomic.Int64
	forgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		p := strings.TrimPrefix(r.URL.Path, "/api/v1/")
		switch {
		case p == "user/repos":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if page == 0 {
				page = 1
			}
			var list []map[string]any
			for i := (page - 1) * 50; i < page*50 && i < sites+others; i++ {
				list = append(list, map[string]any{"full_name": fmt.Sprintf("coop/repo-%03d", i), "default_branch": "main",
					"clone_url": "http://forge.invalid/x.git", "permissions": map[string]bool{"push": true, "pull": true}})
			}
			if page*50 < sites+others {
				w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v1/user/repos?limit=50&page=%d>; rel="next"`, r.Host, page+1))
			}
			_ = json.NewEncoder(w).Encode(list)
		case strings.HasSuffix(p, "/raw/nassella.lock"):
			var i int
			fmt.Sscanf(p, "repos/coop/repo-%d/", &i)
			if i >= sites {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("ETag", `"lock"`)
			_, _ = w.Write([]byte("generator: test\ncatalog: 2026.12.1\npinned: true\n"))
		case strings.HasSuffix(p, "/raw/site.yaml"):
			w.Header().Set("ETag", `"site"`)
			_, _ = w.Write(siteYAML)
		case strings.HasSuffix(p, "/pulls"):
			_, _ = w.Write([]byte(`[{"number":3,"title":"nassella: catalog 2026.12.2","head":{"ref":"nassella/catalog-2026.12.2","repo":{"full_name":"` +
				strings.TrimSuffix(strings.TrimPrefix(p, "repos/"), "/pulls") + `"}},"user":{"login":"bot"}}]`))
		case strings.HasSuffix(p, "/status"):
			_, _ = w.Write([]byte(`{"statuses":[{"context":"apply","state":"success"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer forgeSrv.Close()
	s, err := New(Config{Forge: forgeSrv.URL, Kind: "gitea", ClientID: "console", PublicURL: "http://console.test", CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	cookie := sessionCookieFor(b, s, sessionCookie, validSession(s))
	h := s.Handler()
	render := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://console.test/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	warm := render()
	if n := strings.Count(warm.Body.String(), `class="card site-card"`); warm.Code != http.StatusOK || n != sites {
		b.Fatalf("status %d, %d sites listed, want %d:\n%.2000s", warm.Code, n, sites, warm.Body)
	}
	before := calls.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		render()
	}
	b.StopTimer()
	b.ReportMetric(float64(calls.Load()-before)/float64(b.N), "forge-calls/op")
}
