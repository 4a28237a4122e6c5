package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

type primaryIP struct {
	id               int64
	name             string
	typ              string // ipv4 or ipv6
	ip               string // an address for ipv4, a /64 network for ipv6
	dc               *datacenter
	assignee         int64 // server ID, 0 when unassigned
	autoDelete       bool
	blocked          bool
	labels           map[string]string
	deleteProtection bool
	dnsPtr           map[string]string
	created          time.Time
}

type primaryIPJSON struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	Labels       map[string]string `json:"labels"`
	Created      time.Time         `json:"created"`
	Blocked      bool              `json:"blocked"`
	Datacenter   datacenterJSON    `json:"datacenter"`
	Location     locationJSON      `json:"location"`
	IP           string            `json:"ip"`
	DNSPtr       []dnsPtrJSON      `json:"dns_ptr"`
	Protection   protectionJSON    `json:"protection"`
	Type         string            `json:"type"`
	AutoDelete   bool              `json:"auto_delete"`
	AssigneeType string            `json:"assignee_type"`
	AssigneeID   *int64            `json:"assignee_id"`
}

func (s *Server) renderPrimaryIP(p *primaryIP) primaryIPJSON {
	out := primaryIPJSON{
		ID:           p.id,
		Name:         p.name,
		Labels:       copyLabels(p.labels),
		Created:      p.created,
		Blocked:      p.blocked,
		Datacenter:   s.renderDatacenter(p.dc),
		Location:     p.dc.location.json(),
		IP:           p.ip,
		DNSPtr:       p.dnsPtrList(),
		Protection:   protectionJSON{Delete: p.deleteProtection},
		Type:         p.typ,
		AutoDelete:   p.autoDelete,
		AssigneeType: "server",
	}
	if p.assignee != 0 {
		id := p.assignee
		out.AssigneeID = &id
	}
	return out
}

func (p *primaryIP) dnsPtrList() []dnsPtrJSON {
	out := []dnsPtrJSON{}
	for _, ip := range slicesSortedKeys(p.dnsPtr) {
		out = append(out, dnsPtrJSON{IP: ip, DNSPtr: p.dnsPtr[ip]})
	}
	return out
}

func slicesSortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newPrimaryIP allocates the next address of a type: IPv4 addresses come from
// 198.18.0.0/15 and IPv6 /64 networks from 2001:db8::/32, both reserved for tests
// and documentation. An empty name becomes primary_ip-<id>, as the API names the
// primary IPs it creates for servers.
func (s *Server) newPrimaryIP(name, typ string, dc *datacenter, assignee int64, autoDelete bool, labels map[string]string) *primaryIP {
	p := &primaryIP{
		id:         s.newID("primary_ip"),
		name:       name,
		typ:        typ,
		dc:         dc,
		assignee:   assignee,
		autoDelete: autoDelete,
		labels:     copyLabels(labels),
		dnsPtr:     map[string]string{},
		created:    s.now(),
	}
	if p.name == "" {
		p.name = fmt.Sprintf("primary_ip-%d", p.id)
	}
	if typ == "ipv4" {
		s.ipv4Count++
		n := s.ipv4Count + 10
		p.ip = fmt.Sprintf("198.%d.%d.%d", 18+n>>16, n>>8&0xff, n&0xff)
		parts := strings.Split(p.ip, ".")
		slices.Reverse(parts)
		p.dnsPtr[p.ip] = "static." + strings.Join(parts, ".") + ".clients.your-server.de"
	} else {
		s.ipv6Count++
		p.ip = fmt.Sprintf("2001:db8:%x::/64", s.ipv6Count)
	}
	s.primaryIPs[p.id] = p
	return p
}

// contains reports whether an address belongs to the primary IP.
func (p *primaryIP) contains(addr netip.Addr) bool {
	if p.typ == "ipv4" {
		return addr.String() == p.ip
	}
	prefix, err := netip.ParsePrefix(p.ip)
	return err == nil && prefix.Contains(addr)
}

func (s *Server) primaryIPNameTaken(name string, except int64) bool {
	for _, p := range s.primaryIPs {
		if p.name == name && p.id != except {
			return true
		}
	}
	return false
}

func (s *Server) primaryIPFromPath(r *http.Request) (*primaryIP, error) {
	id, err := pathID(r, "primary IP")
	if err != nil {
		return nil, err
	}
	p, ok := s.primaryIPs[id]
	if !ok {
		return nil, errNotFound("primary IP", id)
	}
	return p, nil
}

// checkAssignable checks that a primary IP may be assigned to a server now.
func (s *Server) checkAssignable(p *primaryIP, srv *server) error {
	switch {
	case p.assignee != 0:
		return errCode(http.StatusUnprocessableEntity, "primary_ip_already_assigned", fmt.Sprintf("primary IP %d is already assigned to server %d", p.id, p.assignee))
	case p.dc != srv.dc:
		return errCode(http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", fmt.Sprintf("primary IP %d is in datacenter %s, server %d in %s", p.id, p.dc.name, srv.id, srv.dc.name))
	case srv.status != "off":
		return errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to change its primary IPs", srv.id))
	case s.serverPrimaryIP(srv.id, p.typ) != nil:
		return errCode(http.StatusUnprocessableEntity, "server_has_"+p.typ, fmt.Sprintf("server %d already has an %s primary IP", srv.id, p.typ))
	case s.busy("server", srv.id):
		return errLocked("server", srv.id)
	}
	return nil
}

func (s *Server) primaryIPRoutes() {
	s.handle("GET /v1/primary_ips", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		ip := q.Get("ip")
		var list []*primaryIP
		for _, p := range s.primaryIPs {
			if f.matches(p.name, p.labels) && (ip == "" || ip == p.ip || strings.TrimSuffix(p.ip, "/64") == ip) {
				list = append(list, p)
			}
		}
		if err := sortList(q, list, sortKeys[*primaryIP]{
			"id":      byID(func(p *primaryIP) int64 { return p.id }),
			"created": func(a, b *primaryIP) int { return a.created.Compare(b.created) },
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]primaryIPJSON, 0, len(page))
		for _, p := range page {
			out = append(out, s.renderPrimaryIP(p))
		}
		return http.StatusOK, map[string]any{"primary_ips": out, "meta": meta}, nil
	})

	s.handle("POST /v1/primary_ips", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name         string             `json:"name"`
			Type         string             `json:"type"`
			AssigneeType string             `json:"assignee_type"`
			AssigneeID   *int64             `json:"assignee_id"`
			Labels       *map[string]string `json:"labels"`
			AutoDelete   *bool              `json:"auto_delete"`
			Datacenter   idOrName           `json:"datacenter"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkName(&f, "name", req.Name)
		if req.Type != "ipv4" && req.Type != "ipv6" {
			f.add("type", "must be ipv4 or ipv6")
		}
		if req.AssigneeType != "server" {
			f.add("assignee_type", "must be server")
		}
		labels := checkLabels(&f, req.Labels)
		var dc *datacenter
		var srv *server
		switch {
		case req.AssigneeID != nil && req.Datacenter.set:
			f.add("datacenter", "must not be given together with assignee_id")
		case req.AssigneeID != nil:
			if srv = s.servers[*req.AssigneeID]; srv == nil {
				f.add("assignee_id", "server %d not found", *req.AssigneeID)
			}
		case req.Datacenter.set:
			if dc = s.lookupDatacenter(req.Datacenter.String()); dc == nil {
				f.add("datacenter", "datacenter %s not found", req.Datacenter)
			}
		default:
			f.add("datacenter", "datacenter or assignee_id is required")
		}
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if s.primaryIPNameTaken(req.Name, 0) {
			return 0, nil, errUniqueness("name", fmt.Sprintf("primary IP with name %q already exists", req.Name))
		}
		if srv != nil {
			dc = srv.dc
			probe := &primaryIP{id: 0, typ: req.Type, dc: dc}
			if err := s.checkAssignable(probe, srv); err != nil {
				return 0, nil, err
			}
		}
		p := s.newPrimaryIP(req.Name, req.Type, dc, 0, req.AutoDelete != nil && *req.AutoDelete, labels)
		var create any
		if srv != nil {
			p.assignee = srv.id
			create = s.renderAction(s.startAction("create_primary_ip", nil, ref("primary_ip", p.id), ref("server", srv.id)))
		}
		return http.StatusCreated, map[string]any{"primary_ip": s.renderPrimaryIP(p), "action": create}, nil
	})

	s.handle("GET /v1/primary_ips/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := s.primaryIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"primary_ip": s.renderPrimaryIP(p)}, nil
	})

	s.handle("PUT /v1/primary_ips/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := s.primaryIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			Name       *string            `json:"name"`
			Labels     *map[string]string `json:"labels"`
			AutoDelete *bool              `json:"auto_delete"`
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
			if s.primaryIPNameTaken(*req.Name, p.id) {
				return 0, nil, errUniqueness("name", fmt.Sprintf("primary IP with name %q already exists", *req.Name))
			}
			p.name = *req.Name
		}
		if req.Labels != nil {
			p.labels = labels
		}
		if req.AutoDelete != nil {
			p.autoDelete = *req.AutoDelete
		}
		return http.StatusOK, map[string]any{"primary_ip": s.renderPrimaryIP(p)}, nil
	})

	// A primary IP may be deleted while assigned, which unassigns it, but only from
	// a server that is off.
	s.handle("DELETE /v1/primary_ips/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := s.primaryIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		if p.deleteProtection {
			return 0, nil, errProtected(fmt.Sprintf("primary IP %d is delete protected", p.id))
		}
		if s.busy("primary_ip", p.id) {
			return 0, nil, errLocked("primary IP", p.id)
		}
		if srv, ok := s.servers[p.assignee]; ok && srv.status != "off" {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to delete its primary IP %d", srv.id, p.id))
		}
		delete(s.primaryIPs, p.id)
		return http.StatusNoContent, nil, nil
	})

	s.handle("POST /v1/primary_ips/{id}/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := s.primaryIPFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.primaryIPAction(p, r.PathValue("action"), r)
	})
}

func (s *Server) primaryIPAction(p *primaryIP, name string, r *http.Request) (int, any, error) {
	if !slices.Contains([]string{"assign", "unassign", "change_protection", "change_dns_ptr"}, name) {
		return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("primary IP action %q not found", name))
	}
	if s.busy("primary_ip", p.id) {
		return 0, nil, errLocked("primary IP", p.id)
	}
	id := p.id
	created := s.actionStarted

	switch name {
	case "assign":
		var req struct {
			AssigneeID   int64  `json:"assignee_id"`
			AssigneeType string `json:"assignee_type"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if req.AssigneeType != "server" {
			return 0, nil, invalidInput("assignee_type", "must be server")
		}
		srv, ok := s.servers[req.AssigneeID]
		if !ok {
			return 0, nil, invalidInput("assignee_id", "server %d not found", req.AssigneeID)
		}
		if err := s.checkAssignable(p, srv); err != nil {
			return 0, nil, err
		}
		serverID := srv.id
		return created(s.startAction("assign_primary_ip", func() *actionFailure {
			p, ok := s.primaryIPs[id]
			if !ok {
				return &actionFailure{"primary_ip_not_found", fmt.Sprintf("primary IP %d no longer exists", id)}
			}
			if _, ok := s.servers[serverID]; !ok {
				return &actionFailure{"server_not_found", fmt.Sprintf("server %d no longer exists", serverID)}
			}
			p.assignee = serverID
			return nil
		}, ref("primary_ip", id), ref("server", serverID)))

	case "unassign":
		if p.assignee == 0 {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", fmt.Sprintf("primary IP %d is not assigned", id))
		}
		if srv, ok := s.servers[p.assignee]; ok && srv.status != "off" {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to change its primary IPs", srv.id))
		}
		serverID := p.assignee
		return created(s.startAction("unassign_primary_ip", func() *actionFailure {
			if p, ok := s.primaryIPs[id]; ok {
				p.assignee = 0
			}
			return nil
		}, ref("primary_ip", id), ref("server", serverID)))

	case "change_dns_ptr":
		var req struct {
			IP     string  `json:"ip"`
			DNSPtr *string `json:"dns_ptr"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		addr, err := netip.ParseAddr(req.IP)
		if err != nil || !p.contains(addr) {
			return 0, nil, invalidInput("ip", "%q is not an address of primary IP %d", req.IP, id)
		}
		ip := addr.String()
		return created(s.startAction("change_dns_ptr", func() *actionFailure {
			if p, ok := s.primaryIPs[id]; ok {
				if req.DNSPtr == nil || *req.DNSPtr == "" {
					delete(p.dnsPtr, ip)
				} else {
					p.dnsPtr[ip] = *req.DNSPtr
				}
			}
			return nil
		}, ref("primary_ip", id)))

	default: // change_protection
		var req struct {
			Delete *bool `json:"delete"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if req.Delete == nil {
			return 0, nil, invalidInput("delete", "is required")
		}
		protect := *req.Delete
		return created(s.startAction("change_protection", func() *actionFailure {
			if p, ok := s.primaryIPs[id]; ok {
				p.deleteProtection = protect
			}
			return nil
		}, ref("primary_ip", id)))
	}
}
