package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
)

// stepLiveDNS is the step that refuses a whole-domain zone dropping live records.
const stepLiveDNS = "your domain's current records"

// checkLiveDNS refuses (fails) a whole-domain zone while the live domain has records
// the zone would drop, naming them, as nassella validate --live-dns does; in
// records-only mode it says which records the owner adds after the first apply. It
// asks cfg.DNSResolver, or the system's resolver when Resolver is the system's too (a
// caller with its own Resolver and no DNSResolver is a test: nothing is asked).
func (r *runner) checkLiveDNS(ctx context.Context) {
	s := r.cfg.Site
	if s.DNSMode() == site.DNSRecordsOnly {
		var hosts []string
		for _, a := range s.Apps {
			hosts = append(hosts, a.Host)
		}
		r.report(Step{Name: stepLiveDNS, Status: ToDo, Detail: "your domain stays at your DNS host; the apps need an A and an AAAA record each there: " + strings.Join(hosts, ", "),
			Fix: "after the first apply, add the records the README lists (terraform output records_to_add) at your DNS host; nassella doctor checks them"})
		return
	}
	if r.cfg.DNSResolver == "" && r.cfg.Resolver != Resolver(net.DefaultResolver) {
		r.report(Step{Name: stepLiveDNS, Status: Skipped, Detail: "no resolver to ask for the live records"})
		return
	}
	c := validate.LiveDNS(ctx, s, r.cfg.DNSResolver)
	var dropped *validate.DroppedError
	switch {
	case errors.As(c.Err, &dropped):
		r.report(Step{Name: stepLiveDNS, Status: Failed, Detail: c.Err.Error(),
			Fix: "change dns in site.yaml as said above, run nassella generate and bootstrap again"})
		return
	case c.Err != nil:
		r.report(Step{Name: stepLiveDNS, Status: Warning, Detail: "the domain's records could not be looked at: " + c.Err.Error(),
			Fix: "before the domain points at Hetzner, run nassella validate --live-dns where DNS can be asked"})
		return
	}
	r.report(Step{Name: stepLiveDNS, Status: AlreadyThere, Detail: c.Detail})
}

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
		fix := fmt.Sprintf("at the registrar of %s, set its name servers to %s (%s); the change can take up to a day to show", zone, strings.Join(want, ", "), source)
		if r.cfg.Site.DNSMode() == site.DNSSubdomain {
			parent := zone[strings.IndexByte(zone, '.')+1:]
			fix = fmt.Sprintf("where the records of %s are kept (its DNS host), add an NS record for %s to each of %s (%s); the rest of %s stays as it is", parent, zone, strings.Join(want, ", "), source, parent)
		}
		r.report(Step{Name: name, Status: ToDo, Detail: fmt.Sprintf("not delegated to Hetzner yet (%s)", now), Fix: fix})
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
