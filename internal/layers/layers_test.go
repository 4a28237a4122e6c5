// Package layers holds one test: every import in the module points down the layers that
// docs/maintainers/where-things-live.md describes, and no product code imports a test
// server.
package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/nassella/nassella/"

// layerOf gives each package of the module its layer: 0 is the top (the binary), higher
// numbers are further down. A package may import its own layer or a lower one.
func layerOf(pkg string) (int, bool) {
	rel := strings.TrimPrefix(pkg, module)
	for _, l := range layers {
		for _, prefix := range l.prefixes {
			if rel == prefix || strings.HasPrefix(rel, prefix+"/") {
				return l.n, true
			}
		}
	}
	return 0, false
}

var layers = []struct {
	n        int
	prefixes []string
}{
	{0, []string{"cmd"}},
	{1, []string{"internal/cli"}},
	{2, []string{"pipelines"}},
	// generator/validate checks a whole repo, so it sits beside siterepo, above the rest
	// of the generator (the table is read in order: it matches before "generator").
	{3, []string{"internal/siterepo", "generator/validate"}},
	{4, []string{"generator"}},
	{5, []string{"internal/hostcontract", "internal/sshx", "internal/gitx", "internal/forge", "internal/registry", "internal/health", "internal/fleet", "internal/dnscheck"}},
	{6, []string{"catalog", "site-template", "ci-images"}},
	{7, []string{"internal/diag", "internal/strictyaml", "internal/syncbuf", "internal/inputfile", "internal/cmdline"}},
	// Test servers and helpers: only tests import them, from any layer.
	{-1, []string{"internal/testenv", "internal/layers"}},
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	seen := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from := fields[0]
		fl, ok := layerOf(from)
		if !ok {
			t.Errorf("%s is in no layer: add it to the table in this test and to docs/maintainers/where-things-live.md", from)
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			il, ok := layerOf(imp)
			switch {
			case !ok:
				t.Errorf("%s imports %s, which is in no layer", from, imp)
			case il == -1 && fl != -1:
				t.Errorf("%s (product code) imports the test package %s", from, imp)
			case fl != -1 && il < fl:
				t.Errorf("%s (layer %d) imports %s from the higher layer %d", from, fl, imp, il)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d packages listed; is go list working here?", seen)
	}
}
