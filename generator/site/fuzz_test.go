package site_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/diag"
)

// FuzzLoad feeds site.yaml's loader what a customer might write: it must never panic, and
// a site it refuses is a diag.List naming site.yaml.
func FuzzLoad(f *testing.F) {
	for _, name := range examples.Names() {
		data, _ := examples.Get(name)
		f.Add(data)
	}
	invalid, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range invalid {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	cat := catalog.Embedded()
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := site.Load("site.yaml", data, cat)
		if err != nil {
			var list diag.List
			if l != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("refused without a diagnostic list: %T %v (loaded %v)", err, err, l != nil)
			}
			return
		}
		if l == nil || l.Site == nil {
			t.Fatal("no error and no site")
		}
	})
}
