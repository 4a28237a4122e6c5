package caddycheck_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/nassella/nassella/generator/validate/caddycheck"
)

// Caddy up to 2.11.4 (the catalog's proxy) applies the ? (default) fields of one header
// directive only when all of them are absent from the response: one handler with one
// Require matcher per directive (caddyserver/caddy v2.11.4
// modules/caddyhttp/headers/caddyfile.go, handlerWithRequire; v2.11.9, linked here, gives
// each default its own handler). An app setting one of them would lose the others, so each
// default is its own directive. Found by the compose rehearsal: Nextcloud's own
// Strict-Transport-Security line dropped every other default header.
func TestEachDefaultHeaderStandsAlone(t *testing.T) {
	golden, _ := filepath.Glob("../../testdata/golden/*/proxy/Caddyfile")
	if len(golden) == 0 {
		t.Fatal("no generated Caddyfile under generator/testdata/golden")
	}
	for _, p := range golden {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := caddycheck.Check(p, body); err != nil {
			t.Fatal(err)
		}
		// The text: no header block holds two ? fields (the adapter linked here cannot show
		// the catalog's Caddy's behaviour).
		inBlock, defaults := false, 0
		for i, l := range strings.Split(string(body), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "header") && strings.HasSuffix(l, "{"):
				inBlock, defaults = true, 0
			case inBlock && l == "}":
				inBlock = false
			case inBlock && strings.HasPrefix(l, "?"):
				if defaults++; defaults > 1 {
					t.Errorf("%s:%d: a second default in one header block: %s", p, i+1, l)
				}
			}
		}
		adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
		js, _, err := adapter.Adapt(body, map[string]any{"filename": p})
		if err != nil {
			t.Fatal(err)
		}
		var cfg any
		if err := json.Unmarshal(js, &cfg); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		walk(cfg, func(m map[string]any) {
			if m["handler"] != "headers" {
				return
			}
			resp, _ := m["response"].(map[string]any)
			req, _ := resp["require"].(map[string]any)
			hdrs, _ := req["headers"].(map[string]any)
			if len(hdrs) > 1 {
				var names []string
				for k := range hdrs {
					names = append(names, k)
				}
				sort.Strings(names)
				t.Errorf("%s: the defaults %s share one condition", p, strings.Join(names, ", "))
			}
			for k := range hdrs {
				seen[k] = true
			}
		})
		for _, h := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
			if !seen[h] {
				t.Errorf("%s: no default for %s", p, h)
			}
		}
	}
}

func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, c := range x {
			walk(c, f)
		}
	case []any:
		for _, c := range x {
			walk(c, f)
		}
	}
}
