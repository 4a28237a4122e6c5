package openstacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Neutron security groups and their rules (api-ref network v2, "Security groups",
// "Security group rules"; messages from neutron/extensions/securitygroup.py).

type secGroup struct {
	neutronMeta
	stateful  bool
	isDefault bool
}

// secGroupRule has neither a name nor tags.
type secGroupRule struct {
	neutronMeta
	groupID, direction, ethertype           string
	protocol, remoteIPPrefix, remoteGroupID *string
	portMin, portMax                        *int
}

// sgProtocols are the protocol names a rule takes besides numbers 0 to 255
// (neutron_lib/constants.py, IP_PROTOCOL_MAP).
var sgProtocols = []string{"ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ip", "ipip", "ipv6-encap",
	"ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp",
	"udp", "udplite", "vrrp"}

// portProtocols take a port range.
var portProtocols = []string{"tcp", "udp", "sctp", "udplite", "dccp", "6", "17", "132", "136", "33"}

func (s *Server) seedDefaultSecGroup() {
	now := s.now()
	g := &secGroup{neutronMeta: neutronMeta{id: s.newID("security-group"), name: "default",
		description: "Default security group", projectID: s.projectID, created: now, updated: now, revision: 1, seeded: true},
		stateful: true, isDefault: true}
	s.secGroups.put(g.id, g)
	// The default group lets in what comes from its own members and lets everything out
	// (neutron/db/securitygroups_db.py, _ensure_default_security_group).
	for _, et := range []string{"IPv4", "IPv6"} {
		self := g.id
		s.addRule(&secGroupRule{groupID: g.id, direction: "ingress", ethertype: et, remoteGroupID: &self})
		s.addRule(&secGroupRule{groupID: g.id, direction: "egress", ethertype: et})
	}
}

func (s *Server) defaultSecGroup() *secGroup {
	for _, g := range s.secGroups.list() {
		if g.isDefault {
			return g
		}
	}
	panic("openstacksim: no default security group")
}

func (s *Server) addRule(rule *secGroupRule) *secGroupRule {
	now := s.now()
	rule.id = s.newID("security-group-rule")
	rule.projectID = s.projectID
	rule.created, rule.updated = now, now
	s.secGroupRules.put(rule.id, rule)
	return rule
}

func (s *Server) groupRules(groupID string) []*secGroupRule {
	return s.secGroupRules.where(func(r *secGroupRule) bool { return r.groupID == groupID })
}

func (s *Server) secGroupJSON(g *secGroup) map[string]any {
	rules := []any{}
	for _, r := range s.groupRules(g.id) {
		rules = append(rules, s.ruleJSON(r))
	}
	return g.fields(map[string]any{
		"security_group_rules": rules,
		"stateful":             g.stateful,
		"shared":               false,
		"is_default":           g.isDefault,
	})
}

func (s *Server) ruleJSON(r *secGroupRule) map[string]any {
	ptr := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	iptr := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	var normalized any
	if r.remoteIPPrefix != nil {
		if p, err := netip.ParsePrefix(*r.remoteIPPrefix); err == nil {
			normalized = p.Masked().String()
		}
	}
	g, _ := s.secGroups.get(r.groupID)
	return map[string]any{
		"id":                      r.id,
		"security_group_id":       r.groupID,
		"direction":               r.direction,
		"ethertype":               r.ethertype,
		"protocol":                ptr(r.protocol),
		"port_range_min":          iptr(r.portMin),
		"port_range_max":          iptr(r.portMax),
		"remote_ip_prefix":        ptr(r.remoteIPPrefix),
		"normalized_cidr":         normalized,
		"remote_group_id":         ptr(r.remoteGroupID),
		"remote_address_group_id": nil,
		"description":             r.description,
		"tenant_id":               r.projectID,
		"project_id":              r.projectID,
		"belongs_to_default_sg":   g != nil && g.isDefault,
		"created_at":              isoZ(r.created),
		"updated_at":              isoZ(r.updated),
		"revision_number":         r.revision,
	}
}

// serverSecGroupNames are the names of the security groups of a server's ports, as Nova
// shows them.
func (s *Server) serverSecGroupNames(srv *server) []string {
	var out []string
	for _, id := range srv.ports {
		pt, ok := s.ports.get(id)
		if !ok {
			continue
		}
		for _, gid := range pt.secGroups {
			if g, ok := s.secGroups.get(gid); ok && !slices.Contains(out, g.name) {
				out = append(out, g.name)
			}
		}
	}
	return out
}

func (s *Server) secGroupRoutes() {
	s.secGroups = &neutronStore[*secGroup]{s: s, collection: "security-groups", missing: "SecurityGroupNotFound", notFound: "Security group %s does not exist",
		render: s.secGroupJSON, create: s.createSecGroup, update: s.updateSecGroup, remove: s.deleteSecGroup, tagged: true}
	s.secGroupRules = &neutronStore[*secGroupRule]{s: s, collection: "security-group-rules", missing: "SecurityGroupRuleNotFound", notFound: "Security group rule %s does not exist",
		render: s.ruleJSON, create: s.createRule, remove: s.deleteRule}
	s.secGroups.routes()
	s.secGroupRules.routes()
}

type secGroupReq struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Stateful    *bool   `json:"stateful"`
	TenantID    string  `json:"tenant_id"`
}

var secGroupAttrs = []string{"name", "description", "stateful", "tenant_id", "project_id", "shared"}

// createSecGroup makes a group with the two rules Neutron gives every new group: all
// egress over IPv4 and IPv6 (api-ref network v2, "Create security group").
func (s *Server) createSecGroup(r *http.Request) (*secGroup, error) {
	var req secGroupReq
	if err := neutronBody(r, "security_group", secGroupAttrs, &req); err != nil {
		return nil, err
	}
	if req.TenantID != "" && req.TenantID != s.projectID {
		return nil, policyDenied("create_security_group")
	}
	now := s.now()
	g := &secGroup{neutronMeta: neutronMeta{id: s.newID("security-group"), projectID: s.projectID, created: now, updated: now, revision: 1}, stateful: true}
	if req.Name != nil {
		if strings.EqualFold(*req.Name, "default") {
			return nil, errf(http.StatusConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		}
		if err := checkName(*req.Name, "name"); err != nil {
			return nil, err
		}
		g.name = *req.Name
	}
	set(&g.description, req.Description)
	set(&g.stateful, req.Stateful)
	s.secGroups.put(g.id, g)
	for _, et := range []string{"IPv4", "IPv6"} {
		s.addRule(&secGroupRule{groupID: g.id, direction: "egress", ethertype: et})
	}
	return g, nil
}

func (s *Server) updateSecGroup(g *secGroup, r *http.Request) error {
	var req secGroupReq
	if err := neutronBody(r, "security_group", secGroupAttrs, &req); err != nil {
		return err
	}
	if req.Name != nil {
		if g.isDefault && *req.Name != g.name {
			return errf(http.StatusConflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
		}
		if !g.isDefault && strings.EqualFold(*req.Name, "default") {
			return errf(http.StatusConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		}
		g.name = *req.Name
	}
	set(&g.description, req.Description)
	if req.Stateful != nil && *req.Stateful != g.stateful {
		for _, pt := range s.ports.list() {
			if slices.Contains(pt.secGroups, g.id) {
				return errf(http.StatusConflict, "SecurityGroupInUse", "Security Group %s in use.", g.id)
			}
		}
		g.stateful = *req.Stateful
	}
	return nil
}

// deleteSecGroup refuses the default group and a group a port still uses (409).
func (s *Server) deleteSecGroup(g *secGroup) error {
	if g.isDefault {
		return errf(http.StatusConflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
	}
	for _, pt := range s.ports.list() {
		if slices.Contains(pt.secGroups, g.id) {
			return errf(http.StatusConflict, "SecurityGroupInUse", "Security Group %s in use.", g.id)
		}
	}
	for _, rule := range s.groupRules(g.id) {
		s.secGroupRules.del(rule.id)
	}
	// Rules of other groups that name it as their remote group go with it.
	for _, rule := range s.secGroupRules.list() {
		if rule.remoteGroupID != nil && *rule.remoteGroupID == g.id {
			s.secGroupRules.del(rule.id)
		}
	}
	s.secGroups.del(g.id)
	return nil
}

// deleteRule removes a rule; its group's revision goes up.
func (s *Server) deleteRule(rule *secGroupRule) error {
	s.secGroupRules.del(rule.id)
	if g, ok := s.secGroups.get(rule.groupID); ok {
		g.touch(s.now())
	}
	return nil
}

// optionalInt reads a port bound that may be a number, a numeric string or null.
func optionalInt(raw json.RawMessage, field string) (*int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	var n int
	switch t := v.(type) {
	case float64:
		n = int(t)
		if float64(n) != t {
			return nil, errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %v.", t)
		}
	case string:
		x, err := strconv.Atoi(t)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %s.", t)
		}
		n = x
	default:
		return nil, errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %s.", raw)
	}
	if n < 0 || n > 65535 {
		return nil, errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port %d.", n)
	}
	return &n, nil
}

func (s *Server) createRule(r *http.Request) (*secGroupRule, error) {
	var req struct {
		GroupID        string          `json:"security_group_id"`
		Direction      string          `json:"direction"`
		Ethertype      string          `json:"ethertype"`
		Protocol       json.RawMessage `json:"protocol"`
		PortMin        json.RawMessage `json:"port_range_min"`
		PortMax        json.RawMessage `json:"port_range_max"`
		RemoteIPPrefix *string         `json:"remote_ip_prefix"`
		RemoteGroupID  *string         `json:"remote_group_id"`
		RemoteAddrGrp  *string         `json:"remote_address_group_id"`
		Description    string          `json:"description"`
		TenantID       string          `json:"tenant_id"`
	}
	attrs := []string{"security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
		"remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description", "tenant_id", "project_id"}
	if err := neutronBody(r, "security_group_rule", attrs, &req); err != nil {
		return nil, err
	}
	g, err := s.secGroups.find(req.GroupID)
	if err != nil {
		return nil, err
	}
	if req.Direction != "ingress" && req.Direction != "egress" {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for direction. Reason: '%s' is not in ['ingress', 'egress'].", req.Direction)
	}
	rule := &secGroupRule{neutronMeta: neutronMeta{description: req.Description}, groupID: g.id, direction: req.Direction, ethertype: "IPv4"}
	switch strings.ToLower(req.Ethertype) {
	case "", "ipv4":
	case "ipv6":
		rule.ethertype = "IPv6"
	default:
		return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for ethertype. Reason: '%s' is not in ['IPv4', 'IPv6'].", req.Ethertype)
	}
	if len(req.Protocol) > 0 && string(req.Protocol) != "null" {
		var v any
		_ = json.Unmarshal(req.Protocol, &v)
		proto := strings.ToLower(fmt.Sprint(v))
		if n, err := strconv.Atoi(proto); err == nil {
			if n < 0 || n > 255 {
				return nil, errf(http.StatusBadRequest, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported. Only protocol values %v and integer representations [0 to 255] are supported.", proto, sgProtocols)
			}
		} else if !slices.Contains(sgProtocols, proto) && proto != "any" {
			return nil, errf(http.StatusBadRequest, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported. Only protocol values %v and integer representations [0 to 255] are supported.", proto, sgProtocols)
		}
		if proto != "any" {
			rule.protocol = &proto
		}
	}
	if rule.portMin, err = optionalInt(req.PortMin, "port_range_min"); err != nil {
		return nil, err
	}
	if rule.portMax, err = optionalInt(req.PortMax, "port_range_max"); err != nil {
		return nil, err
	}
	if err := checkRulePorts(rule); err != nil {
		return nil, err
	}
	if req.RemoteIPPrefix != nil && *req.RemoteIPPrefix != "" && req.RemoteGroupID != nil && *req.RemoteGroupID != "" {
		return nil, errf(http.StatusBadRequest, "SecurityGroupRemoteGroupAndRemoteIpPrefix", "Only remote_ip_prefix or remote_group_id may be provided.")
	}
	if req.RemoteIPPrefix != nil && *req.RemoteIPPrefix != "" {
		p, err := netip.ParsePrefix(*req.RemoteIPPrefix)
		if err != nil {
			if a, err2 := netip.ParseAddr(*req.RemoteIPPrefix); err2 == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, errf(http.StatusBadRequest, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", *req.RemoteIPPrefix)
			}
		}
		if p.Addr().Is4() != (rule.ethertype == "IPv4") {
			return nil, errf(http.StatusBadRequest, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s", rule.ethertype, *req.RemoteIPPrefix)
		}
		prefix := p.String()
		rule.remoteIPPrefix = &prefix
	}
	if req.RemoteGroupID != nil && *req.RemoteGroupID != "" {
		if _, err := s.secGroups.find(*req.RemoteGroupID); err != nil {
			return nil, err
		}
		id := *req.RemoteGroupID
		rule.remoteGroupID = &id
	}
	if req.RemoteAddrGrp != nil && *req.RemoteAddrGrp != "" {
		return nil, errf(http.StatusNotFound, "AddressGroupNotFound", "Address group %s could not be found.", *req.RemoteAddrGrp)
	}
	for _, other := range s.groupRules(g.id) {
		if sameRule(other, rule) {
			return nil, errf(http.StatusConflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", other.id)
		}
	}
	s.addRule(rule)
	g.touch(s.now())
	return rule, nil
}

// checkRulePorts applies the port range rules: TCP-like protocols take ports 1 to
// 65535 with min <= max; ICMP takes a type and a code of 0 to 255; others none.
func checkRulePorts(rule *secGroupRule) error {
	if rule.portMin == nil && rule.portMax == nil {
		return nil
	}
	if rule.protocol == nil {
		return errf(http.StatusBadRequest, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	}
	proto := *rule.protocol
	switch {
	case slices.Contains(portProtocols, proto):
		if rule.portMin != nil && *rule.portMin == 0 {
			return errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port 0.")
		}
		if rule.portMax != nil && *rule.portMax == 0 {
			return errf(http.StatusBadRequest, "SecurityGroupInvalidPortValue", "Invalid value for port 0.")
		}
		if rule.portMin != nil && rule.portMax != nil && *rule.portMin > *rule.portMax {
			return errf(http.StatusBadRequest, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
	case proto == "icmp" || proto == "1" || proto == "icmpv6" || proto == "ipv6-icmp" || proto == "58":
		for field, v := range map[string]*int{"type": rule.portMin, "code": rule.portMax} {
			if v != nil && *v > 255 {
				attr := "port_range_min"
				if field == "code" {
					attr = "port_range_max"
				}
				return errf(http.StatusBadRequest, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP %s (%s) %d. It must be 0 to 255.", field, attr, *v)
			}
		}
		if rule.portMin == nil && rule.portMax != nil {
			return errf(http.StatusBadRequest, "SecurityGroupMissingIcmpType", "ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *rule.portMax)
		}
	default:
		return errf(http.StatusBadRequest, "SecurityGroupInvalidProtocolForPort", "Invalid protocol %s for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.", proto)
	}
	return nil
}

func sameRule(a, b *secGroupRule) bool {
	eqS := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	eqI := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.direction == b.direction && a.ethertype == b.ethertype && eqS(a.protocol, b.protocol) &&
		eqI(a.portMin, b.portMin) && eqI(a.portMax, b.portMax) && eqS(a.remoteIPPrefix, b.remoteIPPrefix) &&
		eqS(a.remoteGroupID, b.remoteGroupID)
}
