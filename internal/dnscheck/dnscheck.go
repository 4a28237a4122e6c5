// Package dnscheck looks at a domain's live DNS before and after nassella serves it:
// the records a new zone would drop (whole-domain delegation), the app records an owner
// adds at their own DNS host (records-only), and the delegation of a subdomain. It asks
// one resolver directly (the system's, or one a test starts), so it sees record types
// the Go resolver cannot ask for (CAA, SRV as written) and the exact answers.
package dnscheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Record is one DNS record: Name fully qualified, lowercase, without the final dot; Value
// normalized the way generator/site normalizes the owner's records: addresses canonical,
// host names lowercase with a final dot, TXT the joined text without quotes, CAA as
// flags tag "value". An empty Value in an expected record matches any value.
type Record struct {
	Name, Type, Value string
}

func (r Record) String() string {
	if r.Value == "" {
		return r.Name + " " + r.Type
	}
	return r.Name + " " + r.Type + " " + r.Value
}

// Client asks one resolver.
type Client struct {
	Server  string        // host:port
	Timeout time.Duration // per question; 5s when 0
}

// New returns a client of the resolver at server (host:port, or a host for port 53), or
// of the system's first resolver (/etc/resolv.conf) when server is empty.
func New(server string) (*Client, error) {
	if server == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("reading the system's resolver: %w", err)
		}
		if len(conf.Servers) == 0 {
			return nil, errors.New("the system has no resolver in /etc/resolv.conf: name one with --dns-resolver ADDR")
		}
		server = net.JoinHostPort(conf.Servers[0], conf.Port)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	return &Client{Server: server}, nil
}

// udpSize is the UDP answer size the client takes (EDNS0); a bigger answer comes over TCP.
const udpSize = 4096

// Lookup returns the records of a type at name, and those a CNAME there points at (in
// the answer's order). A name that does not exist has none and is no error.
func (c *Client) Lookup(ctx context.Context, name, typ string) ([]Record, error) {
	qtype, ok := dns.StringToType[typ]
	if !ok {
		return nil, fmt.Errorf("unknown record type %s", typ)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(strings.ToLower(name)), qtype)
	m.RecursionDesired = true
	m.SetEdns0(udpSize, false)
	var in *dns.Msg
	var err error
	for _, network := range []string{"udp", "tcp"} {
		cl := &dns.Client{Net: network, Timeout: timeout, UDPSize: udpSize}
		in, _, err = cl.ExchangeContext(ctx, m, c.Server)
		if err != nil || !in.Truncated {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("asking %s for the %s records of %s: %w", c.Server, typ, name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("asking %s for the %s records of %s: the resolver answered %s", c.Server, typ, name, dns.RcodeToString[in.Rcode])
	}
	var out []Record
	for _, rr := range in.Answer {
		if r, ok := toRecord(rr); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// toRecord normalizes an answer; types nassella does not keep are left out.
func toRecord(rr dns.RR) (Record, bool) {
	r := Record{Name: host(rr.Header().Name), Type: dns.TypeToString[rr.Header().Rrtype]}
	switch v := rr.(type) {
	case *dns.A:
		r.Value = v.A.String()
	case *dns.AAAA:
		a, _ := netip.AddrFromSlice(v.AAAA)
		r.Value = a.String()
	case *dns.CNAME:
		r.Value = fqdn(v.Target)
	case *dns.MX:
		r.Value = fmt.Sprintf("%d %s", v.Preference, fqdn(v.Mx))
	case *dns.TXT:
		r.Value = strings.Join(v.Txt, "")
	case *dns.CAA:
		r.Value = fmt.Sprintf("%d %s %q", v.Flag, v.Tag, v.Value)
	case *dns.SRV:
		r.Value = fmt.Sprintf("%d %d %d %s", v.Priority, v.Weight, v.Port, fqdn(v.Target))
	case *dns.NS:
		r.Value = fqdn(v.Ns)
	default:
		return r, false
	}
	return r, true
}

func host(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }
func fqdn(name string) string { return host(name) + "." }

// CommonNames are the names under a domain that e-mail and website providers' setup
// guides have owners create, besides the domain itself: a live domain cannot be listed
// (zone transfers are refused), so these are what a whole-domain zone is compared on.
// www and the mail hosts (mail, webmail, smtp, imap, pop), the mail clients' set-up
// names (autodiscover for Outlook/Microsoft 365, autoconfig for Thunderbird), the mail
// policies (_dmarc, _mta-sts, _smtp._tls), the DKIM keys of the common providers
// (Microsoft 365's selector1/selector2, Google Workspace's google, cPanel's default,
// Mailchimp's k1), and the SRV records of mail and chat clients.
var CommonNames = []string{
	"www", "mail", "webmail", "smtp", "imap", "pop", "autodiscover", "autoconfig",
	"_dmarc", "_mta-sts", "_smtp._tls",
	"selector1._domainkey", "selector2._domainkey", "google._domainkey", "default._domainkey", "k1._domainkey",
	"_autodiscover._tcp", "_submission._tcp", "_imaps._tcp", "_sip._tls", "_sipfederationtls._tcp",
}

// apexTypes are asked at the domain itself: mail (MX, TXT for SPF and verifications), the
// website (A, AAAA) and who may issue certificates (CAA). NS and SOA are the zone's own.
var apexTypes = []string{"MX", "TXT", "A", "AAAA", "CAA"}

// typesAt are the types asked at a name under the domain: SRV names only hold SRV.
func typesAt(rel string) []string {
	if strings.Contains(rel, "._tcp") || strings.Contains(rel, "._tls") || strings.Contains(rel, "._udp") {
		return []string{"SRV"}
	}
	return []string{"A", "AAAA", "CNAME", "TXT"}
}

// Zone is what a zone for a domain would carry.
type Zone struct {
	Domain  string
	Records []Record // the owner's records, and the apps' with an empty Value (any value)
}

// Dropped returns the live records of the domain (at the domain, CommonNames and the
// names of z's records) that the zone would not carry, sorted.
func (c *Client) Dropped(ctx context.Context, z Zone) ([]Record, error) {
	domain := host(z.Domain)
	asked := map[string][]string{domain: apexTypes}
	for _, rel := range CommonNames {
		asked[rel+"."+domain] = typesAt(rel)
	}
	for _, r := range z.Records {
		// The names of the owner's records too; an app's host is the app's, whatever it had.
		if _, ok := asked[r.Name]; !ok && r.Value != "" {
			asked[r.Name] = typesAt(strings.TrimSuffix(r.Name, "."+domain))
		}
	}
	names := make([]string, 0, len(asked))
	for n := range asked {
		names = append(names, n)
	}
	slices.Sort(names)
	var dropped []Record
	for _, name := range names {
		for _, typ := range asked[name] {
			live, err := c.Lookup(ctx, name, typ)
			if err != nil {
				return nil, err
			}
			for _, r := range live {
				// Only what is at the name: a CNAME's target lives elsewhere.
				if r.Name == name && !carried(z.Records, r) && !slices.Contains(dropped, r) {
					dropped = append(dropped, r)
				}
			}
		}
	}
	slices.SortFunc(dropped, func(a, b Record) int {
		// The domain itself first, then by name, type and value.
		return cmp.Or(cmp.Compare(boolInt(a.Name != domain), boolInt(b.Name != domain)),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Value, b.Value))
	})
	return dropped, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func carried(records []Record, r Record) bool {
	return slices.ContainsFunc(records, func(w Record) bool {
		return w.Name == r.Name && w.Type == r.Type && (w.Value == "" || strings.EqualFold(w.Value, r.Value))
	})
}

// Mismatch is an app's host whose address records are not the server's.
type Mismatch struct {
	Want Record   // the record the owner must have: host A|AAAA server-address
	Got  []string // the addresses the host has now; none when the record is missing
}

func (m Mismatch) String() string {
	if len(m.Got) == 0 {
		return fmt.Sprintf("%s has no %s record: add %s", m.Want.Name, m.Want.Type, m.Want)
	}
	return fmt.Sprintf("%s %s is %s, not %s: change it to %s", m.Want.Name, m.Want.Type, strings.Join(m.Got, ", "), m.Want.Value, m.Want)
}

// CheckHosts compares each host's A and AAAA records (through a CNAME, if the owner made
// one) with the server's addresses; an empty address is not checked.
func (c *Client) CheckHosts(ctx context.Context, hosts []string, ipv4, ipv6 string) ([]Mismatch, error) {
	var out []Mismatch
	for _, h := range hosts {
		for _, want := range []Record{{host(h), "A", ipv4}, {host(h), "AAAA", ipv6}} {
			if want.Value == "" {
				continue
			}
			if a, err := netip.ParseAddr(want.Value); err == nil {
				want.Value = a.String()
			}
			live, err := c.Lookup(ctx, want.Name, want.Type)
			if err != nil {
				return nil, err
			}
			var got []string
			for _, r := range live {
				if r.Type == want.Type {
					got = append(got, r.Value)
				}
			}
			if len(got) != 1 || got[0] != want.Value {
				out = append(out, Mismatch{Want: want, Got: got})
			}
		}
	}
	return out, nil
}

// Delegation returns the name servers a zone is delegated to (lowercase, without the
// final dot, sorted) and whether they are exactly want.
func (c *Client) Delegation(ctx context.Context, zone string, want []string) ([]string, bool, error) {
	live, err := c.Lookup(ctx, zone, "NS")
	if err != nil {
		return nil, false, err
	}
	var got []string
	for _, r := range live {
		if r.Type == "NS" && r.Name == host(zone) {
			got = append(got, host(r.Value))
		}
	}
	slices.Sort(got)
	got = slices.Compact(got)
	norm := make([]string, len(want))
	for i, w := range want {
		norm[i] = host(w)
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	return got, len(got) > 0 && slices.Equal(got, norm), nil
}
