package generator_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nassella/nassella/generator"
)

// FuzzParseLock feeds the lock parser what a site repo might hold: it must never panic,
// and every path of a lock it accepts is one nassella may touch.
func FuzzParseLock(f *testing.F) {
	locks, _ := filepath.Glob(filepath.Join(goldenDir, "*", generator.LockPath))
	for _, p := range locks {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("files:\n  ../../elsewhere/important.txt: sha256:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := generator.ParseLock(data)
		if err != nil {
			if l != nil {
				t.Fatal("an error and a lock")
			}
			return
		}
		for _, p := range l.Owned() {
			if p != generator.LockPath && !generator.Generated(p) {
				t.Fatalf("accepted a lock naming %q", p)
			}
		}
	})
}
