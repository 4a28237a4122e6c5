package hcloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

type primaryIP struct {
	meta
	typ        string // ipv4 or ipv6
	ip         string // an address for ipv4, a /64 network for ipv6
	dc         *datacenter
	assignee   int64 // server ID, 0 when unassigned
	autoDelete bool
	blocked    bool
	dnsPtr     map[string]string
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
	p := &primaryIP{meta: s.primaryIPs.newMeta(name, copyLabels(labels)), typ: typ, dc: dc, assignee: assignee, autoDelete: autoDelete, dnsPtr: map[string]string{}}
	if p.name == "" {
		p.name = fmt.Sprintf("primary_ip-%d", p.id)
	}
	if typ == "ipv4" {
		s.ipv4Count++
		n := s.ipv4Count + 10
		p.ip = fmt.Sprintf("198.%d.%d.%d", 18+n>>16, n>>8&0xff, n&0xff)
		if len(s.nextIPv4s) > 0 {
			p.ip, s.nextIPv4s = s.nextIPv4s[0], s.nextIPv4s[1:]
		}
		parts := strings.Split(p.ip, ".")
		slices.Reverse(parts)
		p.dnsPtr[p.ip] = "static." + strings.Join(parts, ".") + ".clients.your-server.de"
	} else {
		s.ipv6Count++
		p.ip = fmt.Sprintf("2001:db8:%x::/64", s.ipv6Count)
	}
	return s.primaryIPs.put(p)
}

// contains reports whether an address belongs to the primary IP.
func (p *primaryIP) contains(addr netip.Addr) bool {
	if p.typ == "ipv4" {
		return addr.String() == p.ip
	}
	prefix, err := netip.ParsePrefix(p.ip)
	return err == nil && prefix.Contains(addr)
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
	}
	return s.servers.unlocked(srv)
}

func (s *Server) primaryIPRoutes() {
	s.primaryIPs = &store[*primaryIP]{
		sim: s, kind: "primary_ip", noun: "primary IP", collection: "primary_ips", items: map[int64]*primaryIP{},
		render: func(p *primaryIP) any { return s.renderPrimaryIP(p) },
		sort:   []string{"created"},
		filter: func(q url.Values) (func(*primaryIP) bool, error) {
			ip := q.Get("ip")
			return func(p *primaryIP) bool { return ip == "" || ip == p.ip || strings.TrimSuffix(p.ip, "/64") == ip }, nil
		},
		checkName: checkName,
		update: func(p *primaryIP, r *http.Request) error {
			var req struct {
				Name       *string            `json:"name"`
				Labels     *map[string]string `json:"labels"`
				AutoDelete *bool              `json:"auto_delete"`
			}
			if err := decodeBody(r, &req); err != nil {
				return err
			}
			if err := s.primaryIPs.rename(p, req.Name, req.Labels, &fieldErrors{}); err != nil {
				return err
			}
			if req.AutoDelete != nil {
				p.autoDelete = *req.AutoDelete
			}
			return nil
		},
		// A primary IP may be deleted while assigned, which unassigns it, but only
		// from a server that is off.
		deletable: func(p *primaryIP) error {
			if err := s.primaryIPs.unlocked(p); err != nil {
				return err
			}
			if srv, ok := s.servers.items[p.assignee]; ok && srv.status != "off" {
				return errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to delete its primary IP %d", srv.id, p.id))
			}
			return nil
		},
		actions: map[string]actionHandler[*primaryIP]{
			"assign": s.assignPrimaryIP, "unassign": s.unassignPrimaryIP, "change_dns_ptr": s.changeDNSPtr,
		},
		lockActions: true,
		protectable: true, protectRequired: true,
	}
	s.primaryIPs.routes()

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
		checkName(&f, req.Name)
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
			if srv = s.servers.items[*req.AssigneeID]; srv == nil {
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
		if err := s.primaryIPs.unique(req.Name, 0); err != nil {
			return 0, nil, err
		}
		if srv != nil {
			dc = srv.dc
			probe := &primaryIP{typ: req.Type, dc: dc}
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
}

func (s *Server) assignPrimaryIP(p *primaryIP, r *http.Request) (int, any, error) {
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
	srv, ok := s.servers.items[req.AssigneeID]
	if !ok {
		return 0, nil, invalidInput("assignee_id", "server %d not found", req.AssigneeID)
	}
	if err := s.checkAssignable(p, srv); err != nil {
		return 0, nil, err
	}
	serverID := srv.id
	return s.actionStarted(s.startAction("assign_primary_ip", s.primaryIPs.must(p.id, func(p *primaryIP) *actionFailure {
		if _, ok := s.servers.items[serverID]; !ok {
			return s.servers.gone(serverID)
		}
		p.assignee = serverID
		return nil
	}), ref("primary_ip", p.id), ref("server", serverID)))
}

func (s *Server) unassignPrimaryIP(p *primaryIP, r *http.Request) (int, any, error) {
	if p.assignee == 0 {
		return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", fmt.Sprintf("primary IP %d is not assigned", p.id))
	}
	if srv, ok := s.servers.items[p.assignee]; ok && srv.status != "off" {
		return 0, nil, errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to change its primary IPs", srv.id))
	}
	return s.actionStarted(s.startAction("unassign_primary_ip", s.primaryIPs.change(p.id, func(p *primaryIP) { p.assignee = 0 }), ref("primary_ip", p.id), ref("server", p.assignee)))
}

func (s *Server) changeDNSPtr(p *primaryIP, r *http.Request) (int, any, error) {
	var req struct {
		IP     string  `json:"ip"`
		DNSPtr *string `json:"dns_ptr"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	addr, err := netip.ParseAddr(req.IP)
	if err != nil || !p.contains(addr) {
		return 0, nil, invalidInput("ip", "%q is not an address of primary IP %d", req.IP, p.id)
	}
	ip := addr.String()
	return s.actionStarted(s.startAction("change_dns_ptr", s.primaryIPs.change(p.id, func(p *primaryIP) {
		if req.DNSPtr == nil || *req.DNSPtr == "" {
			delete(p.dnsPtr, ip)
		} else {
			p.dnsPtr[ip] = *req.DNSPtr
		}
	}), ref("primary_ip", p.id)))
}
