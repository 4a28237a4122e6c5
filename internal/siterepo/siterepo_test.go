package siterepo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/internal/siterepo"
)

// other is a catalog release other than the built-in one, as --catalog DIR would give.
func other() *catalog.Release {
	c := *catalog.Embedded()
	c.Release = "2000.01.1"
	return &c
}

// repo writes a site repo: site.yaml when given, nassella.lock pinned to lockRelease
// when not empty.
func repo(t *testing.T, siteYAML, lockRelease string) string {
	t.Helper()
	dir := t.TempDir()
	if siteYAML != "" {
		if err := os.WriteFile(filepath.Join(dir, siterepo.SiteFile), []byte(siteYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if lockRelease != "" {
		lock := "generator: " + generator.Version + "\ncatalog: " + lockRelease + "\nfiles: {}\n"
		if err := os.WriteFile(filepath.Join(dir, generator.LockPath), []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpen(t *testing.T) {
	valid, _ := examples.Get("one-app")
	builtIn := catalog.Embedded().Release
	cases := []struct {
		name        string
		site        string
		lock        string
		opts        siterepo.Options
		wantRelease string   // the release the repo is opened with
		wantLock    bool     // a lock was read
		wantErr     []string // all in the error
	}{
		{name: "pinned to the built-in release", site: string(valid), lock: builtIn, wantRelease: builtIn, wantLock: true},
		{name: "no lock: a new repo takes the built-in release", site: string(valid), wantRelease: builtIn},
		{name: "pinned to another release", site: string(valid), lock: "2000.01.1",
			wantErr: []string{"is pinned to catalog 2000.01.1 (nassella.lock) but this nassella has catalog " + builtIn,
				"nassella generate --update-catalog to move it to " + builtIn, "--catalog DIR with release 2000.01.1"}},
		{name: "explicit catalog holding the pinned release", site: string(valid), lock: "2000.01.1",
			opts: siterepo.Options{Catalog: other()}, wantRelease: "2000.01.1", wantLock: true},
		{name: "explicit catalog holding another release", site: string(valid), lock: builtIn, opts: siterepo.Options{Catalog: other()},
			wantErr: []string{"is pinned to catalog " + builtIn, "the catalog given with --catalog is release 2000.01.1", "--catalog DIR with release " + builtIn}},
		{name: "moving the pin", site: string(valid), lock: "2000.01.1", opts: siterepo.Options{MoveCatalog: true},
			wantRelease: builtIn, wantLock: true},
		{name: "missing site.yaml", wantErr: []string{siterepo.SiteFile, "no such file", "nassella init"}},
		{name: "bad YAML", site: "version: 1\nname: Bad Name\n", opts: siterepo.Options{Name: siterepo.SiteFile},
			wantErr: []string{"site.yaml:2:7: name \"Bad Name\""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := repo(t, tc.site, tc.lock)
			r, err := siterepo.Open(dir, tc.opts)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("opened; want an error with %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Catalog.Release != tc.wantRelease || (r.Lock != nil) != tc.wantLock || r.Site == nil || r.Dir != dir {
				t.Errorf("got release %s, lock %v, site %v; want release %s, lock %v", r.Catalog.Release, r.Lock != nil, r.Site != nil, tc.wantRelease, tc.wantLock)
			}
		})
	}
}

// Regenerate writes the tree and pins the repo to the release it was opened with.
func TestRegenerate(t *testing.T) {
	valid, _ := examples.Get("one-app")
	dir := repo(t, string(valid), "")
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Regenerate()
	if err != nil || len(res.Written) == 0 {
		t.Fatalf("regenerate: %v, %d written", err, len(res.Written))
	}
	again, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Lock == nil || again.Lock.Catalog != catalog.Embedded().Release {
		t.Fatalf("lock after regenerate: %+v", again.Lock)
	}
	if res, err := again.Regenerate(); err != nil || len(res.Written) != 0 {
		t.Fatalf("second regenerate: %v, wrote %v", err, res.Written)
	}
}

// A site moving to the built-in release from one whose images its lock names is refused
// when an app would skip the version upstream requires before a major (Nextcloud moves
// one major at a time), and moves when it would not.
func TestOpenRefusesSkippedUpgrade(t *testing.T) {
	site, _ := examples.Get("every-app")
	nc := catalog.Embedded().Apps["nextcloud"]
	from := nc.Upgrade(33).From // the oldest Nextcloud that may move to 33
	if from == "" {
		t.Fatal("the built-in Nextcloud has no upgrades entry for 33 with a from")
	}
	tests := []struct {
		old  string // the Nextcloud version the site runs
		want string // in the refusal; "" moves
	}{
		{from, ""},
		{"31.0.9", "nextcloud cannot move from 31.0.9 to " + nc.Version + " at once: version 33 needs " + from + " or later first"},
	}
	for _, tt := range tests {
		dir := repo(t, string(site), "")
		lock := "generator: " + generator.Version + "\ncatalog: 2000.01.1\nimages:\n  nextcloud/app: docker.io/library/nextcloud:" + tt.old + "-apache@sha256:" + strings.Repeat("0", 64) + "\nfiles: {}\n"
		if err := os.WriteFile(filepath.Join(dir, generator.LockPath), []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := siterepo.Open(dir, siterepo.Options{MoveCatalog: true})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("from %s: %v", tt.old, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "cannot move to catalog "+catalog.Embedded().Release)):
			t.Errorf("from %s: %v, want a refusal with %q", tt.old, err, tt.want)
		}
	}
}
