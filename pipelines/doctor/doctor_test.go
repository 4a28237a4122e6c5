package doctor_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/pipelines/doctor"
)

type fakeDNS map[string][]string

func (f fakeDNS) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

var now = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func status(lastSuccess time.Time, result string, usedPct int) func(context.Context) (*hostcontract.Status, error) {
	return func(context.Context) (*hostcontract.Status, error) {
		s := &hostcontract.Status{Result: result, Snapshot: "abc123", Disk: hostcontract.Disk{SizeBytes: 100 << 30, UsedPercent: usedPct, AvailBytes: int64(100-usedPct) << 30}}
		if !lastSuccess.IsZero() {
			s.LastSuccess = lastSuccess.Format(time.RFC3339)
		}
		if result == "failed" {
			s.Error = "vaultwarden: the backup hook in service vaultwarden failed"
		}
		return s, nil
	}
}

func options(t *testing.T) doctor.Options {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/alive" {
			w.WriteHeader(200)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	return doctor.Options{
		// httptest's certificate is for example.com.
		Apps:      []health.Target{{App: "vaultwarden", Host: "example.com", Path: "/alive", Status: 200}},
		Resolve:   map[string]string{"example.com": addr},
		RootCAs:   pool,
		ServerIPs: []string{"192.0.2.1"},
		Resolver:  fakeDNS{"example.com": {"192.0.2.1"}},
		Schedule:  "daily 03:00",
		Now:       func() time.Time { return now },
		Timeout:   5 * time.Second,
		Status:    status(now.Add(-9*time.Hour), "ok", 40),
	}
}

func problems(fs []doctor.Finding) string {
	var out []string
	for _, f := range fs {
		if !f.OK {
			out = append(out, f.Check+": "+f.What+" → "+f.Coop)
		}
	}
	return strings.Join(out, "\n")
}

func TestHealthySite(t *testing.T) {
	fs := doctor.Run(context.Background(), options(t))
	if p := problems(fs); p != "" {
		t.Fatalf("problems on a healthy site:\n%s", p)
	}
	if txt := doctor.Text(fs); !strings.Contains(txt, "everything looks fine") || !strings.Contains(txt, "newest backup is 9 hours old") {
		t.Errorf("text:\n%s", txt)
	}
}

func TestFindings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*doctor.Options)
		want   []string // each must be in the problems
	}{
		{"stale backup", func(o *doctor.Options) { o.Status = status(now.Add(-50*time.Hour), "failed", 40) },
			[]string{"backup: the newest backup is 50 hours old (schedule: daily 03:00); the last try failed: vaultwarden", "nassella logs backup"}},
		{"no backup ever", func(o *doctor.Options) {
			o.Status = func(context.Context) (*hostcontract.Status, error) { return nil, doctor.ErrNoStatus }
		}, []string{"backup: there is no record of any backup", "no backup has ever finished"}},
		{"hourly schedule, 4 hours", func(o *doctor.Options) { o.Schedule = "hourly"; o.Status = status(now.Add(-4*time.Hour), "ok", 40) },
			[]string{"the newest backup is 4 hours old (schedule: hourly)"}},
		{"full disk", func(o *doctor.Options) { o.Status = status(now.Add(-time.Hour), "ok", 85) },
			[]string{"disk: the data volume is 85% full", "volume_gb"}},
		{"dns elsewhere", func(o *doctor.Options) { o.Resolver = fakeDNS{"example.com": {"192.0.2.1", "198.51.100.7"}} },
			[]string{"but the server is 192.0.2.1"}},
		{"app down", func(o *doctor.Options) { o.Apps[0].Path = "/missing" },
			[]string{"https: https://example.com/missing does not answer", "nassella logs vaultwarden"}},
		{"certificate expiring", func(o *doctor.Options) {
			o.Now = func() time.Time { return time.Date(2084, 1, 20, 0, 0, 0, 0, time.UTC) }
		},
			[]string{"certificate: the certificate of example.com is valid for"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t)
			tc.change(&o)
			fs := doctor.Run(context.Background(), o)
			p := problems(fs)
			for _, w := range tc.want {
				if !strings.Contains(p, w) {
					t.Errorf("problems lack %q:\n%s", w, p)
				}
			}
			if md := doctor.Markdown(fs, nil); !strings.HasPrefix(md, doctor.Marker) || !strings.Contains(md, "need attention") {
				t.Errorf("markdown:\n%s", md)
			}
		})
	}
}

// A problem tells the owner what they can do and, apart, what the co-op does; the issue
// names the co-op from site.yaml's support.
func TestOwnerAndCoopSections(t *testing.T) {
	o := options(t)
	o.Status = status(now.Add(-time.Hour), "ok", 85) // the owner can grow the disk
	o.Resolver = fakeDNS{"example.com": {"192.0.2.1", "198.51.100.7"}}
	fs := doctor.Run(context.Background(), o)
	support := &site.Support{Name: "Riverside Tech Co-op", Email: "help@riverside.coop"}
	for _, tc := range []struct {
		name  string
		got   string
		order []string // each after the one before
	}{
		{"issue", doctor.Markdown(fs, support), []string{
			"## 2 thing(s) need attention",
			"### What you can do",
			"- **dns** (example.com): If you added a record for this address yourself",
			"- **disk** (data volume): Make the disk bigger: raise provider.hetzner.volume_gb in your site.yaml",
			"### What Riverside Tech Co-op does",
			"- **dns** (example.com): Another record points elsewhere",
			"- **disk** (data volume): Grow the volume",
			"Questions? Ask **Riverside Tech Co-op** ([help@riverside.coop](mailto:help@riverside.coop)).",
			"<details><summary>Everything that was checked</summary>",
		}},
		{"issue without support", doctor.Markdown(fs, nil), []string{"### What you can do", "### What your co-op does", "Questions? Ask your co-op."}},
		{"terminal", doctor.Text(fs), []string{
			"PROBLEM  dns", "2 problem(s) need attention",
			"what the owner can do:\n", "  dns (example.com): if you added a record", "  disk (data volume): make the disk bigger",
			"what the co-op does:\n", "  dns (example.com): another record points elsewhere", "  disk (data volume): grow the volume",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest := tc.got
			for _, w := range tc.order {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q missing or out of order in:\n%s", w, tc.got)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	// A problem only the co-op can fix still tells the owner so.
	o = options(t)
	o.Status = func(context.Context) (*hostcontract.Status, error) { return nil, doctor.ErrNoStatus }
	if md := doctor.Markdown(doctor.Run(context.Background(), o), nil); !strings.Contains(md, "- **backup** (backups): Nothing: it is for your co-op to fix") {
		t.Errorf("no owner line for a co-op-only problem:\n%s", md)
	}
}
