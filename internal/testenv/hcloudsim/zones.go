package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
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
	id               int64
	name             string
	mode             string
	ttl              int
	labels           map[string]string
	deleteProtection bool
	created          time.Time
	status           string
	primaries        []primaryNameserver
	serial           int
	rrsets           []*rrset
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
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		return s.zones[id]
	}
	for _, z := range s.zones {
		if z.name == idOrName {
			return z
		}
	}
	return nil
}

func (s *Server) zoneFromPath(r *http.Request) (*zone, error) {
	v := r.PathValue("zone")
	z := s.lookupZone(v)
	if z == nil {
		return nil, errNotFound("zone", v)
	}
	return z, nil
}

func (s *Server) rrsetFromPath(r *http.Request) (*zone, *rrset, error) {
	z, err := s.zoneFromPath(r)
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
	s.handle("GET /v1/zones", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		mode := q.Get("mode")
		var list []*zone
		for _, z := range s.zones {
			if f.matches(z.name, z.labels) && (mode == "" || mode == z.mode) {
				list = append(list, z)
			}
		}
		if err := sortList(q, list, sortKeys[*zone]{
			"id":      byID(func(z *zone) int64 { return z.id }),
			"name":    byString(func(z *zone) string { return z.name }),
			"created": func(a, b *zone) int { return a.created.Compare(b.created) },
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]zoneJSON, 0, len(page))
		for _, z := range page {
			out = append(out, z.json())
		}
		return http.StatusOK, map[string]any{"zones": out, "meta": meta}, nil
	})

	s.handle("POST /v1/zones", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name               string              `json:"name"`
			Mode               string              `json:"mode"`
			TTL                *int                `json:"ttl"`
			Labels             *map[string]string  `json:"labels"`
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
		primaries := slices.Clone(req.PrimaryNameservers)
		for i, ns := range primaries {
			if _, err := netip.ParseAddr(ns.Address); err != nil {
				f.add("primary_nameservers", "%q is not an IP address", ns.Address)
			}
			if primaries[i].Port == 0 {
				primaries[i].Port = 53
			}
		}
		checkTTL(&f, "ttl", req.TTL)
		labels := checkLabels(&f, req.Labels)
		if req.Zonefile != "" {
			f.add("zonefile", "importing zone files is not supported by the simulator")
		}
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if s.lookupZone(req.Name) != nil {
			return 0, nil, errUniqueness("name", fmt.Sprintf("zone %q already exists", req.Name))
		}
		z := &zone{
			id:        s.newID("zone"),
			name:      req.Name,
			mode:      req.Mode,
			ttl:       defaultZoneTTL,
			labels:    labels,
			created:   s.now(),
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
		s.zones[z.id] = z
		id := z.id
		a := s.startAction("create_zone", func() *actionFailure {
			if z, ok := s.zones[id]; ok {
				z.status = "ok"
			}
			return nil
		}, ref("zone", id))
		return http.StatusCreated, map[string]any{"zone": z.json(), "action": s.renderAction(a)}, nil
	})

	s.handle("GET /v1/zones/{zone}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"zone": z.json()}, nil
	})

	s.handle("PUT /v1/zones/{zone}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			Labels *map[string]string `json:"labels"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			z.labels = labels
		}
		return http.StatusOK, map[string]any{"zone": z.json()}, nil
	})

	s.handle("DELETE /v1/zones/{zone}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		if z.deleteProtection {
			return 0, nil, errProtected(fmt.Sprintf("zone %d is delete protected", z.id))
		}
		delete(s.zones, z.id)
		a := s.startAction("delete_zone", nil, ref("zone", z.id))
		return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
	})

	s.handle("GET /v1/zones/{zone}/zonefile", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
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

	s.handle("POST /v1/zones/{zone}/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.zoneAction(z, r.PathValue("action"), r)
	})

	s.handle("GET /v1/zones/{zone}/rrsets", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		types := q["type"]
		var list []*rrset
		for _, rr := range z.rrsets {
			if f.matches(rr.name, rr.labels) && (len(types) == 0 || slices.Contains(types, rr.typ)) {
				list = append(list, rr)
			}
		}
		if err := sortList(q, list, sortKeys[*rrset]{
			"id":   byString(func(rr *rrset) string { return rr.id() }),
			"name": byString(func(rr *rrset) string { return rr.name }),
			"type": byString(func(rr *rrset) string { return rr.typ }),
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]rrsetJSON, 0, len(page))
		for _, rr := range page {
			out = append(out, rr.json())
		}
		return http.StatusOK, map[string]any{"rrsets": out, "meta": meta}, nil
	})

	s.handle("POST /v1/zones/{zone}/rrsets", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zoneFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req rrsetRequest
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if z.mode != "primary" {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "dns_zone_is_secondary_zone", fmt.Sprintf("zone %s is a secondary zone", z.name))
		}
		var f fieldErrors
		checkNewRRSet(&f, z, req.Name, req.Type, req.TTL, req.Records)
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if z.rrset(req.Name, req.Type) != nil {
			return 0, nil, errUniqueness("name", fmt.Sprintf("RRSet %s/%s already exists in zone %s", req.Name, req.Type, z.name))
		}
		rr := &rrset{zone: z, name: req.Name, typ: req.Type, ttl: req.TTL, labels: labels, records: slices.Clone(req.Records)}
		z.rrsets = append(z.rrsets, rr)
		z.bump()
		a := s.startAction("create_rrset", nil, ref("zone", z.id))
		return http.StatusCreated, map[string]any{"rrset": rr.json(), "action": s.renderAction(a)}, nil
	})

	s.handle("GET /v1/zones/{zone}/rrsets/{name}/{type}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		_, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"rrset": rr.json()}, nil
	})

	s.handle("PUT /v1/zones/{zone}/rrsets/{name}/{type}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		_, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			Labels *map[string]string `json:"labels"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			rr.labels = labels
		}
		return http.StatusOK, map[string]any{"rrset": rr.json()}, nil
	})

	s.handle("DELETE /v1/zones/{zone}/rrsets/{name}/{type}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case rr.changeProtection:
			return 0, nil, errProtected(fmt.Sprintf("RRSet %s is change protected", rr.id()))
		case rr.name == "@" && (rr.typ == "SOA" || rr.typ == "NS"):
			return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", "the SOA and NS RRSets of the zone apex cannot be deleted")
		}
		z.rrsets = slices.DeleteFunc(z.rrsets, func(other *rrset) bool { return other == rr })
		z.bump()
		a := s.startAction("delete_rrset", nil, ref("zone", z.id))
		return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
	})

	s.handle("POST /v1/zones/{zone}/rrsets/{name}/{type}/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.rrsetAction(z, rr, r.PathValue("action"), r)
	})
}

func (s *Server) zoneAction(z *zone, name string, r *http.Request) (int, any, error) {
	id := z.id
	created := s.actionStarted
	switch name {
	case "change_protection":
		var req struct {
			Delete *bool `json:"delete"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_protection", func() *actionFailure {
			if z, ok := s.zones[id]; ok && req.Delete != nil {
				z.deleteProtection = *req.Delete
			}
			return nil
		}, ref("zone", id)))
	case "change_ttl":
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
		ttl := *req.TTL
		return created(s.startAction("change_ttl", func() *actionFailure {
			if z, ok := s.zones[id]; ok {
				z.ttl = ttl
				z.bump()
			}
			return nil
		}, ref("zone", id)))
	case "change_primary_nameservers":
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
		primaries := slices.Clone(req.PrimaryNameservers)
		for i := range primaries {
			if _, err := netip.ParseAddr(primaries[i].Address); err != nil {
				return 0, nil, invalidInput("primary_nameservers", "%q is not an IP address", primaries[i].Address)
			}
			if primaries[i].Port == 0 {
				primaries[i].Port = 53
			}
		}
		return created(s.startAction("change_primary_nameservers", func() *actionFailure {
			if z, ok := s.zones[id]; ok {
				z.primaries = primaries
			}
			return nil
		}, ref("zone", id)))
	}
	return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("zone action %q not found", name))
}

func (s *Server) rrsetAction(z *zone, rr *rrset, name string, r *http.Request) (int, any, error) {
	if !slices.Contains([]string{"change_protection", "change_ttl", "set_records", "add_records", "remove_records"}, name) {
		return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("RRSet action %q not found", name))
	}
	if name != "change_protection" && rr.changeProtection {
		return 0, nil, errProtected(fmt.Sprintf("RRSet %s is change protected", rr.id()))
	}
	if name != "change_protection" && rr.typ == "SOA" {
		return 0, nil, invalidInput("type", "SOA records are managed by the API")
	}
	zoneID, rrName, rrType := z.id, rr.name, rr.typ
	// effect runs fn on the RRSet if it still exists, and bumps the zone's serial.
	effect := func(fn func(z *zone, rr *rrset)) func() *actionFailure {
		return func() *actionFailure {
			z, ok := s.zones[zoneID]
			if !ok {
				return &actionFailure{"zone_not_found", fmt.Sprintf("zone %d no longer exists", zoneID)}
			}
			rr := z.rrset(rrName, rrType)
			if rr == nil {
				return &actionFailure{"rrset_not_found", fmt.Sprintf("RRSet %s/%s no longer exists", rrName, rrType)}
			}
			fn(z, rr)
			return nil
		}
	}
	created := s.actionStarted

	switch name {
	case "change_protection":
		var req struct {
			Change *bool `json:"change"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_rrset_protection", effect(func(_ *zone, rr *rrset) {
			if req.Change != nil {
				rr.changeProtection = *req.Change
			}
		}), ref("zone", zoneID)))

	case "change_ttl":
		var req struct {
			TTL *int `json:"ttl"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkTTL(&f, "ttl", req.TTL)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_rrset_ttl", effect(func(z *zone, rr *rrset) {
			rr.ttl = req.TTL
			z.bump()
		}), ref("zone", zoneID)))

	case "set_records", "add_records":
		var req struct {
			Records []record `json:"records"`
			TTL     *int     `json:"ttl"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		records := slices.Clone(req.Records)
		if name == "add_records" {
			records = slices.Clone(rr.records)
			for _, rec := range req.Records {
				if !slices.ContainsFunc(records, func(have record) bool { return have.Value == rec.Value }) {
					records = append(records, rec)
				}
			}
		}
		var f fieldErrors
		checkRecords(&f, rr.typ, records)
		checkTTL(&f, "ttl", req.TTL)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		command := "set_rrset_records"
		if name == "add_records" {
			command = "add_rrset_records"
		}
		ttl := req.TTL
		return created(s.startAction(command, effect(func(z *zone, rr *rrset) {
			rr.records = records
			if name == "add_records" && ttl != nil {
				rr.ttl = ttl
			}
			z.bump()
		}), ref("zone", zoneID)))

	default: // remove_records
		var req struct {
			Records []record `json:"records"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if len(req.Records) == 0 {
			return 0, nil, invalidInput("records", "must not be empty")
		}
		remaining := slices.DeleteFunc(slices.Clone(rr.records), func(have record) bool {
			return slices.ContainsFunc(req.Records, func(rec record) bool { return rec.Value == have.Value })
		})
		return created(s.startAction("remove_rrset_records", effect(func(z *zone, rr *rrset) {
			rr.records = remaining
			if len(remaining) == 0 {
				z.rrsets = slices.DeleteFunc(z.rrsets, func(other *rrset) bool { return other == rr })
			}
			z.bump()
		}), ref("zone", zoneID)))
	}
}
