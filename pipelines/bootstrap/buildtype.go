package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// buildServerType picks the temporary server's type when none was given: an x86 type
// (Flatcar's Hetzner image is amd64) that Hetzner sells in the location today, the
// smallest disk first (the snapshot's disk size is the build server's, and a site's server
// can only be created from it with a disk at least as large), then one that is not being
// withdrawn there, then the cheapest there. A fixed default failed outside Europe: cx23
// is sold in the EU locations only. Deprecation and sale per location come from the
// server type's "locations" (hetznercloud/hcloud-go hcloud/server_type.go,
// ServerTypeLocation; the type-wide deprecation is kept for older clients).
func buildServerType(ctx context.Context, hc *hcloud.Client, location string, now time.Time) (string, error) {
	all, err := hc.ServerType.All(ctx)
	if err != nil {
		return "", fmt.Errorf("listing Hetzner's server types for the temporary server: %w", err)
	}
	type candidate struct {
		name       string
		disk       int
		withdrawn  bool
		monthlyNet float64
	}
	var fit []candidate
	for _, t := range all {
		if t.Architecture != hcloud.ArchitectureX86 || (t.IsDeprecated() && now.After(t.UnavailableAfter())) {
			continue
		}
		i := slices.IndexFunc(t.Locations, func(l hcloud.ServerTypeLocation) bool { return l.Location != nil && l.Location.Name == location })
		if i < 0 {
			continue // not sold there
		}
		l := t.Locations[i]
		if l.IsDeprecated() && now.After(l.UnavailableAfter()) {
			continue
		}
		c := candidate{name: t.Name, disk: t.Disk, withdrawn: t.IsDeprecated() || l.IsDeprecated(), monthlyNet: -1}
		for _, p := range t.Pricings {
			if p.Location != nil && p.Location.Name == location {
				if f, err := strconv.ParseFloat(p.Monthly.Net, 64); err == nil {
					c.monthlyNet = f
				}
			}
		}
		fit = append(fit, c)
	}
	if len(fit) == 0 {
		return "", fmt.Errorf("Hetzner sells no x86 server type in %s today; give one with --build-server-type or bootstrap in another location", location)
	}
	withdrawn := func(c candidate) int {
		if c.withdrawn {
			return 1
		}
		return 0
	}
	slices.SortFunc(fit, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.disk, b.disk), cmp.Compare(withdrawn(a), withdrawn(b)),
			cmp.Compare(a.monthlyNet, b.monthlyNet), cmp.Compare(a.name, b.name))
	})
	return fit[0].name, nil
}
