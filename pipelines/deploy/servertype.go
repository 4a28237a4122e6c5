package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nassella/nassella/generator/site"
)

// ErrServerTypeGone is returned by MakePlan when Hetzner can no longer create a server of
// the site's type in its location.
var ErrServerTypeGone = errors.New("your server's type can no longer be ordered from Hetzner")

// The Hetzner API's answer for server types, as far as the check needs it
// (hetznercloud/hcloud-go hcloud/schema/server_type.go and deprecation.go): since 2025
// deprecation and availability are given per location; the type-wide deprecation is kept
// for older clients.
type apiServerType struct {
	Name        string          `json:"name"`
	Memory      float64         `json:"memory"` // GB
	Deprecation *apiDeprecation `json:"deprecation"`
	Locations   []struct {
		Name        string          `json:"name"`
		Available   *bool           `json:"available"`
		Deprecation *apiDeprecation `json:"deprecation"`
	} `json:"locations"`
	Prices []struct {
		Location     string `json:"location"`
		PriceMonthly struct {
			Net string `json:"net"`
		} `json:"price_monthly"`
	} `json:"prices"`
}

type apiDeprecation struct {
	UnavailableAfter time.Time `json:"unavailable_after"`
}

// status says whether a server of the type can be created in location at now: gone says
// it cannot (not sold there, or past its deprecation's unavailable_after); the note is for
// the log (deprecated with a date, or none free at the moment).
func (t apiServerType) status(location string, now time.Time) (gone bool, why, note string) {
	if t.Deprecation != nil && now.After(t.Deprecation.UnavailableAfter) {
		return true, fmt.Sprintf("no longer sold since %s", t.Deprecation.UnavailableAfter.Format(time.DateOnly)), ""
	}
	for _, l := range t.Locations {
		if l.Name != location {
			continue
		}
		switch {
		case l.Deprecation != nil && now.After(l.Deprecation.UnavailableAfter):
			return true, fmt.Sprintf("no longer sold there since %s", l.Deprecation.UnavailableAfter.Format(time.DateOnly)), ""
		case l.Deprecation != nil:
			note = fmt.Sprintf("Hetzner stops selling server type %s in %s after %s; choose another type before then, as every rebuild creates a new server", t.Name, location, l.Deprecation.UnavailableAfter.Format(time.DateOnly))
		case l.Available != nil && !*l.Available:
			note = fmt.Sprintf("Hetzner has no server of type %s free in %s at the moment; a rebuild may fail until it has", t.Name, location)
		}
		return false, "", note
	}
	return true, "not sold there", ""
}

func (t apiServerType) price(location string) float64 {
	for _, p := range t.Prices {
		if p.Location == location {
			if f, err := strconv.ParseFloat(p.PriceMonthly.Net, 64); err == nil {
				return f
			}
		}
	}
	return 0
}

// checkServerType asks the Hetzner API (TF_VAR_hcloud_endpoint and TF_VAR_hcloud_token,
// which the provider uses too) whether a server of the site's type can still be created
// in its location. The built-in list in generator/site is only a hint; this is the truth
// on the day of the plan. A type that cannot is refused, naming the nearest one that can
// and fits the apps: every change that rebuilds the server creates a new one.
func (e Env) checkServerType(ctx context.Context, s *site.Loaded) error {
	h := s.Provider.Hetzner
	token := os.Getenv("TF_VAR_hcloud_token")
	if h == nil || token == "" {
		return nil // OpenTofu refuses a plan without a token itself
	}
	endpoint := cmp.Or(os.Getenv("TF_VAR_hcloud_endpoint"), "https://api.hetzner.cloud/v1")
	found, err := listServerTypes(ctx, endpoint, token, h.ServerType)
	if err != nil {
		return err
	}
	now := time.Now()
	if len(found) == 0 {
		return fmt.Errorf("%w: Hetzner does not know server type %s; choose one of the types in docs/owner/site-yaml.md (server_type) and set it in your site.yaml", ErrServerTypeGone, h.ServerType)
	}
	gone, why, note := found[0].status(h.Location, now)
	if note != "" {
		e.logf("note: %s\n", note)
	}
	if !gone {
		return nil
	}
	msg := fmt.Sprintf("%s in %s is %s. The server keeps running, but every change to your site builds it anew, so nothing can be changed until the site moves to another type (the move rebuilds the server once; your data stays on its volume)",
		h.ServerType, h.Location, why)
	all, err := listServerTypes(ctx, endpoint, token, "")
	if err != nil {
		return err
	}
	if next, ok := nearest(all, found[0], h.Location, s.MemoryMB(), now); ok {
		return fmt.Errorf("%w: %s; set server_type: %s (%g GB) in your site.yaml", ErrServerTypeGone, msg, next.Name, next.Memory)
	}
	return fmt.Errorf("%w: %s; no type nassella supports can be created in %s now, so the site must move to another location", ErrServerTypeGone, msg, h.Location)
}

// nearest is the type nassella supports that can be created in location and fits the
// apps and the old type's memory: the least memory first, then the old type's family,
// then the lowest price.
func nearest(all []apiServerType, old apiServerType, location string, needMB int, now time.Time) (apiServerType, bool) {
	needGB := max(float64(needMB)/1024, old.Memory)
	family := strings.TrimRight(old.Name, "0123456789")
	var fit []apiServerType
	for _, t := range all {
		if gone, _, _ := t.status(location, now); !gone && t.Memory >= needGB && site.CurrentServerType(t.Name) {
			fit = append(fit, t)
		}
	}
	if len(fit) == 0 {
		return apiServerType{}, false
	}
	sameFamily := func(t apiServerType) int {
		if strings.TrimRight(t.Name, "0123456789") == family {
			return 0
		}
		return 1
	}
	slices.SortFunc(fit, func(a, b apiServerType) int {
		return cmp.Or(cmp.Compare(a.Memory, b.Memory), cmp.Compare(sameFamily(a), sameFamily(b)),
			cmp.Compare(a.price(location), b.price(location)), strings.Compare(a.Name, b.Name))
	})
	return fit[0], true
}

// listServerTypes reads GET /server_types, all pages, only the named type when name is set.
func listServerTypes(ctx context.Context, endpoint, token, name string) ([]apiServerType, error) {
	var out []apiServerType
	for page := 1; page > 0 && page <= 20; { // 20 pages of 50: far more types than Hetzner has
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {"50"}}
		if name != "" {
			q.Set("name", name)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+"/server_types?"+q.Encode(), nil)
		if err != nil {
			return nil, fmt.Errorf("checking the server type with the Hetzner API: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("checking the server type with the Hetzner API: %w", err)
		}
		var body struct {
			ServerTypes []apiServerType `json:"server_types"`
			Meta        struct {
				Pagination struct {
					NextPage *int `json:"next_page"`
				} `json:"pagination"`
			} `json:"meta"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("checking the server type with the Hetzner API: GET /server_types answered %s (is the CI secret HCLOUD_TOKEN the project's API token?)", resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("checking the server type with the Hetzner API: %w", err)
		}
		out = append(out, body.ServerTypes...)
		if n := body.Meta.Pagination.NextPage; n != nil && *n > page {
			page = *n
		} else {
			page = 0
		}
	}
	return out, nil
}
