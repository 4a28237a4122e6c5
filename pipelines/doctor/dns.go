package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/dnscheck"
)

// DNSSetup is how the site's DNS is served (site.yaml's dns), for the checks of the
// records the owner keeps at their DNS host (records-only) or of the delegation.
type DNSSetup struct {
	Mode  string   // site.DNSRecordsOnly, DNSSubdomain or DNSWholeDomain
	Hosts []string // the apps' hosts
	Zones []string // the zones nassella serves (none in records-only mode)
	// NameServers are the zones' name servers (the name_servers output); empty: any of
	// Hetzner's.
	NameServers []string
	Resolver    string // host:port asked; "": the system's resolver
}

// DNSSetupOf is the DNS setup of a site.
func DNSSetupOf(s *site.Loaded, resolver string) *DNSSetup {
	d := &DNSSetup{Mode: s.DNSMode(), Zones: s.Zones(), Resolver: resolver}
	for _, a := range s.Apps {
		d.Hosts = append(d.Hosts, a.Host)
	}
	return d
}

// CheckDNSSetup checks, in records-only mode, that each app's A and AAAA records at the
// owner's DNS host hold the server's addresses, and otherwise that each zone is
// delegated to the zone's name servers.
func CheckDNSSetup(ctx context.Context, opt Options) []Finding {
	d := opt.DNS
	if d == nil {
		return nil
	}
	c, err := dnscheck.New(d.Resolver)
	if err != nil {
		return []Finding{{Check: "dns records", Subject: "resolver", What: "DNS could not be asked: " + err.Error(),
			Coop: "run nassella doctor where a resolver is set up, or name one with --dns-resolver"}}
	}
	if d.Mode == site.DNSRecordsOnly {
		return checkOwnerRecords(ctx, c, d, opt.ServerIPs)
	}
	return checkDelegations(ctx, c, d)
}

// checkOwnerRecords compares the records the owner added with the server's addresses.
func checkOwnerRecords(ctx context.Context, c *dnscheck.Client, d *DNSSetup, ips []string) []Finding {
	var v4, v6 string
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			v4 = a.String()
		} else if err == nil {
			v6 = a.String()
		}
	}
	if v4 == "" && v6 == "" {
		return []Finding{{Check: "dns records", Subject: "your DNS host", What: "the records at your DNS host were not checked: the server's addresses were not given",
			Coop: "run nassella doctor with the terraform outputs at hand (it reads ipv4_address and ipv6_address)"}}
	}
	mismatches, err := c.CheckHosts(ctx, d.Hosts, v4, v6)
	if err != nil {
		return []Finding{{Check: "dns records", Subject: "your DNS host", What: "the records could not be looked up: " + err.Error(),
			Coop: "check the resolver nassella doctor asks (--dns-resolver) and run it again"}}
	}
	byHost := map[string][]dnscheck.Mismatch{}
	for _, m := range mismatches {
		byHost[m.Want.Name] = append(byHost[m.Want.Name], m)
	}
	var fs []Finding
	for _, h := range d.Hosts {
		f := Finding{Check: "dns records", Subject: h, OK: len(byHost[h]) == 0}
		if f.OK {
			f.What = fmt.Sprintf("%s has the records your DNS host must keep (A %s, AAAA %s)", h, v4, v6)
			fs = append(fs, f)
			continue
		}
		var what, add []string
		for _, m := range byHost[h] {
			what = append(what, m.String())
			add = append(add, m.Want.String())
		}
		f.What = strings.Join(what, "; ")
		f.Owner = "at the company that keeps your domain's records (your DNS host), make these records exactly so, and remove any other A or AAAA record of " + h + ": " + strings.Join(add, "; ") + "; changes can take an hour to show"
		f.Coop = "the addresses are the terraform outputs records_to_add (ipv4_address, ipv6_address); help the owner at their DNS host if they ask"
		fs = append(fs, f)
	}
	return fs
}

// checkDelegations checks that each zone's name servers are the zone's.
func checkDelegations(ctx context.Context, c *dnscheck.Client, d *DNSSetup) []Finding {
	var fs []Finding
	for _, zone := range d.Zones {
		f := Finding{Check: "delegation", Subject: zone}
		got, ok, err := c.Delegation(ctx, zone, d.NameServers)
		if err != nil {
			f.What = "the delegation could not be looked up: " + err.Error()
			f.Coop = "check the resolver nassella doctor asks (--dns-resolver) and run it again"
			fs = append(fs, f)
			continue
		}
		if len(d.NameServers) == 0 {
			ok = len(got) > 0
			for _, ns := range got {
				ok = ok && (strings.HasSuffix(ns, ".ns.hetzner.com") || strings.HasSuffix(ns, ".ns.hetzner.de"))
			}
		}
		f.OK = ok
		if ok {
			f.What = fmt.Sprintf("%s is served by %s", zone, strings.Join(got, ", "))
			fs = append(fs, f)
			continue
		}
		now := "no name servers"
		if len(got) > 0 {
			now = strings.Join(got, ", ")
		}
		want := "Hetzner's name servers"
		if len(d.NameServers) > 0 {
			want = strings.Join(d.NameServers, ", ")
		}
		f.What = fmt.Sprintf("%s is not delegated to its zone: it has %s", zone, now)
		if d.Mode == site.DNSSubdomain {
			parent := zone[strings.IndexByte(zone, '.')+1:]
			f.Owner = fmt.Sprintf("at the DNS host of %s, add an NS record for %s to each of %s (your support contact has the list)", parent, zone, want)
		} else {
			f.Owner = fmt.Sprintf("at the company you bought %s from, set its name servers to %s (your support contact has the list)", zone, want)
		}
		f.Coop = "the zone's name servers are the terraform output name_servers; records_to_add lists the NS records of a subdomain"
		fs = append(fs, f)
	}
	return fs
}
