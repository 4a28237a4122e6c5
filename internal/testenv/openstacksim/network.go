package openstacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
)

// Neutron v2.0: networks, subnets, routers with their interfaces, ports and floating
// IPs, with tags on each (api-ref network v2). What they share is in neutron.go.

type network struct {
	neutronMeta
	adminUp, shared, external bool
	portSecurity              bool
	mtu                       int
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
		neutronMeta: neutronMeta{id: s.newID("network"), name: DefaultExternalNetwork, projectID: s.adminProjectID, created: now, updated: now, revision: 1, seeded: true},
		adminUp:     true, external: true, portSecurity: true, mtu: 1500,
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

	s.networks = &neutronStore[*network]{s: s, collection: "networks", missing: "NetworkNotFound", notFound: "Network %s could not be found.",
		render: s.networkJSON, create: s.createNetwork, update: s.updateNetwork, remove: s.deleteNetwork, tagged: true}
	s.subnets = &neutronStore[*subnet]{s: s, collection: "subnets", missing: "SubnetNotFound", notFound: "Subnet %s could not be found.",
		render: s.subnetJSON, create: s.createSubnet, update: s.updateSubnet, remove: s.deleteSubnet, tagged: true}
	s.routers = &neutronStore[*router]{s: s, collection: "routers", missing: "RouterNotFound", notFound: "Router %s could not be found",
		render: s.routerJSON, create: s.createRouter, update: s.updateRouter, remove: s.deleteRouter, tagged: true}
	s.ports = &neutronStore[*port]{s: s, collection: "ports", missing: "PortNotFound", notFound: "Port %s could not be found.",
		render: s.portJSON, create: s.createPort, update: s.updatePort, remove: s.deletePortAPI, tagged: true}
	s.floatingIPs = &neutronStore[*floatingIP]{s: s, collection: "floatingips", missing: "FloatingIPNotFound", notFound: "Floating IP %s could not be found",
		render: s.floatingIPJSON, create: s.createFloatingIP, update: s.updateFloatingIP, remove: s.deleteFloatingIP, tagged: true}
	for _, st := range []interface{ routes() }{s.networks, s.subnets, s.routers, s.ports, s.floatingIPs} {
		st.routes()
	}
	s.handle(networkSvc, "PUT "+networkPrefix+"/routers/{id}/add_router_interface", s.routers.on(s.routers.unknown, s.addRouterInterface))
	s.handle(networkSvc, "PUT "+networkPrefix+"/routers/{id}/remove_router_interface", s.routers.on(s.routers.unknown, s.removeRouterInterface))
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

// --- networks ---

// requestedNetwork finds the network a create names in a required attribute.
func (s *Server) requestedNetwork(attr, id string) (*network, error) {
	if err := required(attr, id); err != nil {
		return nil, err
	}
	return s.networks.find(id)
}

func (s *Server) networkSubnets(networkID string) []*subnet {
	return s.subnets.where(func(sn *subnet) bool { return sn.networkID == networkID })
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

func (s *Server) createNetwork(r *http.Request) (*network, error) {
	var req networkReq
	if err := neutronBody(r, "network", networkAttrs, &req); err != nil {
		return nil, err
	}
	if err := s.checkNetworkReq(&req, "create"); err != nil {
		return nil, err
	}
	now := s.now()
	n := &network{neutronMeta: neutronMeta{id: s.newID("network"), projectID: s.projectID, created: now, updated: now, revision: 1},
		adminUp: true, portSecurity: true, mtu: 1450}
	s.applyNetworkReq(n, &req)
	s.networks.put(n.id, n)
	return n, nil
}

func (s *Server) applyNetworkReq(n *network, req *networkReq) {
	set(&n.name, req.Name)
	set(&n.description, req.Description)
	set(&n.adminUp, req.AdminStateUp)
	set(&n.portSecurity, req.PortSecurity)
	set(&n.mtu, req.MTU)
}

func (s *Server) updateNetwork(n *network, r *http.Request) error {
	var req networkReq
	if err := neutronBody(r, "network", networkAttrs, &req); err != nil {
		return err
	}
	if n.projectID != s.projectID {
		return policyDenied("update_network")
	}
	if err := s.checkNetworkReq(&req, "update"); err != nil {
		return err
	}
	s.applyNetworkReq(n, &req)
	return nil
}

// deleteNetwork refuses a network that still has ports (409 NetworkInUse); its
// subnets go with it.
func (s *Server) deleteNetwork(n *network) error {
	if n.projectID != s.projectID {
		return policyDenied("delete_network")
	}
	for _, pt := range s.ports.list() {
		if pt.networkID == n.id && pt.deviceOwner != "network:dhcp" {
			return errf(http.StatusConflict, "NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", n.id)
		}
	}
	for _, sn := range s.networkSubnets(n.id) {
		s.subnets.del(sn.id)
	}
	s.networks.del(n.id)
	return nil
}

// --- subnets ---

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

func (s *Server) createSubnet(r *http.Request) (*subnet, error) {
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
		return nil, err
	}
	_ = json.Unmarshal(data, &raw)
	r.Body = bodyOf(data)
	if err := neutronBody(r, "subnet", subnetAttrs, &req); err != nil {
		return nil, err
	}
	if gw, ok := raw["subnet"]["gateway_ip"]; ok && string(gw) == "null" {
		none := ""
		req.GatewayIP = &none
	}
	if err := checkName(req.Name, "name"); err != nil {
		return nil, err
	}
	n, err := s.requestedNetwork("network_id", req.NetworkID)
	if err != nil {
		return nil, err
	}
	if n.projectID != s.projectID {
		return nil, policyDenied("create_subnet")
	}
	if req.SubnetPoolID != "" {
		return nil, errf(http.StatusNotFound, "SubnetPoolNotFound", "Subnet pool %s could not be found.", req.SubnetPoolID)
	}
	if req.CIDR == "" {
		return nil, errf(http.StatusBadRequest, "BadRequest", "Bad subnets request: a subnetpool must be specified in the absence of a cidr.")
	}
	if req.IPVersion != 4 && req.IPVersion != 6 {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for ip_version. Reason: %d is not in [4, 6].", req.IPVersion)
	}
	spec := subnetSpec{name: req.Name, description: req.Description, cidr: req.CIDR, ipVersion: req.IPVersion,
		gateway: req.GatewayIP, dnsNameservers: req.DNSNameservers, enableDHCP: true, projectID: s.projectID}
	set(&spec.enableDHCP, req.EnableDHCP)
	for _, p := range req.AllocationPools {
		a, err1 := netip.ParseAddr(p.Start)
		b, err2 := netip.ParseAddr(p.End)
		if err1 != nil || err2 != nil || b.Less(a) {
			return nil, errf(http.StatusBadRequest, "InvalidAllocationPool", "The allocation pool %s-%s is not valid.", p.Start, p.End)
		}
		spec.pools = append(spec.pools, ipRange{a, b})
	}
	return s.newSubnet(n, spec)
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

func (s *Server) updateSubnet(sn *subnet, r *http.Request) error {
	var req struct {
		Name           *string   `json:"name"`
		Description    *string   `json:"description"`
		DNSNameservers *[]string `json:"dns_nameservers"`
		EnableDHCP     *bool     `json:"enable_dhcp"`
		GatewayIP      *string   `json:"gateway_ip"`
	}
	if err := neutronBody(r, "subnet", []string{"name", "description", "dns_nameservers", "enable_dhcp", "gateway_ip", "allocation_pools", "host_routes", "dns_publish_fixed_ip", "segment_id", "service_types"}, &req); err != nil {
		return err
	}
	if sn.projectID != s.projectID {
		return policyDenied("update_subnet")
	}
	if err := sn.describe(req.Name, req.Description); err != nil {
		return err
	}
	set(&sn.dnsNameservers, req.DNSNameservers)
	set(&sn.enableDHCP, req.EnableDHCP)
	if req.GatewayIP != nil {
		a, err := netip.ParseAddr(*req.GatewayIP)
		if err != nil || !sn.prefix.Contains(a) {
			return errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: Gateway is not valid on subnet.")
		}
		sn.gateway = a
	}
	return nil
}

// deleteSubnet refuses a subnet a port still has an address from, a router interface
// included (409 SubnetInUse).
func (s *Server) deleteSubnet(sn *subnet) error {
	if sn.projectID != s.projectID {
		return policyDenied("delete_subnet")
	}
	for _, pt := range s.ports.list() {
		for _, ip := range pt.fixedIPs {
			if ip.subnetID == sn.id && pt.deviceOwner != "network:dhcp" {
				return errf(http.StatusConflict, "SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", sn.id)
			}
		}
	}
	s.subnets.del(sn.id)
	if n, ok := s.networks.get(sn.networkID); ok {
		n.touch(s.now())
	}
	return nil
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
	n, err := s.networks.find(gw.NetworkID)
	if err != nil {
		return err
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

func (s *Server) createRouter(r *http.Request) (*router, error) {
	var req routerReq
	if err := neutronBody(r, "router", routerAttrs, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Distributed != nil:
		return nil, policyDenied("create_router:distributed")
	case req.HA != nil:
		return nil, policyDenied("create_router:ha")
	case req.TenantID != "" && req.TenantID != s.projectID:
		return nil, policyDenied("create_router")
	}
	now := s.now()
	rt := &router{neutronMeta: neutronMeta{id: s.newID("router"), projectID: s.projectID, created: now, updated: now, revision: 1},
		adminUp: true, status: "ACTIVE"}
	if err := s.applyRouterReq(rt, &req, "create"); err != nil {
		return nil, err
	}
	s.routers.put(rt.id, rt)
	return rt, nil
}

func (s *Server) updateRouter(rt *router, r *http.Request) error {
	var req routerReq
	if err := neutronBody(r, "router", routerAttrs, &req); err != nil {
		return err
	}
	if req.Distributed != nil || req.HA != nil {
		return policyDenied("update_router:distributed")
	}
	if len(req.Routes) > 0 {
		return errf(http.StatusBadRequest, "InvalidRoutes", "Invalid format for routes: openstacksim has no extra routes")
	}
	return s.applyRouterReq(rt, &req, "update")
}

// applyRouterReq sets what a create and an update of a router have in common.
func (s *Server) applyRouterReq(rt *router, req *routerReq, action string) error {
	if err := rt.describe(req.Name, req.Description); err != nil {
		return err
	}
	set(&rt.adminUp, req.AdminStateUp)
	if len(req.Gateway) > 0 {
		return s.setGateway(rt, req.Gateway, action)
	}
	return nil
}

func (s *Server) routerInterfaces(routerID string) []*port {
	return s.ports.where(func(pt *port) bool { return pt.deviceID == routerID && pt.deviceOwner == "network:router_interface" })
}

// deleteRouter refuses a router that still has interfaces (409 RouterInUse); its
// gateway goes with it.
func (s *Server) deleteRouter(rt *router) error {
	if len(s.routerInterfaces(rt.id)) > 0 {
		return errf(http.StatusConflict, "RouterInUse", "Router %s still has ports", rt.id)
	}
	if err := s.setGateway(rt, json.RawMessage("null"), "update"); err != nil {
		return err
	}
	s.routers.del(rt.id)
	return nil
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
func (s *Server) addRouterInterface(rt *router, r *http.Request) (int, any, error) {
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
		p, err := s.ports.find(req.PortID)
		if err != nil {
			return 0, nil, err
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
		sn, err := s.subnets.find(req.SubnetID)
		if err != nil {
			return 0, nil, err
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
func (s *Server) removeRouterInterface(rt *router, r *http.Request) (int, any, error) {
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
		if _, err := s.subnets.find(req.SubnetID); err != nil {
			return 0, nil, err
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
	n, err := s.networks.find(spec.networkID)
	if err != nil {
		return nil, err
	}
	portSecurity := n.portSecurity
	set(&portSecurity, spec.portSecurity)
	var groups []string
	switch {
	case spec.noSecGroups:
	case spec.secGroups != nil:
		for _, id := range *spec.secGroups {
			if _, err := s.secGroups.find(id); err != nil {
				return nil, err
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

func (s *Server) createPort(r *http.Request) (*port, error) {
	var req portReq
	if err := neutronBody(r, "port", portAttrs, &req); err != nil {
		return nil, err
	}
	if err := required("network_id", req.NetworkID); err != nil {
		return nil, err
	}
	if req.HostID != nil && *req.HostID != "" {
		return nil, policyDenied("create_port:binding:host_id")
	}
	if req.TenantID != "" && req.TenantID != s.projectID {
		return nil, policyDenied("create_port")
	}
	spec := portSpec{networkID: req.NetworkID, adminUp: true, mac: req.MAC, secGroups: req.SecGroups, portSecurity: req.PortSecurity}
	if req.Name != nil {
		if err := checkName(*req.Name, "name"); err != nil {
			return nil, err
		}
	}
	set(&spec.name, req.Name)
	set(&spec.description, req.Description)
	set(&spec.adminUp, req.AdminStateUp)
	if req.FixedIPs != nil {
		spec.fixedIPs = *req.FixedIPs
		spec.noFixedIPs = len(*req.FixedIPs) == 0
	}
	set(&spec.deviceID, req.DeviceID)
	set(&spec.deviceOwner, req.DeviceOwner)
	if n, ok := s.networks.get(req.NetworkID); ok && n.projectID != s.projectID && !n.shared {
		return nil, policyDenied("create_port:fixed_ips")
	}
	return s.newPort(spec)
}

func (s *Server) updatePort(pt *port, r *http.Request) error {
	var req portReq
	if err := neutronBody(r, "port", portAttrs, &req); err != nil {
		return err
	}
	if req.NetworkID != "" && req.NetworkID != pt.networkID {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Cannot update read-only attribute network_id")
	}
	if err := pt.describe(req.Name, req.Description); err != nil {
		return err
	}
	set(&pt.adminUp, req.AdminStateUp)
	if req.PortSecurity != nil {
		if !*req.PortSecurity && len(pt.secGroups) > 0 && (req.SecGroups == nil || len(*req.SecGroups) > 0) {
			return errf(http.StatusConflict, "PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or ip address until security group is removed")
		}
		pt.portSecurity = *req.PortSecurity
	}
	if req.SecGroups != nil {
		for _, id := range *req.SecGroups {
			if _, err := s.secGroups.find(id); err != nil {
				return err
			}
		}
		pt.secGroups = slices.Compact(slices.Clone(*req.SecGroups))
	}
	set(&pt.deviceID, req.DeviceID)
	set(&pt.deviceOwner, req.DeviceOwner)
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
			return err
		}
		pt.fixedIPs = got
	}
	return nil
}

// deletePortAPI is DELETE /ports/{id}: a router's port goes only with
// remove_router_interface (409 ServicePortInUse, neutron/db/l3_db.py
// prevent_l3_port_deletion).
func (s *Server) deletePortAPI(pt *port) error {
	switch pt.deviceOwner {
	case "network:router_interface", "network:router_gateway", "network:floatingip":
		if _, ok := s.routers.get(pt.deviceID); ok || pt.deviceOwner == "network:floatingip" {
			return errf(http.StatusConflict, "ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.", pt.id, pt.deviceOwner)
		}
	}
	s.deletePort(pt)
	return nil
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
	pt, err := s.ports.find(portID)
	if err != nil {
		return err
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

func (s *Server) createFloatingIP(r *http.Request) (*floatingIP, error) {
	var req floatingIPReq
	if err := neutronBody(r, "floatingip", floatingIPAttrs, &req); err != nil {
		return nil, err
	}
	n, err := s.requestedNetwork("floating_network_id", req.NetworkID)
	if err != nil {
		return nil, err
	}
	if !n.external {
		return nil, errf(http.StatusBadRequest, "BadRequest", "Bad floatingip request: Network %s is not a valid external network.", n.id)
	}
	if req.Address != "" {
		return nil, policyDenied("create_floatingip:floating_ip_address")
	}
	if req.TenantID != "" && req.TenantID != s.projectID {
		return nil, policyDenied("create_floatingip")
	}
	var portID string
	if len(req.PortID) > 0 && string(req.PortID) != "null" {
		if err := json.Unmarshal(req.PortID, &portID); err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for port_id.")
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
		return nil, errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", n.id)
	}
	now := s.now()
	f := &floatingIP{neutronMeta: neutronMeta{id: s.newID("floatingip"), projectID: s.projectID, created: now, updated: now},
		networkID: n.id, subnetID: sn.id, status: "DOWN"}
	set(&f.description, req.Description)
	if portID != "" {
		if err := s.associate(f, portID, req.FixedIP); err != nil {
			return nil, err
		}
	}
	addr, err := s.allocateIP(sn, "", "floatingip:"+f.id)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", n.id)
	}
	f.address = addr
	s.floatingIPs.put(f.id, f)
	return f, nil
}

func (s *Server) updateFloatingIP(f *floatingIP, r *http.Request) error {
	var req floatingIPReq
	if err := neutronBody(r, "floatingip", []string{"port_id", "fixed_ip_address", "description", "qos_policy_id"}, &req); err != nil {
		return err
	}
	set(&f.description, req.Description)
	if len(req.PortID) > 0 {
		var portID string
		if string(req.PortID) != "null" {
			if err := json.Unmarshal(req.PortID, &portID); err != nil {
				return errf(http.StatusBadRequest, "InvalidInput", "Invalid input for port_id.")
			}
		}
		if portID == "" {
			f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
		} else if err := s.associate(f, portID, req.FixedIP); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) deleteFloatingIP(f *floatingIP) error {
	s.releaseIP(f.subnetID, f.address)
	s.floatingIPs.del(f.id)
	return nil
}
