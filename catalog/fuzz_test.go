package catalog

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/inputfile"
)

// releaseWith is the built-in release.yaml with one app, apps/fuzzed.yaml holding data.
func releaseWith(t testing.TB, data []byte) fstest.MapFS {
	release, err := fs.ReadFile(embedded, "release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"release.yaml": {Data: release}, "apps/fuzzed.yaml": {Data: data}}
}

// FuzzLoad feeds the catalog loader one app file a maintainer (or a fork's pull request)
// might write: it must never panic, and a catalog it refuses is a diag.List.
func FuzzLoad(f *testing.F) {
	apps, _ := fs.Glob(embedded, "apps/*.yaml")
	for _, p := range apps {
		data, _ := fs.ReadFile(embedded, p)
		// The seed is the app renamed to its file's name.
		name := strings.TrimSuffix(strings.TrimPrefix(p, "apps/"), ".yaml")
		f.Add([]byte(strings.Replace(string(data), "name: "+name, "name: fuzzed", 1)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Load(releaseWith(t, data))
		if err != nil {
			var list diag.List
			if r != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("refused without a diagnostic list: %T %v", err, err)
			}
			return
		}
		if len(r.Apps) != 1 || r.Apps["fuzzed"] == nil {
			t.Fatalf("loaded %v, want the fuzzed app", r.Names())
		}
	})
}

func TestLoadRefusesAHugeAppFile(t *testing.T) {
	_, err := Load(releaseWith(t, make([]byte, inputfile.MaxSize+1)))
	if err == nil || !strings.Contains(err.Error(), "apps/fuzzed.yaml is 1.0 MiB, more than the 1.0 MiB") {
		t.Fatalf("err = %v", err)
	}
}
