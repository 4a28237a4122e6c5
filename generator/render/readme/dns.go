package readme

import (
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/site"
)

// DNSSection is the README's section on the domain's records, in the owner's words, for
// the site's DNS mode (generator/site/dns.go): in records-only mode the records to add at
// the owner's DNS host, for a subdomain the NS records at the parent, for the whole
// domain the warning that unlisted records stop working. The addresses exist only after
// the first apply: they are the records_to_add output, which the doctor checks.
func DNSSection(s *site.Loaded) string {
	var b strings.Builder
	b.WriteString("## Your domain's records\n\n")
	switch s.DNSMode() {
	case site.DNSRecordsOnly:
		fmt.Fprintf(&b, "Your domain stays with the company that keeps its records now (your DNS host); your e-mail and website there are not touched. "+
			"For your apps to be reached, add these records there once the server exists (the first merge creates it). "+
			"The server's addresses are in the log of that change, under `records_to_add`, and your support contact can give them to you.\n\n")
		b.WriteString("| Name | Type | Value |\n| --- | --- | --- |\n")
		for _, a := range s.Apps {
			fmt.Fprintf(&b, "| `%s` | A | the server's IPv4 address |\n", a.Host)
			if s.Provider.HasIPv6() {
				fmt.Fprintf(&b, "| `%s` | AAAA | the server's IPv6 address |\n", a.Host)
			}
		}
		b.WriteString("\nRemove any other A, AAAA or CNAME record of these names. The doctor checks the records and says when one is missing or wrong.\n")
	case site.DNSSubdomain:
		for _, zone := range s.Zones() {
			parent := zone[strings.IndexByte(zone, '.')+1:]
			fmt.Fprintf(&b, "Only `%s` is served by Hetzner; the rest of `%s`, its e-mail and website, stays where it is. "+
				"At the DNS host of `%s`, add one NS record for `%s` for each of Hetzner's name servers (listed in the log of the first change, under `records_to_add`).\n\n", zone, parent, parent, zone)
		}
		b.WriteString("The doctor checks the delegation.\n")
	default:
		fmt.Fprintf(&b, "Your whole domain is served by Hetzner once it points at Hetzner's name servers (set at the company you bought it from). "+
			"Every record it needs besides the apps, such as your e-mail (MX, TXT) and website, must be listed under `dns.hetzner.records` in `site.yaml`: "+
			"a record that is not listed stops working. Before the switch, `nassella validate --live-dns` names any record that would be lost.\n")
	}
	return b.String()
}
