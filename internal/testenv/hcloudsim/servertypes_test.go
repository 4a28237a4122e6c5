package hcloudsim

import (
	"net/http"
	"testing"
	"time"
)

// Withdrawn server types answer as the API does: still listed, with a deprecation per
// location and available false once unavailable_after has passed, and a new server of one
// is refused with invalid_server_type; the old cpx types stay on sale outside Europe.
func TestWithdrawnServerTypes(t *testing.T) {
	sim, c := newSim(t)
	image := sim.AddFlatcarSnapshot("stable")
	for _, tc := range []struct {
		typ, location, datacenter string
		deprecated, available     bool
		legacyDeprecated          bool // the type-wide field: every location deprecated
	}{
		{"cx22", "nbg1", "nbg1-dc3", true, false, true},
		{"cx32", "hel1", "hel1-dc2", true, false, true},
		{"cpx21", "fsn1", "fsn1-dc14", true, false, false},
		{"cpx21", "ash", "ash-dc1", false, true, false},
		{"cx23", "nbg1", "nbg1-dc3", false, true, false},
		{"cpx22", "fsn1", "fsn1-dc14", false, true, false},
	} {
		t.Run(tc.typ+" in "+tc.location, func(t *testing.T) {
			c.t = t
			list := get[[]any](t, c.must(http.StatusOK, "GET", "/server_types?name="+tc.typ, nil), "server_types")
			if len(list) != 1 {
				t.Fatalf("%d server types named %s", len(list), tc.typ)
			}
			st := list[0].(map[string]any)
			if got := st["deprecated"] == true; got != tc.legacyDeprecated {
				t.Errorf("deprecated = %v", st["deprecated"])
			}
			var loc map[string]any
			for _, l := range get[[]any](t, st, "locations") {
				if l.(map[string]any)["name"] == tc.location {
					loc = l.(map[string]any)
				}
			}
			if loc == nil {
				t.Fatalf("%s not listed in %s", tc.typ, tc.location)
			}
			if got := loc["deprecation"] != nil; got != tc.deprecated {
				t.Errorf("deprecation = %v", loc["deprecation"])
			}
			if tc.deprecated && get[string](t, loc, "deprecation", "unavailable_after") != "2025-12-31T23:59:59Z" {
				t.Errorf("deprecation = %v", loc["deprecation"])
			}
			if loc["available"] != tc.available {
				t.Errorf("available = %v", loc["available"])
			}
			create := map[string]any{"name": "acme-" + tc.typ + "-" + tc.location, "server_type": tc.typ, "image": image, "datacenter": tc.datacenter}
			if tc.available {
				c.must(http.StatusCreated, "POST", "/servers", create)
			} else {
				c.fails(http.StatusUnprocessableEntity, "invalid_server_type", "POST", "/servers", create)
			}
		})
	}

	// Before unavailable_after a deprecated type is still sold.
	sim.now = func() time.Time { return time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC) }
	c.t = t
	c.must(http.StatusCreated, "POST", "/servers", map[string]any{"name": "early", "server_type": "cx22", "image": image, "datacenter": "nbg1-dc3"})
	st := get[[]any](t, c.must(http.StatusOK, "GET", "/server_types?name=cx22", nil), "server_types")[0].(map[string]any)
	for _, l := range get[[]any](t, st, "locations") {
		if l := l.(map[string]any); l["available"] != true || l["deprecation"] == nil {
			t.Errorf("before unavailable_after: %v", l)
		}
	}
}
