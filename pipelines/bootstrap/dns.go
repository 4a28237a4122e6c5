package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// HetznerNameservers are the name servers Hetzner assigns to primary zones
// (authoritative_nameservers.assigned); they are what the owner delegates to before the
// first apply has created the zone.
var HetznerNameservers = []string{"hydrogen.ns.hetzner.com", "oxygen.ns.hetzner.com", "helium.ns.hetzner.de"}

// checkDelegation prints, for each of the site's zones, the name servers the owner must
// set at their registrar, and whether the delegation is in place.
func (r *runner) checkDelegation(ctx context.Context, hc *hcloud.Client) {
	for _, zone := range r.cfg.Site.Zones() {
		name := "DNS delegation of " + zone
		want := HetznerNameservers
		source := "Hetzner's name servers (the first apply creates the zone)"
		if hc != nil {
			z, _, err := hc.Zone.GetByName(ctx, zone)
			switch {
			case err != nil:
				r.report(Step{Name: name, Status: Failed, Detail: "reading the zone: " + err.Error(), Fix: "run again; if it persists, check https://status.hetzner.com"})
				continue
			case z != nil && len(z.AuthoritativeNameservers.Assigned) > 0:
				want = z.AuthoritativeNameservers.Assigned
				source = "the name servers of the zone in the project"
			}
		}
		want = normalizeNS(want)
		records, err := r.cfg.Resolver.LookupNS(ctx, zone)
		var got []string
		for _, ns := range records {
			got = append(got, ns.Host)
		}
		got = normalizeNS(got)
		if err == nil && slices.Equal(got, want) {
			r.report(Step{Name: name, Status: AlreadyThere, Detail: "delegated to " + strings.Join(want, ", ")})
			continue
		}
		now := "no name servers found"
		if len(got) > 0 {
			now = "now " + strings.Join(got, ", ")
		}
		r.report(Step{Name: name, Status: ToDo, Detail: fmt.Sprintf("not delegated to Hetzner yet (%s)", now),
			Fix: fmt.Sprintf("at the registrar of %s, set its name servers to %s (%s); the change can take up to a day to show", zone, strings.Join(want, ", "), source)})
	}
}

// normalizeNS lowercases, strips the final dot and sorts.
func normalizeNS(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
