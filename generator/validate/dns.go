package validate

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/dnscheck"
)

// LiveDNSCheck is the name of the check of the domain's live records.
const LiveDNSCheck = "your domain's current records"

// DNSZones returns what each zone of a whole-domain site would carry: the owner's records
// in the site domain's zone, and each app's host with any address or alias (the
// addresses exist only after the first apply).
func DNSZones(s *site.Loaded) []dnscheck.Zone {
	var zones []dnscheck.Zone
	for _, name := range s.Zones() {
		z := dnscheck.Zone{Domain: name}
		for _, a := range s.Apps {
			if a.Zone == name {
				// The app's records replace whatever address or alias the name had.
				for _, typ := range []string{"A", "AAAA", "CNAME"} {
					z.Records = append(z.Records, dnscheck.Record{Name: a.Host, Type: typ})
				}
			}
		}
		if name == s.Domain {
			for _, r := range s.OwnerRecords() {
				for _, v := range r.Values {
					z.Records = append(z.Records, dnscheck.Record{Name: r.Host(), Type: r.Type, Value: v})
				}
			}
		}
		zones = append(zones, z)
	}
	return zones
}

// LiveDNS refuses a whole-domain zone while the live domain has records the zone would
// drop (the organisation's e-mail and website would stop when the domain points at the
// zone), naming each and the lines that keep them. Other modes never drop records.
// resolver is host:port, or empty for the system's.
func LiveDNS(ctx context.Context, s *site.Loaded, resolver string) Check {
	c := Check{Name: LiveDNSCheck}
	if s.DNSMode() != site.DNSWholeDomain {
		c.Detail = "nothing to compare: " + map[string]string{
			site.DNSRecordsOnly: "your domain stays at your DNS host",
			site.DNSSubdomain:   "only " + s.Domain + " moves, the rest of your domain stays where it is",
		}[s.DNSMode()]
		return c
	}
	client, err := dnscheck.New(resolver)
	if err != nil {
		c.Err = err
		return c
	}
	var problems []string
	kept := 0
	for _, z := range DNSZones(s) {
		ns, err := client.Lookup(ctx, z.Domain, "NS")
		if err != nil {
			c.Err = err
			return c
		}
		if onHetzner(ns) {
			kept++ // already served by the zone: its records are nassella's to change
			continue
		}
		dropped, err := client.Dropped(ctx, z)
		if err != nil {
			c.Err = err
			return c
		}
		if len(dropped) > 0 {
			problems = append(problems, droppedMessage(z.Domain, dropped))
		}
	}
	if len(problems) > 0 {
		c.Err = &DroppedError{msg: strings.Join(problems, "\n")}
		return c
	}
	c.Detail = "the zone keeps every record your domain has now"
	if kept > 0 {
		c.Detail = "your domain already points at the zone"
	}
	return c
}

// DroppedError is LiveDNS's refusal: live records would be dropped. Any other error
// means the records could not be looked at.
type DroppedError struct{ msg string }

func (e *DroppedError) Error() string { return e.msg }

// onHetzner reports whether a domain's name servers are Hetzner's (hydrogen.ns.hetzner.com
// and the others of authoritative_nameservers.assigned, see
// terraform-provider-hcloud v1.57.0 internal/zone/model_test.go).
func onHetzner(ns []dnscheck.Record) bool {
	for _, r := range ns {
		if r.Type == "NS" && (strings.HasSuffix(r.Value, ".ns.hetzner.com.") || strings.HasSuffix(r.Value, ".ns.hetzner.de.")) {
			return true
		}
	}
	return false
}

// droppedMessage names each record a zone would drop and the site.yaml lines keeping it.
func droppedMessage(domain string, dropped []dnscheck.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has records today that the new zone would not have, so moving the whole domain to Hetzner would break them (often your e-mail or website):\n", domain)
	for _, r := range dropped {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	fmt.Fprintf(&b, "fix: keep your domain where it is with dns: { records_only: {} } (you then add the apps' addresses there yourself), "+
		"or move only a part of it (domain: apps.%s with dns: { hetzner: { delegation: subdomain } }), "+
		"or list each record under dns.hetzner.records in your site.yaml:\n", domain)
	for _, r := range dropped {
		name := "@"
		if r.Name != domain {
			name = strings.TrimSuffix(r.Name, "."+domain)
		}
		fmt.Fprintf(&b, "      - { name: %s, type: %s, value: %s }\n", strconv.Quote(name), r.Type, strconv.Quote(r.Value))
	}
	fmt.Fprintf(&b, "(only the names most domains use were looked at: add any other record your domain has too)")
	return b.String()
}
