package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// nameservers are the authoritative name servers the API assigns to primary zones.
var nameservers = []string{"hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."}

const (
	defaultZoneTTL = 3600
	minTTL         = 60
	maxTTL         = 2147483647
)

type zone struct {
	meta
	mode      string
	ttl       int
	status    string
	primaries []primaryNameserver
	serial    int
	rrsets    []*rrset
}

type primaryNameserver struct {
	Address       string `json:"address"`
	Port          int    `json:"port"`
	TSIGAlgorithm string `json:"tsig_algorithm,omitempty"`
	TSIGKey       string `json:"tsig_key,omitempty"`
}

type rrset struct {
	zone             *zone
	name             string
	typ              string
	ttl              *int
	labels           map[string]string
	changeProtection bool
	records          []record
}

type record struct {
	Value   string `json:"value"`
	Comment string `json:"comment"`
}

func (rr *rrset) id() string { return rr.name + "/" + rr.typ }

type zoneJSON struct {
	ID                       int64               `json:"id"`
	Name                     string              `json:"name"`
	Created                  time.Time           `json:"created"`
	Mode                     string              `json:"mode"`
	TTL                      int                 `json:"ttl"`
	Labels                   map[string]string   `json:"labels"`
	Protection               protectionJSON      `json:"protection"`
	PrimaryNameservers       []primaryNameserver `json:"primary_nameservers"`
	AuthoritativeNameservers struct {
		Assigned            []string   `json:"assigned"`
		Delegated           []string   `json:"delegated"`
		DelegationLastCheck *time.Time `json:"delegation_last_check"`
		DelegationStatus    string     `json:"delegation_status"`
	} `json:"authoritative_nameservers"`
	Registrar   string `json:"registrar"`
	Status      string `json:"status"`
	RecordCount int    `json:"record_count"`
}

func (z *zone) json() zoneJSON {
	out := zoneJSON{
		ID:                 z.id,
		Name:               z.name,
		Created:            z.created,
		Mode:               z.mode,
		TTL:                z.ttl,
		Labels:             copyLabels(z.labels),
		Protection:         protectionJSON{Delete: z.deleteProtection},
		PrimaryNameservers: slices.Clone(z.primaries),
		Registrar:          "other",
		Status:             z.status,
	}
	if out.PrimaryNameservers == nil {
		out.PrimaryNameservers = []primaryNameserver{}
	}
	out.AuthoritativeNameservers.Assigned = []string{}
	if z.mode == "primary" {
		out.AuthoritativeNameservers.Assigned = slices.Clone(nameservers)
	}
	out.AuthoritativeNameservers.Delegated = []string{}
	out.AuthoritativeNameservers.DelegationStatus = "unregistered"
	for _, rr := range z.rrsets {
		out.RecordCount += len(rr.records)
	}
	return out
}

type rrsetJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	TTL        *int              `json:"ttl"`
	Labels     map[string]string `json:"labels"`
	Protection struct {
		Change bool `json:"change"`
	} `json:"protection"`
	Records []record `json:"records"`
	Zone    int64    `json:"zone"`
}

func (rr *rrset) json() rrsetJSON {
	out := rrsetJSON{
		ID:      rr.id(),
		Name:    rr.name,
		Type:    rr.typ,
		Labels:  copyLabels(rr.labels),
		Records: slices.Clone(rr.records),
		Zone:    rr.zone.id,
	}
	if rr.ttl != nil {
		ttl := *rr.ttl
		out.TTL = &ttl
	}
	out.Protection.Change = rr.changeProtection
	return out
}

var (
	zoneName  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$`)
	rrsetName = regexp.MustCompile(`^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$`)
	hostLabel = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.?$`)
)

var rrsetTypes = []string{"A", "AAAA", "CAA", "CNAME", "DS", "HINFO", "HTTPS", "MX", "NS", "PTR", "RP", "SOA", "SRV", "SVCB", "TLSA", "TXT"}

func checkTTL(f *fieldErrors, field string, ttl *int) {
	if ttl != nil && (*ttl < minTTL || *ttl > maxTTL) {
		f.add(field, "must be between %d and %d", minTTL, maxTTL)
	}
}

// checkRecords validates the values of records for a type.
func checkRecords(f *fieldErrors, typ string, records []record) {
	if len(records) == 0 {
		f.add("records", "must not be empty")
	}
	seen := map[string]bool{}
	for _, rec := range records {
		v := rec.Value
		if seen[v] {
			f.add("records", "duplicate value %q", v)
		}
		seen[v] = true
		if len(rec.Comment) > 255 {
			f.add("records", "comment of %q is too long", v)
		}
		if msg := checkRecordValue(typ, v); msg != "" {
			f.add("records", "invalid %s value %q: %s", typ, v, msg)
		}
	}
}

func checkRecordValue(typ, v string) string {
	if v == "" {
		return "must not be empty"
	}
	switch typ {
	case "A":
		if addr, err := netip.ParseAddr(v); err != nil || !addr.Is4() {
			return "must be an IPv4 address"
		}
	case "AAAA":
		if addr, err := netip.ParseAddr(v); err != nil || !addr.Is6() || addr.Is4In6() || addr.Zone() != "" {
			return "must be an IPv6 address"
		}
	case "CNAME", "NS", "PTR":
		if !hostLabel.MatchString(v) {
			return "must be a host name"
		}
	case "MX":
		prio, host, ok := strings.Cut(v, " ")
		if n, err := strconv.Atoi(prio); !ok || err != nil || n < 0 || n > 65535 || !hostLabel.MatchString(host) {
			return "must be \"<priority> <host>\""
		}
	case "TXT":
		if len(v) < 2 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
			return "must be one or more quoted strings"
		}
	}
	return ""
}

func (z *zone) rrset(name, typ string) *rrset {
	for _, rr := range z.rrsets {
		if rr.name == name && rr.typ == typ {
			return rr
		}
	}
	return nil
}

// bump increases the SOA serial after a change.
func (z *zone) bump() {
	z.serial++
	if soa := z.rrset("@", "SOA"); soa != nil {
		soa.records = []record{{Value: fmt.Sprintf("%s dns.hetzner.com. %d 86400 10800 3600000 3600", nameservers[0], z.serial)}}
	}
}

// checkNewRRSet validates an RRSet to add to a zone.
func checkNewRRSet(f *fieldErrors, z *zone, name, typ string, ttl *int, records []record) {
	if name != "@" && !rrsetName.MatchString(name) {
		f.add("name", "must be @ or a relative, lowercase domain name")
	}
	if !slices.Contains(rrsetTypes, typ) {
		f.add("type", "must be one of %s", strings.Join(rrsetTypes, ", "))
	} else if typ == "SOA" {
		f.add("type", "SOA records are managed by the API")
	}
	checkTTL(f, "ttl", ttl)
	checkRecords(f, typ, records)
	if typ == "CNAME" && name == "@" {
		f.add("type", "a CNAME is not allowed at the zone apex")
	}
	for _, other := range z.rrsets {
		if other.name == name && other.typ != typ && (typ == "CNAME" || other.typ == "CNAME") {
			f.add("type", "a CNAME must be the only RRSet of a name")
			break
		}
	}
}

func (s *Server) lookupZone(idOrName string) *zone {
	z, _ := s.zones.lookup(idOrName)
	return z
}

func (s *Server) rrsetFromPath(r *http.Request) (*zone, *rrset, error) {
	z, err := s.zones.fromPath(r)
	if err != nil {
		return nil, nil, err
	}
	name, typ := r.PathValue("name"), r.PathValue("type")
	rr := z.rrset(name, typ)
	if rr == nil {
		return nil, nil, errNotFound("rrset", name+"/"+typ)
	}
	return z, rr, nil
}

type rrsetRequest struct {
	Name    string             `json:"name"`
	Type    string             `json:"type"`
	TTL     *int               `json:"ttl"`
	Labels  *map[string]string `json:"labels"`
	Records []record           `json:"records"`
}

func (s *Server) zoneRoutes() {
	s.zones = &store[*zone]{
		sim: s, kind: "zone", noun: "zone", collection: "zones", items: map[int64]*zone{}, byName: true,
		render: func(z *zone) any { return z.json() },
		sort:   []string{"name", "created"},
		filter: func(q url.Values) (func(*zone) bool, error) {
			mode := q.Get("mode")
			return func(z *zone) bool { return mode == "" || mode == z.mode }, nil
		},
		duplicate: func(name string) string { return fmt.Sprintf("zone %q already exists", name) },
		update:    func(z *zone, r *http.Request) error { return updateLabels(r, &z.labels) },
		remove: func(z *zone) (int, any, error) {
			delete(s.zones.items, z.id)
			a := s.startAction("delete_zone", nil, ref("zone", z.id))
			return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
		},
		actions: map[string]actionHandler[*zone]{
			"change_ttl": s.changeZoneTTL, "change_primary_nameservers": s.changePrimaryNameservers,
		},
		protectable: true,
	}
	s.zones.routes()

	s.handle("POST /v1/zones", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name               string              `json:"name"`
			Labels             *map[string]string  `json:"labels"`
			Mode               string              `json:"mode"`
			TTL                *int                `json:"ttl"`
			PrimaryNameservers []primaryNameserver `json:"primary_nameservers"`
			RRSets             []rrsetRequest      `json:"rrsets"`
			Zonefile           string              `json:"zonefile"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		if len(req.Name) > 253 || !zoneName.MatchString(req.Name) {
			f.add("name", "must be a lowercase domain name without a trailing dot (IDNs in punycode)")
		}
		switch req.Mode {
		case "primary":
			if len(req.PrimaryNameservers) > 0 {
				f.add("primary_nameservers", "must not be given for mode primary")
			}
		case "secondary":
			if len(req.PrimaryNameservers) == 0 {
				f.add("primary_nameservers", "is required for mode secondary")
			}
			if len(req.RRSets) > 0 || req.Zonefile != "" {
				f.add("mode", "secondary zones get their records from the primary name servers")
			}
		default:
			f.add("mode", "must be primary or secondary")
		}
		primaries, bad := checkPrimaries(req.PrimaryNameservers)
		for _, address := range bad {
			f.add("primary_nameservers", "%q is not an IP address", address)
		}
		checkTTL(&f, "ttl", req.TTL)
		labels := checkLabels(&f, req.Labels)
		if req.Zonefile != "" {
			f.add("zonefile", "importing zone files is not supported by the simulator")
		}
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if err := s.zones.unique(req.Name, 0); err != nil {
			return 0, nil, err
		}
		z := &zone{
			meta:      s.zones.newMeta(req.Name, labels),
			mode:      req.Mode,
			ttl:       defaultZoneTTL,
			status:    "updating",
			primaries: primaries,
			serial:    int(s.now().Unix()),
		}
		if req.TTL != nil {
			z.ttl = *req.TTL
		}
		if z.mode == "primary" {
			var ns []record
			for _, n := range nameservers {
				ns = append(ns, record{Value: n})
			}
			z.rrsets = append(z.rrsets,
				&rrset{zone: z, name: "@", typ: "SOA", labels: map[string]string{}},
				&rrset{zone: z, name: "@", typ: "NS", labels: map[string]string{}, records: ns},
			)
			z.bump()
		}
		for i, rr := range req.RRSets {
			var rf fieldErrors
			checkNewRRSet(&rf, z, rr.Name, rr.Type, rr.TTL, rr.Records)
			rrLabels := checkLabels(&rf, rr.Labels)
			if err := rf.err(); err != nil {
				return 0, nil, invalidInput(fmt.Sprintf("rrsets[%d]", i), "%v", err.(*apiError).Message)
			}
			if z.rrset(rr.Name, rr.Type) != nil {
				return 0, nil, invalidInput(fmt.Sprintf("rrsets[%d]", i), "duplicate RRSet %s/%s", rr.Name, rr.Type)
			}
			z.rrsets = append(z.rrsets, &rrset{zone: z, name: rr.Name, typ: rr.Type, ttl: rr.TTL, labels: rrLabels, records: slices.Clone(rr.Records)})
		}
		s.zones.put(z)
		a := s.startAction("create_zone", s.zones.change(z.id, func(z *zone) { z.status = "ok" }), ref("zone", z.id))
		return http.StatusCreated, map[string]any{"zone": z.json(), "action": s.renderAction(a)}, nil
	})

	s.handle("GET /v1/zones/{id}/zonefile", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zones.fromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL %d\n", z.name, z.ttl)
		for _, rr := range z.rrsets {
			ttl := ""
			if rr.ttl != nil {
				ttl = strconv.Itoa(*rr.ttl)
			}
			for _, rec := range rr.records {
				fmt.Fprintf(&b, "%s\t%s\tIN\t%s\t%s\n", rr.name, ttl, rr.typ, rec.Value)
			}
		}
		return http.StatusOK, map[string]any{"zonefile": b.String()}, nil
	})
	s.rrsetRoutes()
}

// checkPrimaries returns primary name servers with the default port set, and the
// addresses that are not IP addresses.
func checkPrimaries(list []primaryNameserver) ([]primaryNameserver, []string) {
	primaries := slices.Clone(list)
	var bad []string
	for i, ns := range primaries {
		if _, err := netip.ParseAddr(ns.Address); err != nil {
			bad = append(bad, ns.Address)
		}
		if primaries[i].Port == 0 {
			primaries[i].Port = 53
		}
	}
	return primaries, bad
}

func (s *Server) changeZoneTTL(z *zone, r *http.Request) (int, any, error) {
	var req struct {
		TTL *int `json:"ttl"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if req.TTL == nil {
		return 0, nil, invalidInput("ttl", "is required")
	}
	var f fieldErrors
	checkTTL(&f, "ttl", req.TTL)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	return s.actionStarted(s.startAction("change_ttl", s.zones.change(z.id, func(z *zone) {
		z.ttl = *req.TTL
		z.bump()
	}), ref("zone", z.id)))
}

func (s *Server) changePrimaryNameservers(z *zone, r *http.Request) (int, any, error) {
	var req struct {
		PrimaryNameservers []primaryNameserver `json:"primary_nameservers"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if z.mode != "secondary" {
		return 0, nil, invalidInput("primary_nameservers", "only secondary zones have primary name servers")
	}
	if len(req.PrimaryNameservers) == 0 {
		return 0, nil, invalidInput("primary_nameservers", "must not be empty")
	}
	primaries, bad := checkPrimaries(req.PrimaryNameservers)
	if len(bad) > 0 {
		return 0, nil, invalidInput("primary_nameservers", "%q is not an IP address", bad[0])
	}
	return s.actionStarted(s.startAction("change_primary_nameservers", s.zones.change(z.id, func(z *zone) { z.primaries = primaries }), ref("zone", z.id)))
}
