package site_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/golden"
)

// Every invalid site.yaml under testdata/invalid is paired with the exact errors it must
// give (NAME.err); run with -update to rewrite them, then review the diff.
func TestInvalid(t *testing.T) {
	cat := catalog.Embedded()
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = site.Load("site.yaml", data, cat)
			if err == nil {
				t.Fatal("loaded without error")
			}
			golden.File(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestExamplesLoad(t *testing.T) {
	cat := catalog.Embedded()
	for _, name := range examples.Names() {
		data, _ := examples.Get(name)
		l, err := site.Load(name+".yaml", data, cat)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(l.Apps) == 0 {
			t.Errorf("%s: no apps resolved", name)
		}
	}
}

func TestEveryAppExampleCoversCatalog(t *testing.T) {
	cat := catalog.Embedded()
	data, _ := examples.Get("every-app")
	l, err := site.Load("every-app.yaml", data, cat)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(l.AppNames(), ","), strings.Join(cat.Names(), ","); got != want {
		t.Errorf("every-app runs %s; the catalog has %s", got, want)
	}
}

func TestResolvedHosts(t *testing.T) {
	data, _ := examples.Get("custom-domains")
	l, err := site.Load("custom-domains.yaml", data, catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"forgejo":     "code.riverside-dev.example",
		"nextcloud":   "files.riverside.example",
		"uptime-kuma": "status.riverside.example",
		"vaultwarden": "passwords.riverside.example",
	}
	for _, a := range l.Apps {
		if a.Host != want[a.Name] {
			t.Errorf("%s: host %q, want %q", a.Name, a.Host, want[a.Name])
		}
	}
	if got := strings.Join(l.Zones(), ","); got != "riverside-dev.example,riverside.example" {
		t.Errorf("zones %s", got)
	}
	if got := l.BackupOnCalendar(); got != "hourly" {
		t.Errorf("backup calendar %q", got)
	}
}

func TestSchemaMatchesDocs(t *testing.T) {
	got, err := site.Schema()
	if err != nil {
		t.Fatal(err)
	}
	// docs/site.schema.json is out of date with the Go types when this fails.
	golden.File(t, "../../docs/site.schema.json", got)
}
