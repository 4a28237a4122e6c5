package site

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// The DNS modes of a site. An organisation whose e-mail and website live on its domain
// must not lose them when the apps arrive, so the owner picks how much of the domain
// nassella serves:
//   - records_only: no zone at all; the owner adds each app's A/AAAA records at the DNS
//     host they already have.
//   - subdomain: a zone for a part of the domain (apps.example.org) that the owner
//     delegates with NS records at the parent; the parent is never touched.
//   - whole_domain: a zone for the whole domain, carrying the owner's records besides the
//     apps'; validate and bootstrap refuse it while the live domain has records the zone
//     would drop (internal/dnscheck).
const (
	DNSRecordsOnly = "records_only"
	DNSSubdomain   = "subdomain"
	DNSWholeDomain = "whole_domain"
)

// DNSMode is the site's DNS mode; hetzner: {} is whole_domain, as it was before the modes.
func (s *Site) DNSMode() string {
	switch {
	case s.DNS.RecordsOnly != nil:
		return DNSRecordsOnly
	case s.DNS.Hetzner != nil && s.DNS.Hetzner.Delegation == DNSSubdomain:
		return DNSSubdomain
	}
	return DNSWholeDomain
}

// DefaultRecordTTL is the TTL of an owner's record without one.
const DefaultRecordTTL = 3600

// ZoneRecord is one set of the owner's records (same name and type) in the zone of the
// site's domain. Values are normalized: addresses canonical, host names lowercase with
// a final dot, TXT the plain text (TXTValue quotes it for the zone).
type ZoneRecord struct {
	Zone   string // the site's domain
	Name   string // @ or relative to Zone, e.g. www
	Type   string
	TTL    int
	Values []string
}

// Host is the record's fully qualified name, without a final dot.
func (r ZoneRecord) Host() string {
	if r.Name == "@" {
		return r.Zone
	}
	return r.Name + "." + r.Zone
}

// OwnerRecords returns the records of dns.hetzner.records grouped by name and type,
// sorted by name and type. Load checked them.
func (l *Loaded) OwnerRecords() []ZoneRecord {
	if l.DNS.Hetzner == nil {
		return nil
	}
	var out []ZoneRecord
	for _, r := range l.DNS.Hetzner.Records {
		name, typ := strings.ToLower(r.Name), strings.ToUpper(r.Type)
		v, _ := normalizeRecordValue(typ, r.Value)
		i := slices.IndexFunc(out, func(z ZoneRecord) bool { return z.Name == name && z.Type == typ })
		if i < 0 {
			out = append(out, ZoneRecord{Zone: l.Domain, Name: name, Type: typ, TTL: DefaultRecordTTL})
			i = len(out) - 1
		}
		if r.TTL != 0 {
			out[i].TTL = r.TTL
		}
		if !slices.Contains(out[i].Values, v) {
			out[i].Values = append(out[i].Values, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// TXTValue writes a TXT record's text as the zone takes it: quoted strings of at most
// 255 bytes (the DNS limit of one string), the way the provider's txt_record function
// does it (hcloud-go hcloud/exp/zoneutil FormatTXTRecord, used by
// terraform-provider-hcloud internal/zonerrset/function_txt_record.go, v1.57.0).
func TXTValue(text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, strconv.Quote(text[:255]))
		text = text[255:]
	}
	parts = append(parts, strconv.Quote(text))
	return strings.Join(parts, " ")
}

var (
	// recordNameRe allows underscores (_dmarc, _sip._tls) and a leading wildcard.
	recordNameRe = regexp.MustCompile(`^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$`)
	recordHostRe = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]\.?$`)
	caaRe        = regexp.MustCompile(`^(\d{1,3}) (issue|issuewild|iodef|issuemail) "?([^"]*)"?$`)
	recordTypes  = []string{"A", "AAAA", "CAA", "CNAME", "MX", "SRV", "TXT"}
)

// dns checks the DNS mode and the owner's records; it runs after apps, whose hosts the
// records must not take.
func (c *checker) dns(l *Loaded) {
	s := l.Site
	if !c.required("dns", "{ records_only: {} }") {
		return
	}
	const pick = "add one under dns: records_only: {} (you add the apps' records at your DNS host), or hetzner: { delegation: subdomain } (a part of your domain, like apps.example.org, moves to Hetzner)"
	switch {
	case s.DNS.Hetzner == nil && s.DNS.RecordsOnly == nil:
		c.add("dns", "no DNS service is set", pick)
		return
	case s.DNS.Hetzner != nil && s.DNS.RecordsOnly != nil:
		c.add("dns", "dns has both hetzner and records_only", "keep one of them")
		return
	case s.DNS.RecordsOnly != nil:
		return
	}
	h := s.DNS.Hetzner
	switch h.Delegation {
	case "", DNSWholeDomain:
	case DNSSubdomain:
		c.subdomains(l)
	default:
		c.add("dns.hetzner.delegation", fmt.Sprintf("delegation %q is not known", h.Delegation),
			suggest(h.Delegation, []string{DNSWholeDomain, DNSSubdomain}, "use whole_domain or subdomain"))
	}
	c.records(l)
}

// subdomains refuses a domain that is a whole registrable domain (example.org, or
// example.co.uk): delegating it would move its e-mail and website too.
func (c *checker) subdomains(l *Loaded) {
	check := func(path, d string) {
		if c.doc.Bad[path] || d == "" {
			return
		}
		apex, err := publicsuffix.EffectiveTLDPlusOne(d)
		if err != nil || apex != d {
			return
		}
		c.add(path, fmt.Sprintf("%s is a whole domain, but dns.hetzner.delegation is subdomain", d),
			fmt.Sprintf("use a part of it, like apps.%s (you then add NS records for that part at the DNS host of %s), or dns: { records_only: {} } to keep all of %s where it is", d, d, d))
	}
	check("domain", l.Domain)
	for _, name := range sortedKeys(l.Site.Apps) {
		check("apps."+name+".domain", l.Site.Apps[name].Domain)
	}
}

// records checks dns.hetzner.records: valid names and values, no record on an app's
// host, no CNAME beside other records.
func (c *checker) records(l *Loaded) {
	apps := map[string]string{} // host → app
	for _, a := range l.Apps {
		apps[a.Host] = a.Name
	}
	type key struct{ name, typ string }
	seen := map[key][]string{}
	ttls := map[key]int{}
	types := map[string][]string{} // name → types
	for i, r := range l.DNS.Hetzner.Records {
		p := fmt.Sprintf("dns.hetzner.records.%d", i)
		name, typ := strings.ToLower(r.Name), strings.ToUpper(r.Type)
		if !c.recordName(p+".name", l.Domain, r.Name) {
			continue
		}
		if !slices.Contains(recordTypes, typ) {
			c.add(p+".type", fmt.Sprintf("type %q is not one nassella keeps", r.Type), suggest(typ, recordTypes, "use one of "+strings.Join(recordTypes, ", ")))
			continue
		}
		host := l.Domain
		if name != "@" {
			host = name + "." + l.Domain
		}
		if app, ok := apps[host]; ok && (typ == "A" || typ == "AAAA" || typ == "CNAME") {
			c.add(p+".name", fmt.Sprintf("%s is the address of the app %s: nassella points it at the server", host, app),
				fmt.Sprintf("remove this record, or give %s another subdomain under apps", app))
			continue
		}
		v, msg := normalizeRecordValue(typ, r.Value)
		if msg != "" {
			c.add(p+".value", fmt.Sprintf("%q is not a valid %s value: %s", r.Value, typ, msg), recordExample[typ])
			continue
		}
		if typ == "CNAME" && name == "@" {
			c.add(p+".type", "the domain itself cannot be a CNAME", "point it at an address with A and AAAA records instead")
			continue
		}
		k := key{name, typ}
		if slices.Contains(seen[k], v) {
			c.add(p, fmt.Sprintf("this %s record of %s is listed twice", typ, r.Name), "remove one of them")
			continue
		}
		if typ == "CNAME" && len(seen[k]) > 0 {
			c.add(p, fmt.Sprintf("%s has two CNAME records", r.Name), "keep one: a name can point at only one other name")
			continue
		}
		if len(types[name]) > 0 && !slices.Contains(types[name], typ) && (typ == "CNAME" || slices.Contains(types[name], "CNAME")) {
			c.add(p, fmt.Sprintf("%s has a CNAME and other records", r.Name), "a name with a CNAME can have no other record: keep either the CNAME or the others")
			continue
		}
		if r.TTL != 0 {
			if r.TTL < 60 || r.TTL > 86400 {
				c.add(p+".ttl", fmt.Sprintf("ttl %d is out of range", r.TTL), "use 60 to 86400 seconds, or leave it out for 3600")
				continue
			}
			if t, ok := ttls[k]; ok && t != r.TTL {
				c.add(p+".ttl", fmt.Sprintf("the %s records of %s have different ttl values", typ, r.Name), "give them the same ttl: the zone keeps one per name and type")
				continue
			}
			ttls[k] = r.TTL
		}
		seen[k] = append(seen[k], v)
		if !slices.Contains(types[name], typ) {
			types[name] = append(types[name], typ)
		}
	}
}

// recordName checks a record's name: @ or relative to the domain.
func (c *checker) recordName(path, domain, name string) bool {
	switch {
	case c.doc.Bad[path]:
		return false
	case name == "@":
		return true
	case name == domain || strings.HasSuffix(name, "."+domain) || strings.HasSuffix(name, "."+domain+"."):
		rel := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "."), domain), ".")
		if rel == "" {
			rel = "@"
		}
		c.add(path, fmt.Sprintf("name %q is written in full", name), fmt.Sprintf("write only the part before .%s: name: %q", domain, rel))
	case name != strings.ToLower(name):
		c.add(path, fmt.Sprintf("name %q has capital letters", name), fmt.Sprintf("write it in lowercase: %s", strings.ToLower(name)))
	case !recordNameRe.MatchString(name):
		c.add(path, fmt.Sprintf("name %q is not a valid record name", name), `use @ for the domain itself or the part before it, like www or _dmarc`)
	default:
		return true
	}
	return false
}

var recordExample = map[string]string{
	"A":     "write an IPv4 address, like 203.0.113.10",
	"AAAA":  "write an IPv6 address, like 2001:db8::10",
	"CNAME": "write a host name, like shops.myhost.example.",
	"MX":    `write the priority and the mail server, like "10 mx.mail.example."`,
	"TXT":   "write the text your provider gives, like v=spf1 include:_spf.mail.example ~all",
	"CAA":   `write flags, tag and value, like 0 issue "letsencrypt.org"`,
	"SRV":   `write priority, weight, port and target, like "10 5 443 sip.example."`,
}

// normalizeRecordValue returns a value in its normal form, or why it is not valid.
func normalizeRecordValue(typ, v string) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "it is empty"
	}
	fields := strings.Fields(v)
	switch typ {
	case "A", "AAAA":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Is4() != (typ == "A") || a.Zone() != "" || a.Is4In6() {
			return "", "not an IPv" + map[string]string{"A": "4", "AAAA": "6"}[typ] + " address"
		}
		return a.String(), ""
	case "CNAME":
		h, ok := hostValue(v)
		if !ok {
			return "", "not a host name"
		}
		return h, ""
	case "MX":
		if len(fields) != 2 {
			return "", "it needs a priority and a host name"
		}
		h, ok := hostValue(fields[1])
		if !number(fields[0], 65535) || !ok {
			return "", "it needs a priority (0 to 65535) and a host name"
		}
		return fields[0] + " " + h, ""
	case "SRV":
		if len(fields) != 4 {
			return "", "it needs priority, weight, port and target"
		}
		h, ok := hostValue(fields[3])
		if fields[3] == "." {
			h, ok = ".", true
		}
		if !number(fields[0], 65535) || !number(fields[1], 65535) || !number(fields[2], 65535) || !ok {
			return "", "priority, weight and port are numbers up to 65535, the target a host name"
		}
		return strings.Join(append(fields[:3:3], h), " "), ""
	case "CAA":
		m := caaRe.FindStringSubmatch(strings.Join(fields, " "))
		if m == nil || !number(m[1], 255) {
			return "", "it needs flags (0 to 255), a tag (issue, issuewild, iodef) and a value"
		}
		return fmt.Sprintf("%s %s %q", m[1], m[2], m[3]), ""
	case "TXT":
		// A value copied from a DNS panel often comes quoted; the zone quotes it itself.
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !strings.Contains(v[1:len(v)-1], `"`) {
			v = v[1 : len(v)-1]
		}
		if len(v) > 4000 {
			return "", "it is longer than 4000 characters"
		}
		for _, r := range v {
			if r < ' ' || r > '~' {
				return "", "it has a character other than plain ASCII letters, digits and signs"
			}
		}
		return v, ""
	}
	return "", "unknown type"
}

// hostValue is a fully qualified host name in lowercase with a final dot.
func hostValue(v string) (string, bool) {
	v = strings.ToLower(v)
	if len(v) > 254 || !recordHostRe.MatchString(v) {
		return "", false
	}
	return strings.TrimSuffix(v, ".") + ".", true
}

func number(s string, limit int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= limit && s == strconv.Itoa(n)
}
