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
	id        int64
	name      string
	labels    map[string]string
	created   time.Time
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
		for _, srv := range sortedValues(s.servers, func(srv *server) int64 { return srv.id }) {
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
			srv, ok := s.servers[res.Server.ID]
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
			actions = append(actions, s.startAction("apply_firewall", func() *actionFailure {
				fw, ok := s.firewalls[id]
				if !ok {
					return &actionFailure{"firewall_not_found", fmt.Sprintf("firewall %d no longer exists", id)}
				}
				if _, ok := s.servers[serverID]; !ok {
					return &actionFailure{"firewall_resource_not_found", fmt.Sprintf("server %d no longer exists", serverID)}
				}
				if !slices.Contains(fw.servers, serverID) {
					fw.servers = append(fw.servers, serverID)
				}
				return nil
			}, ref("firewall", id), ref("server", serverID)))
			continue
		}
		sel := res.LabelSelector.Selector
		actions = append(actions, s.startAction("apply_firewall", func() *actionFailure {
			if fw, ok := s.firewalls[id]; ok && !slices.Contains(fw.selectors, sel) {
				fw.selectors = append(fw.selectors, sel)
			}
			return nil
		}, ref("firewall", id)))
	}
	return actions, nil
}

func (s *Server) firewallFromPath(r *http.Request) (*firewall, error) {
	id, err := pathID(r, "firewall")
	if err != nil {
		return nil, err
	}
	fw, ok := s.firewalls[id]
	if !ok {
		return nil, errNotFound("firewall", id)
	}
	return fw, nil
}

func (s *Server) firewallNameTaken(name string, except int64) bool {
	for _, fw := range s.firewalls {
		if fw.name == name && fw.id != except {
			return true
		}
	}
	return false
}

func (s *Server) firewallRoutes() {
	s.handle("GET /v1/firewalls", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		var list []*firewall
		for _, fw := range s.firewalls {
			if f.matches(fw.name, fw.labels) {
				list = append(list, fw)
			}
		}
		if err := sortList(q, list, sortKeys[*firewall]{
			"id":      byID(func(fw *firewall) int64 { return fw.id }),
			"name":    byString(func(fw *firewall) string { return fw.name }),
			"created": func(a, b *firewall) int { return a.created.Compare(b.created) },
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]firewallJSON, 0, len(page))
		for _, fw := range page {
			out = append(out, s.renderFirewall(fw))
		}
		return http.StatusOK, map[string]any{"firewalls": out, "meta": meta}, nil
	})

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
		checkName(&f, "name", req.Name)
		labels := checkLabels(&f, req.Labels)
		rules := checkRules(&f, req.Rules)
		s.checkResources(&f, "apply_to", req.ApplyTo)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if s.firewallNameTaken(req.Name, 0) {
			return 0, nil, errUniqueness("name", fmt.Sprintf("firewall with name %q already exists", req.Name))
		}
		fw := &firewall{id: s.newID("firewall"), name: req.Name, labels: labels, created: s.now(), rules: rules}
		actions, err := s.applyResources(fw, req.ApplyTo)
		if err != nil {
			return 0, nil, err
		}
		s.firewalls[fw.id] = fw
		return http.StatusCreated, map[string]any{"firewall": s.renderFirewall(fw), "actions": s.renderActions(actions)}, nil
	})

	s.handle("GET /v1/firewalls/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"firewall": s.renderFirewall(fw)}, nil
	})

	s.handle("PUT /v1/firewalls/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			Name   *string            `json:"name"`
			Labels *map[string]string `json:"labels"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		if req.Name != nil {
			checkName(&f, "name", *req.Name)
		}
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if req.Name != nil {
			if s.firewallNameTaken(*req.Name, fw.id) {
				return 0, nil, errUniqueness("name", fmt.Sprintf("firewall with name %q already exists", *req.Name))
			}
			fw.name = *req.Name
		}
		if req.Labels != nil {
			fw.labels = labels
		}
		return http.StatusOK, map[string]any{"firewall": s.renderFirewall(fw)}, nil
	})

	s.handle("DELETE /v1/firewalls/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		if len(fw.servers) > 0 || len(fw.selectors) > 0 {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "resource_in_use", fmt.Sprintf("firewall %d is still applied to resources", fw.id))
		}
		delete(s.firewalls, fw.id)
		return http.StatusNoContent, nil, nil
	})

	s.handle("POST /v1/firewalls/{id}/actions/set_rules", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
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
		id := fw.id
		actions := []*action{s.startAction("set_firewall_rules", func() *actionFailure {
			if fw, ok := s.firewalls[id]; ok {
				fw.rules = rules
			}
			return nil
		}, ref("firewall", id))}
		for _, srv := range sortedValues(s.servers, func(srv *server) int64 { return srv.id }) {
			if fw.appliesTo(srv) {
				actions = append(actions, s.startAction("apply_firewall", nil, ref("firewall", id), ref("server", srv.id)))
			}
		}
		return http.StatusCreated, map[string]any{"actions": s.renderActions(actions)}, nil
	})

	s.handle("POST /v1/firewalls/{id}/actions/apply_to_resources", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			ApplyTo []firewallResource `json:"apply_to"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		if len(req.ApplyTo) == 0 {
			f.add("apply_to", "is required")
		}
		s.checkResources(&f, "apply_to", req.ApplyTo)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		actions, err := s.applyResources(fw, req.ApplyTo)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, map[string]any{"actions": s.renderActions(actions)}, nil
	})

	// Removing a firewall from a resource it is not applied to succeeds without
	// change, as the API does since August 2025.
	s.handle("POST /v1/firewalls/{id}/actions/remove_from_resources", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fw, err := s.firewallFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			RemoveFrom []firewallResource `json:"remove_from"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		if len(req.RemoveFrom) == 0 {
			f.add("remove_from", "is required")
		}
		s.checkResources(&f, "remove_from", req.RemoveFrom)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		for _, res := range req.RemoveFrom {
			if res.Type != "server" {
				continue
			}
			srv, ok := s.servers[res.Server.ID]
			if !ok {
				return 0, nil, errCode(http.StatusNotFound, "firewall_resource_not_found", fmt.Sprintf("server %d not found", res.Server.ID))
			}
			if !slices.Contains(fw.servers, srv.id) && fw.appliesTo(srv) {
				return 0, nil, errCode(http.StatusUnprocessableEntity, "firewall_managed_by_label_selector", fmt.Sprintf("firewall %d is applied to server %d through a label selector", fw.id, srv.id))
			}
		}
		id := fw.id
		var actions []*action
		for _, res := range req.RemoveFrom {
			if res.Type == "server" {
				serverID := res.Server.ID
				actions = append(actions, s.startAction("remove_firewall", func() *actionFailure {
					if fw, ok := s.firewalls[id]; ok {
						fw.servers = slices.DeleteFunc(fw.servers, func(sid int64) bool { return sid == serverID })
					}
					return nil
				}, ref("firewall", id), ref("server", serverID)))
				continue
			}
			sel := res.LabelSelector.Selector
			actions = append(actions, s.startAction("remove_firewall", func() *actionFailure {
				if fw, ok := s.firewalls[id]; ok {
					fw.selectors = slices.DeleteFunc(fw.selectors, func(v string) bool { return v == sel })
				}
				return nil
			}, ref("firewall", id)))
		}
		return http.StatusCreated, map[string]any{"actions": s.renderActions(actions)}, nil
	})
}
