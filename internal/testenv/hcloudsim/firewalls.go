package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type firewall struct {
	meta
	rules     []firewallRule
	servers   []int64  // applied directly
	selectors []string // applied through label selectors
}

type firewallRule struct {
	Direction      string   `json:"direction"`
	SourceIPs      []string `json:"source_ips"`
	DestinationIPs []string `json:"destination_ips"`
	Protocol       string   `json:"protocol"`
	Port           *string  `json:"port"`
	Description    *string  `json:"description"`
}

type firewallResource struct {
	Type   string `json:"type"`
	Server *struct {
		ID int64 `json:"id"`
	} `json:"server,omitempty"`
	LabelSelector *struct {
		Selector string `json:"selector"`
	} `json:"label_selector,omitempty"`
	AppliedToResources []firewallResource `json:"applied_to_resources,omitempty"`
}

func serverResource(id int64) firewallResource {
	r := firewallResource{Type: "server"}
	r.Server = &struct {
		ID int64 `json:"id"`
	}{id}
	return r
}

type firewallJSON struct {
	ID        int64              `json:"id"`
	Name      string             `json:"name"`
	Labels    map[string]string  `json:"labels"`
	Created   time.Time          `json:"created"`
	Rules     []firewallRule     `json:"rules"`
	AppliedTo []firewallResource `json:"applied_to"`
}

// appliesTo reports whether the firewall is applied to the server, directly or
// through one of its label selectors.
func (fw *firewall) appliesTo(srv *server) bool {
	if slices.Contains(fw.servers, srv.id) {
		return true
	}
	for _, sel := range fw.selectors {
		if parsed, err := parseSelector(sel); err == nil && parsed.matches(srv.labels) {
			return true
		}
	}
	return false
}

func (s *Server) renderFirewall(fw *firewall) firewallJSON {
	out := firewallJSON{
		ID:        fw.id,
		Name:      fw.name,
		Labels:    copyLabels(fw.labels),
		Created:   fw.created,
		Rules:     slices.Clone(fw.rules),
		AppliedTo: []firewallResource{},
	}
	if out.Rules == nil {
		out.Rules = []firewallRule{}
	}
	for _, id := range fw.servers {
		out.AppliedTo = append(out.AppliedTo, serverResource(id))
	}
	for _, sel := range fw.selectors {
		r := firewallResource{Type: "label_selector", AppliedToResources: []firewallResource{}}
		r.LabelSelector = &struct {
			Selector string `json:"selector"`
		}{sel}
		parsed, _ := parseSelector(sel)
		for _, srv := range s.servers.sorted() {
			if parsed.matches(srv.labels) {
				r.AppliedToResources = append(r.AppliedToResources, serverResource(srv.id))
			}
		}
		out.AppliedTo = append(out.AppliedTo, r)
	}
	return out
}

// checkRules validates firewall rules and returns them normalised, with networks
// in canonical form.
func checkRules(f *fieldErrors, rules []firewallRule) []firewallRule {
	out := []firewallRule{}
	for i, rule := range rules {
		field := fmt.Sprintf("rules[%d]", i)
		if rule.Direction != "in" && rule.Direction != "out" {
			f.add(field+".direction", "must be in or out")
		}
		switch rule.Protocol {
		case "tcp", "udp":
			if rule.Port == nil {
				f.add(field+".port", "is required for protocol %s", rule.Protocol)
			} else if !validPort(*rule.Port) {
				f.add(field+".port", "%q is not a port, a port range or any", *rule.Port)
			}
		case "icmp", "esp", "gre":
			if rule.Port != nil {
				f.add(field+".port", "must not be given for protocol %s", rule.Protocol)
			}
		default:
			f.add(field+".protocol", "must be one of tcp, udp, icmp, esp, gre")
		}
		if rule.Description != nil && len(*rule.Description) > 255 {
			f.add(field+".description", "is too long")
		}
		norm := firewallRule{
			Direction:      rule.Direction,
			Protocol:       rule.Protocol,
			Port:           rule.Port,
			Description:    rule.Description,
			SourceIPs:      checkNetworks(f, field+".source_ips", rule.SourceIPs),
			DestinationIPs: checkNetworks(f, field+".destination_ips", rule.DestinationIPs),
		}
		switch {
		case rule.Direction == "in" && len(norm.SourceIPs) == 0:
			f.add(field+".source_ips", "is required for direction in")
		case rule.Direction == "in" && len(norm.DestinationIPs) > 0:
			f.add(field+".destination_ips", "must be empty for direction in")
		case rule.Direction == "out" && len(norm.DestinationIPs) == 0:
			f.add(field+".destination_ips", "is required for direction out")
		case rule.Direction == "out" && len(norm.SourceIPs) > 0:
			f.add(field+".source_ips", "must be empty for direction out")
		}
		out = append(out, norm)
	}
	if len(rules) > 50 {
		f.add("rules", "at most 50 rules are allowed")
	}
	return out
}

func checkNetworks(f *fieldErrors, field string, networks []string) []string {
	out := []string{}
	for _, n := range networks {
		prefix, err := netip.ParsePrefix(n)
		if err != nil {
			f.add(field, "%q is not a network in CIDR notation", n)
			continue
		}
		out = append(out, prefix.Masked().String())
	}
	return out
}

func validPort(port string) bool {
	if port == "any" {
		return true
	}
	lo, hi, isRange := strings.Cut(port, "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	return errA == nil && errB == nil && a >= 1 && b <= 65535 && a <= b
}

// checkResources validates the resources of apply_to and remove_from.
func (s *Server) checkResources(f *fieldErrors, field string, resources []firewallResource) {
	for i, res := range resources {
		switch res.Type {
		case "server":
			if res.Server == nil {
				f.add(fmt.Sprintf("%s[%d].server", field, i), "is required for type server")
			}
		case "label_selector":
			if res.LabelSelector == nil {
				f.add(fmt.Sprintf("%s[%d].label_selector", field, i), "is required for type label_selector")
			} else if _, err := parseSelector(res.LabelSelector.Selector); err != nil {
				f.add(fmt.Sprintf("%s[%d].label_selector", field, i), "%v", err)
			}
		default:
			f.add(fmt.Sprintf("%s[%d].type", field, i), "must be server or label_selector")
		}
	}
}

// applyResources starts applying a firewall to resources, one action each.
func (s *Server) applyResources(fw *firewall, resources []firewallResource) ([]*action, error) {
	for _, res := range resources {
		switch res.Type {
		case "server":
			srv, ok := s.servers.items[res.Server.ID]
			if !ok {
				return nil, errCode(http.StatusNotFound, "firewall_resource_not_found", fmt.Sprintf("server %d not found", res.Server.ID))
			}
			if slices.Contains(fw.servers, srv.id) {
				return nil, errCode(http.StatusUnprocessableEntity, "firewall_already_applied", fmt.Sprintf("firewall %d is already applied to server %d", fw.id, srv.id))
			}
		case "label_selector":
			if slices.Contains(fw.selectors, res.LabelSelector.Selector) {
				return nil, errCode(http.StatusUnprocessableEntity, "firewall_already_applied", fmt.Sprintf("firewall %d is already applied to label selector %q", fw.id, res.LabelSelector.Selector))
			}
		}
	}
	id := fw.id
	var actions []*action
	for _, res := range resources {
		if res.Type == "server" {
			serverID := res.Server.ID
			actions = append(actions, s.startAction("apply_firewall", s.firewalls.must(id, func(fw *firewall) *actionFailure {
				if _, ok := s.servers.items[serverID]; !ok {
					return &actionFailure{"firewall_resource_not_found", fmt.Sprintf("server %d no longer exists", serverID)}
				}
				if !slices.Contains(fw.servers, serverID) {
					fw.servers = append(fw.servers, serverID)
				}
				return nil
			}), ref("firewall", id), ref("server", serverID)))
			continue
		}
		sel := res.LabelSelector.Selector
		actions = append(actions, s.startAction("apply_firewall", s.firewalls.change(id, func(fw *firewall) {
			if !slices.Contains(fw.selectors, sel) {
				fw.selectors = append(fw.selectors, sel)
			}
		}), ref("firewall", id)))
	}
	return actions, nil
}

func (s *Server) firewallRoutes() {
	s.firewalls = &store[*firewall]{
		sim: s, kind: "firewall", noun: "firewall", collection: "firewalls", items: map[int64]*firewall{},
		render:    func(fw *firewall) any { return s.renderFirewall(fw) },
		sort:      []string{"name", "created"},
		checkName: checkName,
		deletable: func(fw *firewall) error {
			if len(fw.servers) > 0 || len(fw.selectors) > 0 {
				return errCode(http.StatusUnprocessableEntity, "resource_in_use", fmt.Sprintf("firewall %d is still applied to resources", fw.id))
			}
			return nil
		},
		actions: map[string]actionHandler[*firewall]{
			"set_rules": s.setRules, "apply_to_resources": s.applyToResources, "remove_from_resources": s.removeFromResources,
		},
		actionRoutes: true,
	}
	s.firewalls.routes()

	s.handle("POST /v1/firewalls", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name    string             `json:"name"`
			Labels  *map[string]string `json:"labels"`
			Rules   []firewallRule     `json:"rules"`
			ApplyTo []firewallResource `json:"apply_to"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkName(&f, req.Name)
		labels := checkLabels(&f, req.Labels)
		rules := checkRules(&f, req.Rules)
		s.checkResources(&f, "apply_to", req.ApplyTo)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if err := s.firewalls.unique(req.Name, 0); err != nil {
			return 0, nil, err
		}
		fw := &firewall{meta: s.firewalls.newMeta(req.Name, labels), rules: rules}
		actions, err := s.applyResources(fw, req.ApplyTo)
		if err != nil {
			return 0, nil, err
		}
		s.firewalls.put(fw)
		return http.StatusCreated, map[string]any{"firewall": s.renderFirewall(fw), "actions": s.renderActions(actions)}, nil
	})
}

func (s *Server) setRules(fw *firewall, r *http.Request) (int, any, error) {
	var req struct {
		Rules []firewallRule `json:"rules"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	var f fieldErrors
	rules := checkRules(&f, req.Rules)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	actions := []*action{s.startAction("set_firewall_rules", s.firewalls.change(fw.id, func(fw *firewall) { fw.rules = rules }), ref("firewall", fw.id))}
	for _, srv := range s.servers.sorted() {
		if fw.appliesTo(srv) {
			actions = append(actions, s.startAction("apply_firewall", nil, ref("firewall", fw.id), ref("server", srv.id)))
		}
	}
	return s.actionsStarted(actions, nil)
}

// actionsStarted is the 201 answer to an action on resources: one action per resource.
func (s *Server) actionsStarted(actions []*action, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"actions": s.renderActions(actions)}, nil
}

// firewallResources reads the resources of apply_to_resources (field apply_to) or
// remove_from_resources (remove_from).
func (s *Server) firewallResources(r *http.Request, field string) ([]firewallResource, error) {
	var req struct {
		ApplyTo    []firewallResource `json:"apply_to"`
		RemoveFrom []firewallResource `json:"remove_from"`
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	resources := req.ApplyTo
	if field == "remove_from" {
		resources = req.RemoveFrom
	}
	var f fieldErrors
	if len(resources) == 0 {
		f.add(field, "is required")
	}
	s.checkResources(&f, field, resources)
	return resources, f.err()
}

func (s *Server) applyToResources(fw *firewall, r *http.Request) (int, any, error) {
	resources, err := s.firewallResources(r, "apply_to")
	if err != nil {
		return 0, nil, err
	}
	return s.actionsStarted(s.applyResources(fw, resources))
}

// removeFromResources removes a firewall from resources. Removing it from one it is
// not applied to succeeds without change, as the API does since August 2025.
func (s *Server) removeFromResources(fw *firewall, r *http.Request) (int, any, error) {
	resources, err := s.firewallResources(r, "remove_from")
	if err != nil {
		return 0, nil, err
	}
	for _, res := range resources {
		if res.Type != "server" {
			continue
		}
		srv, ok := s.servers.items[res.Server.ID]
		if !ok {
			return 0, nil, errCode(http.StatusNotFound, "firewall_resource_not_found", fmt.Sprintf("server %d not found", res.Server.ID))
		}
		if !slices.Contains(fw.servers, srv.id) && fw.appliesTo(srv) {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "firewall_managed_by_label_selector", fmt.Sprintf("firewall %d is applied to server %d through a label selector", fw.id, srv.id))
		}
	}
	var actions []*action
	for _, res := range resources {
		if res.Type == "server" {
			serverID := res.Server.ID
			actions = append(actions, s.startAction("remove_firewall", s.firewalls.change(fw.id, func(fw *firewall) {
				fw.servers = slices.DeleteFunc(fw.servers, func(id int64) bool { return id == serverID })
			}), ref("firewall", fw.id), ref("server", serverID)))
			continue
		}
		sel := res.LabelSelector.Selector
		actions = append(actions, s.startAction("remove_firewall", s.firewalls.change(fw.id, func(fw *firewall) {
			fw.selectors = slices.DeleteFunc(fw.selectors, func(v string) bool { return v == sel })
		}), ref("firewall", fw.id)))
	}
	return s.actionsStarted(actions, nil)
}
