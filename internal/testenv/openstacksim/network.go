package openstacksim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Neutron v2.0: networks, subnets, routers with their interfaces, ports and floating
// IPs, with tags on each (api-ref network v2). Messages are neutron-lib's exceptions
// (neutron_lib/exceptions/__init__.py, l3.py).

const networkPrefix = "/network/v2.0"

// neutronMeta is what every Neutron resource has.
type neutronMeta struct {
	id, name, description string
	projectID             string
	tags                  []string
	created, updated      time.Time
	revision              int
}

func (m *neutronMeta) touch(now time.Time) {
	m.updated = now
	m.revision++
}

func (m *neutronMeta) fields(out map[string]any) map[string]any {
	out["id"] = m.id
	out["name"] = m.name
	out["description"] = m.description
	out["tenant_id"] = m.projectID
	out["project_id"] = m.projectID
	out["tags"] = append([]string{}, m.tags...)
	out["created_at"] = isoZ(m.created)
	out["updated_at"] = isoZ(m.updated)
	out["revision_number"] = m.revision
	return out
}

type network struct {
	neutronMeta
	adminUp, shared, external bool
	portSecurity              bool
	mtu                       int
	seeded                    bool
}

type ipRange struct{ start, end netip.Addr }

type subnet struct {
	neutronMeta
	networkID      string
	prefix         netip.Prefix
	gateway        netip.Addr // invalid when the subnet has none
	pools          []ipRange
	dnsNameservers []string
	enableDHCP     bool
	used           map[netip.Addr]string // address → what holds it: a port ID, "router:ID", "floatingip:ID"
	seeded         bool
}

type router struct {
	neutronMeta
	adminUp     bool
	status      string
	gwNetworkID string
	gwIPs       []fixedIP
	enableSNAT  bool
}

type fixedIP struct{ subnetID, ip string }

type port struct {
	neutronMeta
	networkID    string
	mac          string
	adminUp      bool
	status       string
	deviceID     string
	deviceOwner  string
	hostID       string
	vifType      string
	fixedIPs     []fixedIP
	secGroups    []string
	portSecurity bool
}

type floatingIP struct {
	neutronMeta
	address   string
	networkID string
	subnetID  string
	portID    string
	fixedIP   string
	routerID  string
	status    string
}

// seedNetwork adds the project's default security group and the cloud's external
// network with its subnet of floating IPs.
func (s *Server) seedNetwork() {
	now := s.now()
	s.seedDefaultSecGroup()
	n := &network{
		neutronMeta: neutronMeta{id: s.newID("network"), name: DefaultExternalNetwork, projectID: s.adminProjectID, created: now, updated: now, revision: 1},
		adminUp:     true, external: true, portSecurity: true, mtu: 1500, seeded: true,
	}
	s.networks.put(n.id, n)
	s.externalNetworkID = n.id
	sn, err := s.newSubnet(n, subnetSpec{name: DefaultExternalNetwork + "-subnet", cidr: DefaultExternalCIDR, ipVersion: 4, enableDHCP: false, projectID: s.adminProjectID})
	if err != nil {
		panic(err)
	}
	sn.seeded = true
	s.externalSubnetID = sn.id
}

func (s *Server) networkRoutes() {
	s.handlePublic(networkSvc, "GET /network/{$}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"versions": []any{map[string]any{
			"id": "v2.0", "status": "CURRENT",
			"links": []any{map[string]any{"rel": "self", "href": s.URL() + "/network/v2.0/"}},
		}}}, nil
	})
	s.handle(networkSvc, "GET "+networkPrefix+"/extensions", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var out []any
		for _, alias := range []string{"external-net", "router", "extraroute", "security-group", "standard-attr-tag", "standard-attr-description", "standard-attr-revisions", "standard-attr-timestamp", "port-security", "binding", "net-mtu", "allowed-address-pairs", "extra_dhcp_opt", "availability_zone", "project-id", "quotas", "filter-validation"} {
			out = append(out, map[string]any{"alias": alias, "name": alias, "description": "", "links": []any{}, "updated": "2013-01-01T00:00:00-00:00"})
		}
		return http.StatusOK, map[string]any{"extensions": out}, nil
	})

	s.handle(networkSvc, "GET "+networkPrefix+"/networks", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, n := range s.networks.list() {
			items = append(items, s.networkJSON(n))
		}
		return s.neutronList(r, "networks", items)
	})
	s.handle(networkSvc, "POST "+networkPrefix+"/networks", s.createNetwork)
	s.handle(networkSvc, "GET "+networkPrefix+"/networks/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		n, err := s.networkFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.neutronOne(r, "network", s.networkJSON(n))
	})
	s.handle(networkSvc, "PUT "+networkPrefix+"/networks/{id}", s.updateNetwork)
	s.handle(networkSvc, "DELETE "+networkPrefix+"/networks/{id}", s.deleteNetwork)

	s.handle(networkSvc, "GET "+networkPrefix+"/subnets", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, sn := range s.subnets.list() {
			items = append(items, s.subnetJSON(sn))
		}
		return s.neutronList(r, "subnets", items)
	})
	s.handle(networkSvc, "POST "+networkPrefix+"/subnets", s.createSubnet)
	s.handle(networkSvc, "GET "+networkPrefix+"/subnets/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		sn, err := s.subnetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.neutronOne(r, "subnet", s.subnetJSON(sn))
	})
	s.handle(networkSvc, "PUT "+networkPrefix+"/subnets/{id}", s.updateSubnet)
	s.handle(networkSvc, "DELETE "+networkPrefix+"/subnets/{id}", s.deleteSubnet)

	s.handle(networkSvc, "GET "+networkPrefix+"/routers", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, rt := range s.routers.list() {
			items = append(items, s.routerJSON(rt))
		}
		return s.neutronList(r, "routers", items)
	})
	s.handle(networkSvc, "POST "+networkPrefix+"/routers", s.createRouter)
	s.handle(networkSvc, "GET "+networkPrefix+"/routers/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rt, err := s.routerFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.neutronOne(r, "router", s.routerJSON(rt))
	})
	s.handle(networkSvc, "PUT "+networkPrefix+"/routers/{id}", s.updateRouter)
	s.handle(networkSvc, "DELETE "+networkPrefix+"/routers/{id}", s.deleteRouter)
	s.handle(networkSvc, "PUT "+networkPrefix+"/routers/{id}/add_router_interface", s.addRouterInterface)
	s.handle(networkSvc, "PUT "+networkPrefix+"/routers/{id}/remove_router_interface", s.removeRouterInterface)

	s.handle(networkSvc, "GET "+networkPrefix+"/ports", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, pt := range s.ports.list() {
			items = append(items, s.portJSON(pt))
		}
		return s.neutronList(r, "ports", items)
	})
	s.handle(networkSvc, "POST "+networkPrefix+"/ports", s.createPort)
	s.handle(networkSvc, "GET "+networkPrefix+"/ports/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		pt, err := s.portFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.neutronOne(r, "port", s.portJSON(pt))
	})
	s.handle(networkSvc, "PUT "+networkPrefix+"/ports/{id}", s.updatePort)
	s.handle(networkSvc, "DELETE "+networkPrefix+"/ports/{id}", s.deletePortAPI)

	s.handle(networkSvc, "GET "+networkPrefix+"/floatingips", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, f := range s.floatingIPs.list() {
			items = append(items, s.floatingIPJSON(f))
		}
		return s.neutronList(r, "floatingips", items)
	})
	s.handle(networkSvc, "POST "+networkPrefix+"/floatingips", s.createFloatingIP)
	s.handle(networkSvc, "GET "+networkPrefix+"/floatingips/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := s.floatingIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.neutronOne(r, "floatingip", s.floatingIPJSON(f))
	})
	s.handle(networkSvc, "PUT "+networkPrefix+"/floatingips/{id}", s.updateFloatingIP)
	s.handle(networkSvc, "DELETE "+networkPrefix+"/floatingips/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := s.floatingIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		s.releaseIP(f.subnetID, f.address)
		s.floatingIPs.del(f.id)
		return http.StatusNoContent, nil, nil
	})

	for _, coll := range []string{"networks", "subnets", "ports", "routers", "floatingips", "security-groups"} {
		s.tagRoutes(coll)
	}
}

// --- rendering ---

func (s *Server) networkJSON(n *network) map[string]any {
	var subnets []string
	for _, sn := range s.networkSubnets(n.id) {
		subnets = append(subnets, sn.id)
	}
	// The provider:* attributes are an administrator's; a project sees none of them.
	return n.fields(map[string]any{
		"admin_state_up":          n.adminUp,
		"status":                  "ACTIVE",
		"subnets":                 append([]string{}, subnets...),
		"shared":                  n.shared,
		"router:external":         n.external,
		"mtu":                     n.mtu,
		"port_security_enabled":   n.portSecurity,
		"availability_zone_hints": []string{},
		"availability_zones":      []string{DefaultAvailabilityZone},
		"ipv4_address_scope":      nil,
		"ipv6_address_scope":      nil,
		"qos_policy_id":           nil,
		"l2_adjacency":            true,
		"is_default":              false,
		"dns_domain":              "",
	})
}

func (s *Server) subnetJSON(sn *subnet) map[string]any {
	pools := []any{}
	for _, p := range sn.pools {
		pools = append(pools, map[string]any{"start": p.start.String(), "end": p.end.String()})
	}
	var gw any
	if sn.gateway.IsValid() {
		gw = sn.gateway.String()
	}
	version := 4
	if sn.prefix.Addr().Is6() {
		version = 6
	}
	return sn.fields(map[string]any{
		"network_id":        sn.networkID,
		"ip_version":        version,
		"cidr":              sn.prefix.String(),
		"gateway_ip":        gw,
		"allocation_pools":  pools,
		"host_routes":       []any{},
		"dns_nameservers":   append([]string{}, sn.dnsNameservers...),
		"enable_dhcp":       sn.enableDHCP,
		"ipv6_address_mode": nil,
		"ipv6_ra_mode":      nil,
		"subnetpool_id":     nil,
		"service_types":     []string{},
		"segment_id":        nil,
	})
}

func (s *Server) routerJSON(rt *router) map[string]any {
	var gw any
	if rt.gwNetworkID != "" {
		ips := []any{}
		for _, ip := range rt.gwIPs {
			ips = append(ips, map[string]any{"subnet_id": ip.subnetID, "ip_address": ip.ip})
		}
		gw = map[string]any{"network_id": rt.gwNetworkID, "enable_snat": rt.enableSNAT, "external_fixed_ips": ips}
	}
	return rt.fields(map[string]any{
		"admin_state_up":          rt.adminUp,
		"status":                  rt.status,
		"external_gateway_info":   gw,
		"routes":                  []any{},
		"distributed":             false,
		"ha":                      false,
		"availability_zone_hints": []string{},
		"availability_zones":      []string{DefaultAvailabilityZone},
		"flavor_id":               nil,
	})
}

func (s *Server) portJSON(pt *port) map[string]any {
	ips := []any{}
	for _, ip := range pt.fixedIPs {
		ips = append(ips, map[string]any{"subnet_id": ip.subnetID, "ip_address": ip.ip})
	}
	return pt.fields(map[string]any{
		"network_id":              pt.networkID,
		"mac_address":             pt.mac,
		"admin_state_up":          pt.adminUp,
		"status":                  pt.status,
		"device_id":               pt.deviceID,
		"device_owner":            pt.deviceOwner,
		"fixed_ips":               ips,
		"security_groups":         append([]string{}, pt.secGroups...),
		"port_security_enabled":   pt.portSecurity,
		"allowed_address_pairs":   []any{},
		"extra_dhcp_opts":         []any{},
		"binding:vnic_type":       "normal",
		"binding:host_id":         pt.hostID,
		"binding:vif_type":        pt.vifType,
		"binding:vif_details":     map[string]any{},
		"binding:profile":         map[string]any{},
		"dns_name":                "",
		"dns_assignment":          []any{},
		"qos_policy_id":           nil,
		"qos_network_policy_id":   nil,
		"propagate_uplink_status": false,
	})
}

func (s *Server) floatingIPJSON(f *floatingIP) map[string]any {
	out := f.fields(map[string]any{
		"floating_ip_address": f.address,
		"floating_network_id": f.networkID,
		"router_id":           nilIfEmpty(f.routerID),
		"port_id":             nilIfEmpty(f.portID),
		"fixed_ip_address":    nilIfEmpty(f.fixedIP),
		"status":              f.status,
		"port_forwardings":    []any{},
		"qos_policy_id":       nil,
		"dns_domain":          "",
		"dns_name":            "",
	})
	delete(out, "name") // floating IPs have no name
	if pt, ok := s.ports.get(f.portID); ok {
		out["port_details"] = map[string]any{
			"name": pt.name, "network_id": pt.networkID, "mac_address": pt.mac, "admin_state_up": pt.adminUp,
			"status": pt.status, "device_id": pt.deviceID, "device_owner": pt.deviceOwner,
		}
	} else {
		out["port_details"] = nil
	}
	return out
}

// --- listing ---

// neutronOne answers a GET of one resource, with the fields the query asks for.
func (s *Server) neutronOne(r *http.Request, key string, item map[string]any) (int, any, error) {
	return http.StatusOK, map[string]any{key: pickFields(item, r.URL.Query()["fields"])}, nil
}

func pickFields(item map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return item
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := item[f]; ok {
			out[f] = v
		}
	}
	return out
}

// neutronList answers a list: Neutron filters on any attribute given in the query
// (several values of one attribute are alternatives), on tags with tags, tags-any,
// not-tags and not-tags-any, sorts by sort_key/sort_dir and pages with limit and marker
// (api-ref network v2, "Filtering", "Sorting", "Pagination"). An attribute the resource
// does not have is refused, as the filter-validation extension does.
func (s *Server) neutronList(r *http.Request, collection string, items []map[string]any) (int, any, error) {
	q := r.URL.Query()
	var out []map[string]any
	for _, item := range items {
		ok, err := matches(item, q)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			out = append(out, item)
		}
	}
	if keys := q["sort_key"]; len(keys) > 0 {
		dirs := q["sort_dir"]
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			for i, k := range keys {
				c := cmp.Compare(fmt.Sprint(a[k]), fmt.Sprint(b[k]))
				if i < len(dirs) && dirs[i] == "desc" {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if m := q.Get("marker"); m != "" {
		i := slices.IndexFunc(out, func(it map[string]any) bool { return it["id"] == m })
		if i < 0 {
			return 0, nil, errf(http.StatusNotFound, "", "Marker %s could not be found.", m)
		}
		out = out[i+1:]
	}
	body := map[string]any{}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad limit request: Limit must be an integer 0 or greater and not '%s'.", l)
		}
		if n > 0 && len(out) > n {
			out = out[:n]
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			next.Set("marker", fmt.Sprint(out[n-1]["id"]))
			body[collection+"_links"] = []any{map[string]any{"rel": "next", "href": s.URL() + r.URL.Path + "?" + next.Encode()}}
		}
	}
	list := []any{}
	for _, it := range out {
		list = append(list, pickFields(it, q["fields"]))
	}
	body[collection] = list
	return http.StatusOK, body, nil
}

var listParams = []string{"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any"}

func matches(item map[string]any, q url.Values) (bool, error) {
	tags, _ := item["tags"].([]string)
	for key, vals := range q {
		switch key {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			var want []string
			for _, v := range vals {
				want = append(want, strings.Split(v, ",")...)
			}
			all, anyOf := true, false
			for _, t := range want {
				if slices.Contains(tags, t) {
					anyOf = true
				} else {
					all = false
				}
			}
			if (key == "tags" && !all) || (key == "tags-any" && !anyOf) || (key == "not-tags" && all) || (key == "not-tags-any" && anyOf) {
				return false, nil
			}
			continue
		case "fixed_ips":
			if !matchFixedIPs(item, vals) {
				return false, nil
			}
			continue
		}
		if slices.Contains(listParams, key) {
			continue
		}
		v, ok := item[key]
		if !ok {
			return false, errf(http.StatusBadRequest, "HTTPBadRequest", "[%s] is invalid attribute for filtering", strconv.Quote(key))
		}
		if !slices.ContainsFunc(vals, func(want string) bool { return valueMatches(v, want) }) {
			return false, nil
		}
	}
	return true, nil
}

func valueMatches(v any, want string) bool {
	switch t := v.(type) {
	case nil:
		return want == "" || want == "None"
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(want))
		return err == nil && b == t
	case []string:
		return slices.Contains(t, want)
	}
	return fmt.Sprint(v) == want
}

// matchFixedIPs is the ports filter fixed_ips=ip_address=X or fixed_ips=subnet_id=Y.
func matchFixedIPs(item map[string]any, vals []string) bool {
	ips, _ := item["fixed_ips"].([]any)
	for _, v := range vals {
		k, want, _ := strings.Cut(v, "=")
		found := false
		for _, ip := range ips {
			m := ip.(map[string]any)
			if fmt.Sprint(m[k]) == want || (k == "ip_address_substr" && strings.Contains(fmt.Sprint(m["ip_address"]), want)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// --- request bodies ---

// neutronBody decodes {"<key>": {...}} and refuses attributes the resource does not
// have, as Neutron's API layer does ("Unrecognized attribute(s)").
func neutronBody(r *http.Request, key string, allowed []string, v any) error {
	var raw map[string]map[string]json.RawMessage
	if err := readBody(r, &raw); err != nil {
		return err
	}
	body, ok := raw[key]
	if !ok {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Resource body required")
	}
	var unknown []string
	for k := range body {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	data, _ := json.Marshal(body)
	if err := json.Unmarshal(data, v); err != nil {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for operation: %v.", err)
	}
	return nil
}

func checkName(name, what string) error {
	if len(name) > 255 {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for %s. Reason: '%s' exceeds maximum length of 255.", what, name)
	}
	return nil
}

// policyDenied is Neutron's answer to an attribute only administrators may set.
func policyDenied(rule string) error {
	return errf(http.StatusForbidden, "PolicyNotAuthorized", "(rule:%s) is disallowed by policy", rule)
}

// --- networks ---

func (s *Server) networkFromPath(r *http.Request) (*network, error) {
	n, ok := s.networks.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", r.PathValue("id"))
	}
	return n, nil
}

func (s *Server) networkSubnets(networkID string) []*subnet {
	var out []*subnet
	for _, sn := range s.subnets.list() {
		if sn.networkID == networkID {
			out = append(out, sn)
		}
	}
	return out
}

var networkAttrs = []string{"name", "description", "admin_state_up", "shared", "tenant_id", "project_id",
	"availability_zone_hints", "router:external", "port_security_enabled", "mtu", "dns_domain", "qos_policy_id",
	"segments", "provider:network_type", "provider:physical_network", "provider:segmentation_id", "vlan_transparent", "is_default"}

type networkReq struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	AdminStateUp *bool   `json:"admin_state_up"`
	Shared       *bool   `json:"shared"`
	TenantID     string  `json:"tenant_id"`
	ProjectID    string  `json:"project_id"`
	External     *bool   `json:"router:external"`
	PortSecurity *bool   `json:"port_security_enabled"`
	MTU          *int    `json:"mtu"`
	Provider     *string `json:"provider:network_type"`
	Segments     any     `json:"segments"`
}

func (s *Server) checkNetworkReq(req *networkReq, action string) error {
	switch {
	case req.Shared != nil && *req.Shared:
		return policyDenied(action + "_network:shared")
	case req.External != nil && *req.External:
		return policyDenied(action + "_network:router:external")
	case req.Provider != nil || req.Segments != nil:
		return policyDenied(action + "_network:provider:network_type")
	case req.TenantID != "" && req.TenantID != s.projectID, req.ProjectID != "" && req.ProjectID != s.projectID:
		return policyDenied(action + "_network")
	case req.MTU != nil && (*req.MTU < 68 || *req.MTU > 1450):
		return errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Requested MTU is too big, maximum is 1450.")
	}
	if req.Name != nil {
		return checkName(*req.Name, "name")
	}
	return nil
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req networkReq
	if err := neutronBody(r, "network", networkAttrs, &req); err != nil {
		return 0, nil, err
	}
	if err := s.checkNetworkReq(&req, "create"); err != nil {
		return 0, nil, err
	}
	now := s.now()
	n := &network{neutronMeta: neutronMeta{id: s.newID("network"), projectID: s.projectID, created: now, updated: now, revision: 1},
		adminUp: true, portSecurity: true, mtu: 1450}
	s.applyNetworkReq(n, &req)
	s.networks.put(n.id, n)
	return http.StatusCreated, map[string]any{"network": s.networkJSON(n)}, nil
}

func (s *Server) applyNetworkReq(n *network, req *networkReq) {
	if req.Name != nil {
		n.name = *req.Name
	}
	if req.Description != nil {
		n.description = *req.Description
	}
	if req.AdminStateUp != nil {
		n.adminUp = *req.AdminStateUp
	}
	if req.PortSecurity != nil {
		n.portSecurity = *req.PortSecurity
	}
	if req.MTU != nil {
		n.mtu = *req.MTU
	}
}

func (s *Server) updateNetwork(w http.ResponseWriter, r *http.Request) (int, any, error) {
	n, err := s.networkFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req networkReq
	if err := neutronBody(r, "network", networkAttrs, &req); err != nil {
		return 0, nil, err
	}
	if n.projectID != s.projectID {
		return 0, nil, policyDenied("update_network")
	}
	if err := s.checkNetworkReq(&req, "update"); err != nil {
		return 0, nil, err
	}
	s.applyNetworkReq(n, &req)
	n.touch(s.now())
	return http.StatusOK, map[string]any{"network": s.networkJSON(n)}, nil
}

// deleteNetwork refuses a network that still has ports (409 NetworkInUse); its
// subnets go with it.
func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) (int, any, error) {
	n, err := s.networkFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	if n.projectID != s.projectID {
		return 0, nil, policyDenied("delete_network")
	}
	for _, pt := range s.ports.list() {
		if pt.networkID == n.id && pt.deviceOwner != "network:dhcp" {
			return 0, nil, errf(http.StatusConflict, "NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", n.id)
		}
	}
	for _, sn := range s.networkSubnets(n.id) {
		s.subnets.del(sn.id)
	}
	s.networks.del(n.id)
	return http.StatusNoContent, nil, nil
}

// --- subnets ---

func (s *Server) subnetFromPath(r *http.Request) (*subnet, error) {
	sn, ok := s.subnets.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "SubnetNotFound", "Subnet %s could not be found.", r.PathValue("id"))
	}
	return sn, nil
}

type subnetSpec struct {
	name, description, cidr, projectID string
	ipVersion                          int
	gateway                            *string // nil: the first address; "": none
	pools                              []ipRange
	dnsNameservers                     []string
	enableDHCP                         bool
}

var subnetAttrs = []string{"name", "description", "network_id", "tenant_id", "project_id", "ip_version", "cidr",
	"gateway_ip", "allocation_pools", "host_routes", "dns_nameservers", "enable_dhcp", "ipv6_address_mode",
	"ipv6_ra_mode", "subnetpool_id", "prefixlen", "use_default_subnetpool", "service_types", "segment_id", "dns_publish_fixed_ip"}

func (s *Server) createSubnet(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Name            string  `json:"name"`
		Description     string  `json:"description"`
		NetworkID       string  `json:"network_id"`
		TenantID        string  `json:"tenant_id"`
		IPVersion       int     `json:"ip_version"`
		CIDR            string  `json:"cidr"`
		GatewayIP       *string `json:"gateway_ip"`
		AllocationPools []struct {
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"allocation_pools"`
		DNSNameservers []string `json:"dns_nameservers"`
		EnableDHCP     *bool    `json:"enable_dhcp"`
		SubnetPoolID   string   `json:"subnetpool_id"`
	}
	// gateway_ip: null means no gateway; absent means the first address.
	var raw map[string]map[string]json.RawMessage
	data, err := readAll(r)
	if err != nil {
		return 0, nil, err
	}
	_ = json.Unmarshal(data, &raw)
	r.Body = bodyOf(data)
	if err := neutronBody(r, "subnet", subnetAttrs, &req); err != nil {
		return 0, nil, err
	}
	if gw, ok := raw["subnet"]["gateway_ip"]; ok && string(gw) == "null" {
		none := ""
		req.GatewayIP = &none
	}
	if err := checkName(req.Name, "name"); err != nil {
		return 0, nil, err
	}
	if req.NetworkID == "" {
		return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute 'network_id' not specified")
	}
	n, ok := s.networks.get(req.NetworkID)
	if !ok {
		return 0, nil, errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", req.NetworkID)
	}
	if n.projectID != s.projectID {
		return 0, nil, policyDenied("create_subnet")
	}
	if req.SubnetPoolID != "" {
		return 0, nil, errf(http.StatusNotFound, "SubnetPoolNotFound", "Subnet pool %s could not be found.", req.SubnetPoolID)
	}
	if req.CIDR == "" {
		return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad subnets request: a subnetpool must be specified in the absence of a cidr.")
	}
	if req.IPVersion != 4 && req.IPVersion != 6 {
		return 0, nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for ip_version. Reason: %d is not in [4, 6].", req.IPVersion)
	}
	spec := subnetSpec{name: req.Name, description: req.Description, cidr: req.CIDR, ipVersion: req.IPVersion,
		gateway: req.GatewayIP, dnsNameservers: req.DNSNameservers, enableDHCP: true, projectID: s.projectID}
	if req.EnableDHCP != nil {
		spec.enableDHCP = *req.EnableDHCP
	}
	for _, p := range req.AllocationPools {
		a, err1 := netip.ParseAddr(p.Start)
		b, err2 := netip.ParseAddr(p.End)
		if err1 != nil || err2 != nil || b.Less(a) {
			return 0, nil, errf(http.StatusBadRequest, "InvalidAllocationPool", "The allocation pool %s-%s is not valid.", p.Start, p.End)
		}
		spec.pools = append(spec.pools, ipRange{a, b})
	}
	sn, err := s.newSubnet(n, spec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"subnet": s.subnetJSON(sn)}, nil
}

// newSubnet checks and adds a subnet: the CIDR must be a network address of the IP
// version, must not overlap the network's other subnets; the gateway is the first
// address unless given, the allocation pool the rest (neutron/ipam/utils.py).
func (s *Server) newSubnet(n *network, spec subnetSpec) (*subnet, error) {
	prefix, err := netip.ParsePrefix(spec.cidr)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for cidr. Reason: '%s' is not a valid IP subnet.", spec.cidr)
	}
	if prefix.Masked() != prefix {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: '%s' isn't a recognized IP subnet cidr, '%s' is recommended.", spec.cidr, prefix.Masked())
	}
	if (spec.ipVersion == 4) != prefix.Addr().Is4() {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Cidr %s does not match ip_version %d.", spec.cidr, spec.ipVersion)
	}
	bits := prefix.Addr().BitLen() - prefix.Bits()
	if bits < 2 {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Requested subnet %s is too small.", spec.cidr)
	}
	for _, other := range s.networkSubnets(n.id) {
		if other.prefix.Overlaps(prefix) {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet.", spec.cidr, n.id)
		}
	}
	first := prefix.Addr().Next() // the network address is never handed out
	last := lastAddr(prefix)
	if prefix.Addr().Is4() {
		last = last.Prev() // nor the broadcast address
	}
	gw := first
	if spec.gateway != nil {
		if *spec.gateway == "" {
			gw = netip.Addr{}
		} else {
			a, err := netip.ParseAddr(*spec.gateway)
			if err != nil || !prefix.Contains(a) {
				return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Gateway is not valid on subnet.")
			}
			gw = a
		}
	}
	pools := spec.pools
	if len(pools) == 0 {
		switch {
		case gw == first:
			pools = []ipRange{{first.Next(), last}}
		case gw.IsValid() && gw == last:
			pools = []ipRange{{first, last.Prev()}}
		case gw.IsValid() && prefix.Contains(gw):
			pools = []ipRange{{first, gw.Prev()}, {gw.Next(), last}}
		default:
			pools = []ipRange{{first, last}}
		}
	}
	for _, p := range pools {
		if !prefix.Contains(p.start) || !prefix.Contains(p.end) || (gw.IsValid() && !gw.Less(p.start) && !p.end.Less(gw)) {
			return nil, errf(http.StatusBadRequest, "GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s-%s.", gw, p.start, p.end)
		}
	}
	now := s.now()
	sn := &subnet{
		neutronMeta: neutronMeta{id: s.newID("subnet"), name: spec.name, description: spec.description, projectID: spec.projectID, created: now, updated: now},
		networkID:   n.id, prefix: prefix, gateway: gw, pools: pools, dnsNameservers: spec.dnsNameservers,
		enableDHCP: spec.enableDHCP, used: map[netip.Addr]string{},
	}
	s.subnets.put(sn.id, sn)
	n.touch(now)
	return sn, nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func ipVersion(ip string) int {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
		return 6
	}
	return 4
}

func (s *Server) updateSubnet(w http.ResponseWriter, r *http.Request) (int, any, error) {
	sn, err := s.subnetFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Name           *string   `json:"name"`
		Description    *string   `json:"description"`
		DNSNameservers *[]string `json:"dns_nameservers"`
		EnableDHCP     *bool     `json:"enable_dhcp"`
		GatewayIP      *string   `json:"gateway_ip"`
	}
	if err := neutronBody(r, "subnet", []string{"name", "description", "dns_nameservers", "enable_dhcp", "gateway_ip", "allocation_pools", "host_routes", "dns_publish_fixed_ip", "segment_id", "service_types"}, &req); err != nil {
		return 0, nil, err
	}
	if sn.projectID != s.projectID {
		return 0, nil, policyDenied("update_subnet")
	}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return 0, nil, err
		}
		sn.name = *req.Name
	}
	if req.Description != nil {
		sn.description = *req.Description
	}
	if req.DNSNameservers != nil {
		sn.dnsNameservers = *req.DNSNameservers
	}
	if req.EnableDHCP != nil {
		sn.enableDHCP = *req.EnableDHCP
	}
	if req.GatewayIP != nil {
		a, err := netip.ParseAddr(*req.GatewayIP)
		if err != nil || !sn.prefix.Contains(a) {
			return 0, nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Gateway is not valid on subnet.")
		}
		sn.gateway = a
	}
	sn.touch(s.now())
	return http.StatusOK, map[string]any{"subnet": s.subnetJSON(sn)}, nil
}

// deleteSubnet refuses a subnet a port still has an address from, a router interface
// included (409 SubnetInUse).
func (s *Server) deleteSubnet(w http.ResponseWriter, r *http.Request) (int, any, error) {
	sn, err := s.subnetFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	if sn.projectID != s.projectID {
		return 0, nil, policyDenied("delete_subnet")
	}
	for _, pt := range s.ports.list() {
		for _, ip := range pt.fixedIPs {
			if ip.subnetID == sn.id && pt.deviceOwner != "network:dhcp" {
				return 0, nil, errf(http.StatusConflict, "SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", sn.id)
			}
		}
	}
	s.subnets.del(sn.id)
	if n, ok := s.networks.get(sn.networkID); ok {
		n.touch(s.now())
	}
	return http.StatusNoContent, nil, nil
}

// allocateIP takes an address of a subnet for owner: the one asked for, or the first
// free one of the allocation pools.
func (s *Server) allocateIP(sn *subnet, want, owner string) (string, error) {
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !sn.prefix.Contains(a) {
			return "", errf(http.StatusBadRequest, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", want)
		}
		if _, taken := sn.used[a]; taken {
			return "", errf(http.StatusConflict, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", want, sn.id)
		}
		sn.used[a] = owner
		return a.String(), nil
	}
	for _, p := range sn.pools {
		for a := p.start; !p.end.Less(a); a = a.Next() {
			if _, taken := sn.used[a]; !taken {
				sn.used[a] = owner
				return a.String(), nil
			}
		}
	}
	return "", errf(http.StatusConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", sn.networkID)
}

func (s *Server) releaseIP(subnetID, ip string) {
	sn, ok := s.subnets.get(subnetID)
	if !ok {
		return
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		delete(sn.used, a)
	}
}

// --- routers ---

func (s *Server) routerFromPath(r *http.Request) (*router, error) {
	rt, ok := s.routers.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "RouterNotFound", "Router %s could not be found", r.PathValue("id"))
	}
	return rt, nil
}

type gatewayReq struct {
	NetworkID        string `json:"network_id"`
	EnableSNAT       *bool  `json:"enable_snat"`
	ExternalFixedIPs []any  `json:"external_fixed_ips"`
	QoSPolicyID      string `json:"qos_policy_id"`
}

var routerAttrs = []string{"name", "description", "admin_state_up", "tenant_id", "project_id", "external_gateway_info",
	"distributed", "ha", "availability_zone_hints", "flavor_id", "routes", "enable_ndp_proxy"}

type routerReq struct {
	Name         *string         `json:"name"`
	Description  *string         `json:"description"`
	AdminStateUp *bool           `json:"admin_state_up"`
	TenantID     string          `json:"tenant_id"`
	Gateway      json.RawMessage `json:"external_gateway_info"`
	Distributed  *bool           `json:"distributed"`
	HA           *bool           `json:"ha"`
	Routes       []any           `json:"routes"`
}

// setGateway points a router at an external network and takes an address of it.
func (s *Server) setGateway(rt *router, raw json.RawMessage, action string) error {
	var gw *gatewayReq
	if err := json.Unmarshal(raw, &gw); err != nil {
		return errf(http.StatusBadRequest, "InvalidInput", "Invalid input for external_gateway_info: %v.", err)
	}
	if gw == nil || gw.NetworkID == "" {
		if rt.gwNetworkID != "" {
			for _, f := range s.floatingIPs.list() {
				if f.routerID == rt.id {
					return errf(http.StatusConflict, "RouterExternalGatewayInUseByFloatingIp", "Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.", rt.id, rt.gwNetworkID)
				}
			}
			for _, ip := range rt.gwIPs {
				s.releaseIP(ip.subnetID, ip.ip)
			}
		}
		rt.gwNetworkID, rt.gwIPs = "", nil
		return nil
	}
	switch {
	case gw.EnableSNAT != nil:
		return policyDenied(action + "_router:external_gateway_info:enable_snat")
	case len(gw.ExternalFixedIPs) > 0:
		return policyDenied(action + "_router:external_gateway_info:external_fixed_ips")
	}
	n, ok := s.networks.get(gw.NetworkID)
	if !ok {
		return errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", gw.NetworkID)
	}
	if !n.external {
		return errf(http.StatusBadRequest, "BadRequest", "Bad router request: Network %s is not an external network.", n.id)
	}
	if rt.gwNetworkID == n.id {
		return nil
	}
	if rt.gwNetworkID != "" {
		if err := s.setGateway(rt, json.RawMessage("null"), action); err != nil {
			return err
		}
	}
	var ips []fixedIP
	for _, sn := range s.networkSubnets(n.id) {
		if !sn.prefix.Addr().Is4() {
			continue
		}
		ip, err := s.allocateIP(sn, "", "router:"+rt.id)
		if err != nil {
			for _, got := range ips {
				s.releaseIP(got.subnetID, got.ip)
			}
			return errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", n.id)
		}
		ips = append(ips, fixedIP{sn.id, ip})
		break
	}
	rt.gwNetworkID, rt.gwIPs, rt.enableSNAT = n.id, ips, true
	return nil
}

func (s *Server) createRouter(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req routerReq
	if err := neutronBody(r, "router", routerAttrs, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case req.Distributed != nil:
		return 0, nil, policyDenied("create_router:distributed")
	case req.HA != nil:
		return 0, nil, policyDenied("create_router:ha")
	case req.TenantID != "" && req.TenantID != s.projectID:
		return 0, nil, policyDenied("create_router")
	}
	now := s.now()
	rt := &router{neutronMeta: neutronMeta{id: s.newID("router"), projectID: s.projectID, created: now, updated: now, revision: 1},
		adminUp: true, status: "ACTIVE"}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return 0, nil, err
		}
		rt.name = *req.Name
	}
	if req.Description != nil {
		rt.description = *req.Description
	}
	if req.AdminStateUp != nil {
		rt.adminUp = *req.AdminStateUp
	}
	if len(req.Gateway) > 0 {
		if err := s.setGateway(rt, req.Gateway, "create"); err != nil {
			return 0, nil, err
		}
	}
	s.routers.put(rt.id, rt)
	return http.StatusCreated, map[string]any{"router": s.routerJSON(rt)}, nil
}

func (s *Server) updateRouter(w http.ResponseWriter, r *http.Request) (int, any, error) {
	rt, err := s.routerFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req routerReq
	if err := neutronBody(r, "router", routerAttrs, &req); err != nil {
		return 0, nil, err
	}
	if req.Distributed != nil || req.HA != nil {
		return 0, nil, policyDenied("update_router:distributed")
	}
	if len(req.Routes) > 0 {
		return 0, nil, errf(http.StatusBadRequest, "InvalidRoutes", "Invalid format for routes: openstacksim has no extra routes")
	}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return 0, nil, err
		}
		rt.name = *req.Name
	}
	if req.Description != nil {
		rt.description = *req.Description
	}
	if req.AdminStateUp != nil {
		rt.adminUp = *req.AdminStateUp
	}
	if len(req.Gateway) > 0 {
		if err := s.setGateway(rt, req.Gateway, "update"); err != nil {
			return 0, nil, err
		}
	}
	rt.touch(s.now())
	return http.StatusOK, map[string]any{"router": s.routerJSON(rt)}, nil
}

func (s *Server) routerInterfaces(routerID string) []*port {
	var out []*port
	for _, pt := range s.ports.list() {
		if pt.deviceID == routerID && pt.deviceOwner == "network:router_interface" {
			out = append(out, pt)
		}
	}
	return out
}

// deleteRouter refuses a router that still has interfaces (409 RouterInUse); its
// gateway goes with it.
func (s *Server) deleteRouter(w http.ResponseWriter, r *http.Request) (int, any, error) {
	rt, err := s.routerFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	if len(s.routerInterfaces(rt.id)) > 0 {
		return 0, nil, errf(http.StatusConflict, "RouterInUse", "Router %s still has ports", rt.id)
	}
	if err := s.setGateway(rt, json.RawMessage("null"), "update"); err != nil {
		return 0, nil, err
	}
	s.routers.del(rt.id)
	return http.StatusNoContent, nil, nil
}

type interfaceReq struct {
	SubnetID string `json:"subnet_id"`
	PortID   string `json:"port_id"`
}

func (s *Server) interfaceBody(rt *router, pt *port, subnetID string) map[string]any {
	var ids []string
	for _, ip := range pt.fixedIPs {
		ids = append(ids, ip.subnetID)
	}
	return map[string]any{
		"id": rt.id, "tenant_id": rt.projectID, "project_id": rt.projectID, "port_id": pt.id,
		"network_id": pt.networkID, "subnet_id": subnetID, "subnet_ids": ids, "tags": []string{},
	}
}

// addRouterInterface is PUT /routers/{id}/add_router_interface: with a subnet_id it
// makes a port on the subnet's gateway address; with a port_id it takes that port.
func (s *Server) addRouterInterface(w http.ResponseWriter, r *http.Request) (int, any, error) {
	rt, err := s.routerFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req interfaceReq
	if err := readBody(r, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case req.SubnetID != "" && req.PortID != "":
		return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad router request: Cannot specify both subnet-id and port-id.")
	case req.SubnetID == "" && req.PortID == "":
		return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified.")
	}
	var pt *port
	if req.PortID != "" {
		p, ok := s.ports.get(req.PortID)
		if !ok {
			return 0, nil, errf(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", req.PortID)
		}
		if p.deviceID != "" {
			return 0, nil, errf(http.StatusConflict, "PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.id, p.networkID, p.deviceID)
		}
		if len(p.fixedIPs) == 0 {
			return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad router request: Router port must have at least one fixed IP.")
		}
		for _, ip := range p.fixedIPs {
			if err := s.checkInterfaceSubnet(rt, ip.subnetID); err != nil {
				return 0, nil, err
			}
		}
		pt = p
		pt.deviceID, pt.deviceOwner = rt.id, "network:router_interface"
		pt.secGroups = nil
		pt.touch(s.now())
	} else {
		sn, ok := s.subnets.get(req.SubnetID)
		if !ok {
			return 0, nil, errf(http.StatusNotFound, "SubnetNotFound", "Subnet %s could not be found.", req.SubnetID)
		}
		if !sn.gateway.IsValid() {
			return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad router request: Subnet for router interface must have a gateway IP.")
		}
		if err := s.checkInterfaceSubnet(rt, sn.id); err != nil {
			return 0, nil, err
		}
		if _, taken := sn.used[sn.gateway]; taken {
			return 0, nil, errf(http.StatusConflict, "IpAddressInUse", "Unable to complete operation for network %s. The IP address %s is in use.", sn.networkID, sn.gateway)
		}
		p, err := s.newPort(portSpec{networkID: sn.networkID, adminUp: true, noSecGroups: true,
			fixedIPs: []fixedIPReq{{SubnetID: sn.id, IPAddress: sn.gateway.String()}}, deviceID: rt.id, deviceOwner: "network:router_interface"})
		if err != nil {
			return 0, nil, err
		}
		pt = p
	}
	// The L3 agent plugs the port; it is DOWN until then.
	pt.status = "DOWN"
	s.later(func() {
		if cur, ok := s.ports.get(pt.id); ok && cur.deviceID == rt.id {
			cur.status = "ACTIVE"
			cur.touch(s.now())
		}
	})
	rt.touch(s.now())
	return http.StatusOK, s.interfaceBody(rt, pt, pt.fixedIPs[0].subnetID), nil
}

func (s *Server) checkInterfaceSubnet(rt *router, subnetID string) error {
	for _, other := range s.routerInterfaces(rt.id) {
		for _, ip := range other.fixedIPs {
			if ip.subnetID == subnetID {
				return errf(http.StatusBadRequest, "BadRequest", "Bad router request: Router already has a port on subnet %s.", subnetID)
			}
		}
	}
	return nil
}

// removeRouterInterface is PUT /routers/{id}/remove_router_interface. An interface a
// floating IP reaches its port through cannot go (409 RouterInterfaceInUseByFloatingIP).
func (s *Server) removeRouterInterface(w http.ResponseWriter, r *http.Request) (int, any, error) {
	rt, err := s.routerFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req interfaceReq
	if err := readBody(r, &req); err != nil {
		return 0, nil, err
	}
	var pt *port
	subnetID := req.SubnetID
	switch {
	case req.PortID != "":
		p, ok := s.ports.get(req.PortID)
		if !ok || p.deviceID != rt.id || p.deviceOwner != "network:router_interface" {
			return 0, nil, errf(http.StatusNotFound, "RouterInterfaceNotFound", "Router %s does not have an interface with id %s", rt.id, req.PortID)
		}
		pt = p
		if subnetID == "" && len(p.fixedIPs) > 0 {
			subnetID = p.fixedIPs[0].subnetID
		}
	case req.SubnetID != "":
		if _, ok := s.subnets.get(req.SubnetID); !ok {
			return 0, nil, errf(http.StatusNotFound, "SubnetNotFound", "Subnet %s could not be found.", req.SubnetID)
		}
		for _, p := range s.routerInterfaces(rt.id) {
			for _, ip := range p.fixedIPs {
				if ip.subnetID == req.SubnetID {
					pt = p
				}
			}
		}
		if pt == nil {
			return 0, nil, errf(http.StatusNotFound, "RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", rt.id, req.SubnetID)
		}
	default:
		return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified.")
	}
	for _, ip := range pt.fixedIPs {
		for _, f := range s.floatingIPs.list() {
			if f.routerID != rt.id {
				continue
			}
			if fp, ok := s.ports.get(f.portID); ok && slices.ContainsFunc(fp.fixedIPs, func(x fixedIP) bool { return x.subnetID == ip.subnetID }) {
				return 0, nil, errf(http.StatusConflict, "RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", ip.subnetID, rt.id)
			}
		}
	}
	body := s.interfaceBody(rt, pt, subnetID)
	s.deletePort(pt)
	rt.touch(s.now())
	return http.StatusOK, body, nil
}

// --- ports ---

func (s *Server) portFromPath(r *http.Request) (*port, error) {
	pt, ok := s.ports.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", r.PathValue("id"))
	}
	return pt, nil
}

type fixedIPReq struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

type portSpec struct {
	networkID, name, description string
	adminUp                      bool
	fixedIPs                     []fixedIPReq // nil: an address of the network's first IPv4 subnet
	noFixedIPs                   bool
	secGroups                    *[]string // nil: the project's default group
	noSecGroups                  bool
	portSecurity                 *bool
	mac                          string
	deviceID, deviceOwner        string
}

// newPort checks and adds a port: its addresses come from subnets of its network, its
// security groups must exist, by default the project's default group.
func (s *Server) newPort(spec portSpec) (*port, error) {
	n, ok := s.networks.get(spec.networkID)
	if !ok {
		return nil, errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", spec.networkID)
	}
	portSecurity := n.portSecurity
	if spec.portSecurity != nil {
		portSecurity = *spec.portSecurity
	}
	var groups []string
	switch {
	case spec.noSecGroups:
	case spec.secGroups != nil:
		for _, id := range *spec.secGroups {
			if _, ok := s.secGroups.get(id); !ok {
				return nil, errf(http.StatusNotFound, "SecurityGroupNotFound", "Security group %s does not exist", id)
			}
			if !slices.Contains(groups, id) {
				groups = append(groups, id)
			}
		}
		if len(groups) > 0 && !portSecurity {
			return nil, errf(http.StatusBadRequest, "PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled and port must have an IP address in order to use security groups.")
		}
	case portSecurity:
		groups = []string{s.defaultSecGroup().id}
	}
	mac := spec.mac
	if mac == "" {
		s.counters["mac"]++
		c := s.counters["mac"]
		mac = fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", c>>16&0xff, c>>8&0xff, c&0xff)
	} else {
		for _, other := range s.ports.list() {
			if other.networkID == n.id && other.mac == mac {
				return nil, errf(http.StatusConflict, "MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", n.id, mac)
			}
		}
	}
	now := s.now()
	pt := &port{
		neutronMeta: neutronMeta{id: s.newID("port"), name: spec.name, description: spec.description, projectID: s.projectID, created: now, updated: now, revision: 1},
		networkID:   n.id, mac: mac, adminUp: spec.adminUp, status: "DOWN", vifType: "unbound",
		deviceID: spec.deviceID, deviceOwner: spec.deviceOwner, secGroups: groups, portSecurity: portSecurity,
	}
	reqs := spec.fixedIPs
	if reqs == nil && !spec.noFixedIPs {
		for _, sn := range s.networkSubnets(n.id) {
			if sn.prefix.Addr().Is4() {
				reqs = []fixedIPReq{{SubnetID: sn.id}}
				break
			}
		}
	}
	release := func() {
		for _, ip := range pt.fixedIPs {
			s.releaseIP(ip.subnetID, ip.ip)
		}
	}
	for _, fr := range reqs {
		sn, err := s.subnetForRequest(n, fr)
		if err != nil {
			release()
			return nil, err
		}
		ip, err := s.allocateIP(sn, fr.IPAddress, pt.id)
		if err != nil {
			release()
			return nil, err
		}
		pt.fixedIPs = append(pt.fixedIPs, fixedIP{sn.id, ip})
	}
	s.ports.put(pt.id, pt)
	return pt, nil
}

// subnetForRequest finds the subnet of one fixed_ips entry.
func (s *Server) subnetForRequest(n *network, fr fixedIPReq) (*subnet, error) {
	if fr.SubnetID != "" {
		sn, ok := s.subnets.get(fr.SubnetID)
		if !ok || sn.networkID != n.id {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", n.id, fr.SubnetID)
		}
		return sn, nil
	}
	if fr.IPAddress == "" {
		for _, sn := range s.networkSubnets(n.id) {
			if sn.prefix.Addr().Is4() {
				return sn, nil
			}
		}
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Network %s has no IPv4 subnet.", n.id)
	}
	a, err := netip.ParseAddr(fr.IPAddress)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: IP address %s is not a valid IP.", fr.IPAddress)
	}
	for _, sn := range s.networkSubnets(n.id) {
		if sn.prefix.Contains(a) {
			return sn, nil
		}
	}
	return nil, errf(http.StatusBadRequest, "InvalidIpForNetwork", "IP address %s is not a valid IP for any of the subnets on the specified network.", fr.IPAddress)
}

var portAttrs = []string{"name", "description", "network_id", "tenant_id", "project_id", "admin_state_up", "mac_address",
	"fixed_ips", "device_id", "device_owner", "security_groups", "allowed_address_pairs", "extra_dhcp_opts",
	"port_security_enabled", "binding:host_id", "binding:vnic_type", "binding:profile", "dns_name", "dns_domain",
	"qos_policy_id", "propagate_uplink_status", "numa_affinity_policy", "hints"}

type portReq struct {
	Name         *string       `json:"name"`
	Description  *string       `json:"description"`
	NetworkID    string        `json:"network_id"`
	TenantID     string        `json:"tenant_id"`
	AdminStateUp *bool         `json:"admin_state_up"`
	MAC          string        `json:"mac_address"`
	FixedIPs     *[]fixedIPReq `json:"fixed_ips"`
	DeviceID     *string       `json:"device_id"`
	DeviceOwner  *string       `json:"device_owner"`
	SecGroups    *[]string     `json:"security_groups"`
	PortSecurity *bool         `json:"port_security_enabled"`
	HostID       *string       `json:"binding:host_id"`
	Pairs        []any         `json:"allowed_address_pairs"`
}

func (s *Server) createPort(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req portReq
	if err := neutronBody(r, "port", portAttrs, &req); err != nil {
		return 0, nil, err
	}
	if req.NetworkID == "" {
		return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute 'network_id' not specified")
	}
	if req.HostID != nil && *req.HostID != "" {
		return 0, nil, policyDenied("create_port:binding:host_id")
	}
	if req.TenantID != "" && req.TenantID != s.projectID {
		return 0, nil, policyDenied("create_port")
	}
	spec := portSpec{networkID: req.NetworkID, adminUp: true, mac: req.MAC, secGroups: req.SecGroups, portSecurity: req.PortSecurity}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return 0, nil, err
		}
		spec.name = *req.Name
	}
	if req.Description != nil {
		spec.description = *req.Description
	}
	if req.AdminStateUp != nil {
		spec.adminUp = *req.AdminStateUp
	}
	if req.FixedIPs != nil {
		spec.fixedIPs = *req.FixedIPs
		spec.noFixedIPs = len(*req.FixedIPs) == 0
	}
	if req.DeviceID != nil {
		spec.deviceID = *req.DeviceID
	}
	if req.DeviceOwner != nil {
		spec.deviceOwner = *req.DeviceOwner
	}
	if n, ok := s.networks.get(req.NetworkID); ok && n.projectID != s.projectID && !n.shared {
		return 0, nil, policyDenied("create_port:fixed_ips")
	}
	pt, err := s.newPort(spec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"port": s.portJSON(pt)}, nil
}

func (s *Server) updatePort(w http.ResponseWriter, r *http.Request) (int, any, error) {
	pt, err := s.portFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req portReq
	if err := neutronBody(r, "port", portAttrs, &req); err != nil {
		return 0, nil, err
	}
	if req.NetworkID != "" && req.NetworkID != pt.networkID {
		return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Cannot update read-only attribute network_id")
	}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return 0, nil, err
		}
		pt.name = *req.Name
	}
	if req.Description != nil {
		pt.description = *req.Description
	}
	if req.AdminStateUp != nil {
		pt.adminUp = *req.AdminStateUp
	}
	if req.PortSecurity != nil {
		if !*req.PortSecurity && len(pt.secGroups) > 0 && (req.SecGroups == nil || len(*req.SecGroups) > 0) {
			return 0, nil, errf(http.StatusConflict, "PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or ip address until security group is removed")
		}
		pt.portSecurity = *req.PortSecurity
	}
	if req.SecGroups != nil {
		for _, id := range *req.SecGroups {
			if _, ok := s.secGroups.get(id); !ok {
				return 0, nil, errf(http.StatusNotFound, "SecurityGroupNotFound", "Security group %s does not exist", id)
			}
		}
		pt.secGroups = slices.Compact(slices.Clone(*req.SecGroups))
	}
	if req.DeviceID != nil {
		pt.deviceID = *req.DeviceID
	}
	if req.DeviceOwner != nil {
		pt.deviceOwner = *req.DeviceOwner
	}
	if req.FixedIPs != nil {
		n, _ := s.networks.get(pt.networkID)
		old := pt.fixedIPs
		for _, ip := range old {
			s.releaseIP(ip.subnetID, ip.ip)
		}
		var got []fixedIP
		for _, fr := range *req.FixedIPs {
			// Keeping an address the port already has is not a conflict.
			sn, err := s.subnetForRequest(n, fr)
			if err == nil {
				var ip string
				ip, err = s.allocateIP(sn, fr.IPAddress, pt.id)
				if err == nil {
					got = append(got, fixedIP{sn.id, ip})
					continue
				}
			}
			for _, g := range got {
				s.releaseIP(g.subnetID, g.ip)
			}
			for _, ip := range old {
				if sn, ok := s.subnets.get(ip.subnetID); ok {
					a, _ := netip.ParseAddr(ip.ip)
					sn.used[a] = pt.id
				}
			}
			return 0, nil, err
		}
		pt.fixedIPs = got
	}
	pt.touch(s.now())
	return http.StatusOK, map[string]any{"port": s.portJSON(pt)}, nil
}

// deletePortAPI is DELETE /ports/{id}: a router's port goes only with
// remove_router_interface (409 ServicePortInUse, neutron/db/l3_db.py
// prevent_l3_port_deletion).
func (s *Server) deletePortAPI(w http.ResponseWriter, r *http.Request) (int, any, error) {
	pt, err := s.portFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	switch pt.deviceOwner {
	case "network:router_interface", "network:router_gateway", "network:floatingip":
		if _, ok := s.routers.get(pt.deviceID); ok || pt.deviceOwner == "network:floatingip" {
			return 0, nil, errf(http.StatusConflict, "ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.", pt.id, pt.deviceOwner)
		}
	}
	s.deletePort(pt)
	return http.StatusNoContent, nil, nil
}

// deletePort removes a port: its floating IPs are disassociated, its addresses freed,
// a server it was plugged into loses the interface.
func (s *Server) deletePort(pt *port) {
	now := s.now()
	for _, f := range s.floatingIPs.list() {
		if f.portID == pt.id {
			f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
			f.touch(now)
		}
	}
	for _, ip := range pt.fixedIPs {
		s.releaseIP(ip.subnetID, ip.ip)
	}
	if srv, ok := s.servers.get(pt.deviceID); ok {
		srv.ports = slices.DeleteFunc(srv.ports, func(id string) bool { return id == pt.id })
	}
	s.ports.del(pt.id)
}

// bindPort plugs a port into a server, as Nova does when it builds the server.
func (s *Server) bindPort(portID string, srv *server) {
	pt, ok := s.ports.get(portID)
	if !ok {
		return
	}
	pt.deviceID = srv.id
	pt.deviceOwner = "compute:" + srv.availabilityZone
	pt.hostID = computeHost
	pt.touch(s.now())
}

// releasePort unplugs a port from its server, deleting it when Nova made it.
func (s *Server) releasePort(portID string, del bool) {
	pt, ok := s.ports.get(portID)
	if !ok {
		return
	}
	if del {
		s.deletePort(pt)
		return
	}
	pt.deviceID, pt.deviceOwner, pt.hostID, pt.vifType, pt.status = "", "", "", "unbound", "DOWN"
	s.portChanged(pt)
}

// portChanged records a change of a port.
func (s *Server) portChanged(pt *port) {
	pt.touch(s.now())
}

// --- floating IPs ---

func (s *Server) floatingIPFromPath(r *http.Request) (*floatingIP, error) {
	f, ok := s.floatingIPs.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "FloatingIPNotFound", "Floating IP %s could not be found", r.PathValue("id"))
	}
	return f, nil
}

var floatingIPAttrs = []string{"floating_network_id", "floating_ip_address", "port_id", "fixed_ip_address", "subnet_id",
	"description", "tenant_id", "project_id", "dns_name", "dns_domain", "qos_policy_id"}

type floatingIPReq struct {
	NetworkID   string          `json:"floating_network_id"`
	Address     string          `json:"floating_ip_address"`
	PortID      json.RawMessage `json:"port_id"`
	FixedIP     string          `json:"fixed_ip_address"`
	SubnetID    string          `json:"subnet_id"`
	Description *string         `json:"description"`
	TenantID    string          `json:"tenant_id"`
}

// associate points a floating IP at a port: the port's subnet must reach the floating
// IP's external network through a router (404 ExternalGatewayForFloatingIPNotFound,
// neutron/db/l3_db.py _get_router_for_floatingip), and that fixed address must not
// have a floating IP already (409 FloatingIPPortAlreadyAssociated).
func (s *Server) associate(f *floatingIP, portID, fixed string) error {
	pt, ok := s.ports.get(portID)
	if !ok {
		return errf(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", portID)
	}
	var ip *fixedIP
	for i, x := range pt.fixedIPs {
		if ipVersion(x.ip) == 4 && (fixed == "" || fixed == x.ip) {
			ip = &pt.fixedIPs[i]
			break
		}
	}
	if ip == nil {
		if fixed != "" {
			return errf(http.StatusBadRequest, "BadRequest", "Bad floatingip request: Port %s does not have fixed ip %s.", pt.id, fixed)
		}
		return errf(http.StatusBadRequest, "BadRequest", "Bad floatingip request: Port %s does not have any IPv4 address.", pt.id)
	}
	var via *router
	for _, rt := range s.routers.list() {
		if rt.gwNetworkID != f.networkID {
			continue
		}
		for _, ifc := range s.routerInterfaces(rt.id) {
			if slices.ContainsFunc(ifc.fixedIPs, func(x fixedIP) bool { return x.subnetID == ip.subnetID }) {
				via = rt
			}
		}
	}
	if via == nil {
		return errf(http.StatusNotFound, "ExternalGatewayForFloatingIPNotFound", "External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", f.networkID, ip.subnetID, pt.id)
	}
	for _, other := range s.floatingIPs.list() {
		if other.id != f.id && other.portID == pt.id && other.fixedIP == ip.ip && other.networkID == f.networkID {
			return errf(http.StatusConflict, "FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.", f.address, f.id, pt.id, ip.ip, f.networkID)
		}
	}
	f.portID, f.fixedIP, f.routerID = pt.id, ip.ip, via.id
	// The L3 agent sets the floating IP up; it is DOWN until then.
	f.status = "DOWN"
	s.later(func() {
		if cur, ok := s.floatingIPs.get(f.id); ok && cur.portID == pt.id {
			cur.status = "ACTIVE"
			cur.touch(s.now())
		}
	})
	return nil
}

func (s *Server) createFloatingIP(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req floatingIPReq
	if err := neutronBody(r, "floatingip", floatingIPAttrs, &req); err != nil {
		return 0, nil, err
	}
	if req.NetworkID == "" {
		return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute 'floating_network_id' not specified")
	}
	n, ok := s.networks.get(req.NetworkID)
	if !ok {
		return 0, nil, errf(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", req.NetworkID)
	}
	if !n.external {
		return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad floatingip request: Network %s is not a valid external network.", n.id)
	}
	if req.Address != "" {
		return 0, nil, policyDenied("create_floatingip:floating_ip_address")
	}
	if req.TenantID != "" && req.TenantID != s.projectID {
		return 0, nil, policyDenied("create_floatingip")
	}
	var portID string
	if len(req.PortID) > 0 && string(req.PortID) != "null" {
		if err := json.Unmarshal(req.PortID, &portID); err != nil {
			return 0, nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for port_id.")
		}
	}
	var sn *subnet
	for _, cand := range s.networkSubnets(n.id) {
		if cand.prefix.Addr().Is4() && (req.SubnetID == "" || cand.id == req.SubnetID) {
			sn = cand
			break
		}
	}
	if sn == nil {
		return 0, nil, errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", n.id)
	}
	now := s.now()
	f := &floatingIP{neutronMeta: neutronMeta{id: s.newID("floatingip"), projectID: s.projectID, created: now, updated: now},
		networkID: n.id, subnetID: sn.id, status: "DOWN"}
	if req.Description != nil {
		f.description = *req.Description
	}
	if portID != "" {
		if err := s.associate(f, portID, req.FixedIP); err != nil {
			return 0, nil, err
		}
	}
	addr, err := s.allocateIP(sn, "", "floatingip:"+f.id)
	if err != nil {
		return 0, nil, errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", n.id)
	}
	f.address = addr
	s.floatingIPs.put(f.id, f)
	return http.StatusCreated, map[string]any{"floatingip": s.floatingIPJSON(f)}, nil
}

func (s *Server) updateFloatingIP(w http.ResponseWriter, r *http.Request) (int, any, error) {
	f, err := s.floatingIPFromPath(r)
	if err != nil {
		return 0, nil, err
	}
	var req floatingIPReq
	if err := neutronBody(r, "floatingip", []string{"port_id", "fixed_ip_address", "description", "qos_policy_id"}, &req); err != nil {
		return 0, nil, err
	}
	if req.Description != nil {
		f.description = *req.Description
	}
	if len(req.PortID) > 0 {
		var portID string
		if string(req.PortID) != "null" {
			if err := json.Unmarshal(req.PortID, &portID); err != nil {
				return 0, nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for port_id.")
			}
		}
		if portID == "" {
			f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
		} else if err := s.associate(f, portID, req.FixedIP); err != nil {
			return 0, nil, err
		}
	}
	f.touch(s.now())
	return http.StatusOK, map[string]any{"floatingip": s.floatingIPJSON(f)}, nil
}

// --- tags ---

// taggable finds the tags of a resource of a collection.
func (s *Server) taggable(coll, id string) (*neutronMeta, error) {
	var m *neutronMeta
	switch coll {
	case "networks":
		if v, ok := s.networks.get(id); ok {
			m = &v.neutronMeta
		}
	case "subnets":
		if v, ok := s.subnets.get(id); ok {
			m = &v.neutronMeta
		}
	case "ports":
		if v, ok := s.ports.get(id); ok {
			m = &v.neutronMeta
		}
	case "routers":
		if v, ok := s.routers.get(id); ok {
			m = &v.neutronMeta
		}
	case "floatingips":
		if v, ok := s.floatingIPs.get(id); ok {
			m = &v.neutronMeta
		}
	case "security-groups":
		if v, ok := s.secGroups.get(id); ok {
			m = &v.neutronMeta
		}
	}
	if m == nil {
		return nil, errf(http.StatusNotFound, "NotFound", "%s %s could not be found.", strings.TrimSuffix(coll, "s"), id)
	}
	return m, nil
}

// checkTags applies the standard-attr-tag rules: at most 255 characters, no comma
// (neutron/extensions/tagging.py, validate_tag).
func checkTags(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		if t == "" || len(t) > 255 || strings.Contains(t, ",") {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: '%s' is not a valid tag.", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Server) tagRoutes(coll string) {
	base := networkPrefix + "/" + coll + "/{id}/tags"
	with := func(h func(m *neutronMeta, r *http.Request) (int, any, error)) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			m, err := s.taggable(coll, r.PathValue("id"))
			if err != nil {
				return 0, nil, err
			}
			return h(m, r)
		}
	}
	s.handle(networkSvc, "GET "+base, with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"tags": append([]string{}, m.tags...)}, nil
	}))
	s.handle(networkSvc, "PUT "+base, with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		var req struct {
			Tags *[]string `json:"tags"`
		}
		if err := readBody(r, &req); err != nil {
			return 0, nil, err
		}
		if req.Tags == nil {
			return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for operation: 'tags' is required.")
		}
		tags, err := checkTags(*req.Tags)
		if err != nil {
			return 0, nil, err
		}
		m.tags = tags
		m.touch(s.now())
		return http.StatusOK, map[string]any{"tags": append([]string{}, m.tags...)}, nil
	}))
	s.handle(networkSvc, "DELETE "+base, with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		m.tags = nil
		m.touch(s.now())
		return http.StatusNoContent, nil, nil
	}))
	s.handle(networkSvc, "GET "+base+"/{tag}", with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		if !slices.Contains(m.tags, r.PathValue("tag")) {
			return 0, nil, errf(http.StatusNotFound, "TagNotFound", "Tag %s could not be found for %s %s.", r.PathValue("tag"), coll, m.id)
		}
		return http.StatusNoContent, nil, nil
	}))
	s.handle(networkSvc, "PUT "+base+"/{tag}", with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		tags, err := checkTags(append(slices.Clone(m.tags), r.PathValue("tag")))
		if err != nil {
			return 0, nil, err
		}
		m.tags = tags
		m.touch(s.now())
		return http.StatusCreated, nil, nil
	}))
	s.handle(networkSvc, "DELETE "+base+"/{tag}", with(func(m *neutronMeta, r *http.Request) (int, any, error) {
		i := slices.Index(m.tags, r.PathValue("tag"))
		if i < 0 {
			return 0, nil, errf(http.StatusNotFound, "TagNotFound", "Tag %s could not be found for %s %s.", r.PathValue("tag"), coll, m.id)
		}
		m.tags = slices.Delete(m.tags, i, i+1)
		m.touch(s.now())
		return http.StatusNoContent, nil, nil
	}))
}
