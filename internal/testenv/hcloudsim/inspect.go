package hcloudsim

import (
	"slices"
)

// The inspection helpers below return snapshots of the simulated state, ordered by
// ID, after completing the actions that are due. They are for test assertions.

// ServerInfo describes a simulated server.
type ServerInfo struct {
	ID               int64
	Name             string
	Status           string
	ServerType       string
	Datacenter       string
	Location         string
	ImageID          int64
	UserData         string
	SSHKeyIDs        []int64
	FirewallIDs      []int64
	IPv4ID           int64 // primary IP, 0 when none
	IPv6ID           int64
	VolumeIDs        []int64
	Labels           map[string]string
	DeleteProtection bool
	RescueEnabled    bool     // the next boot starts the rescue system
	InRescue         bool     // running the rescue system
	RescueSSHKeys    []string // public keys the rescue system lets in
}

// ImageInfo describes a simulated image.
type ImageInfo struct {
	ID            int64
	Name          string
	Description   string
	Type          string
	Status        string
	Architecture  string
	DiskSize      float64
	Labels        map[string]string
	CreatedFromID int64 // the server a snapshot was taken of, 0 when none
}

// VolumeInfo describes a simulated volume.
type VolumeInfo struct {
	ID               int64
	Name             string
	Size             int
	Location         string
	ServerID         int64 // 0 when detached
	LinuxDevice      string
	Status           string
	Format           string
	Labels           map[string]string
	DeleteProtection bool
}

// PrimaryIPInfo describes a simulated primary IP.
type PrimaryIPInfo struct {
	ID               int64
	Name             string
	Type             string // ipv4 or ipv6
	IP               string // the address, or the /64 network for ipv6
	Datacenter       string
	AssigneeID       int64 // server, 0 when unassigned
	AutoDelete       bool
	Labels           map[string]string
	DeleteProtection bool
}

// FirewallInfo describes a simulated firewall.
type FirewallInfo struct {
	ID        int64
	Name      string
	Rules     int
	ServerIDs []int64 // the servers it applies to, directly or by label selector
	Labels    map[string]string
}

// SSHKeyInfo describes a simulated SSH key.
type SSHKeyInfo struct {
	ID          int64
	Name        string
	Fingerprint string
	PublicKey   string
	Labels      map[string]string
}

// ZoneInfo describes a simulated DNS zone.
type ZoneInfo struct {
	ID               int64
	Name             string
	Mode             string
	TTL              int
	Nameservers      []string
	Labels           map[string]string
	DeleteProtection bool
}

// RRSetInfo describes a simulated RRSet of a zone.
type RRSetInfo struct {
	Zone             string
	Name             string
	Type             string
	TTL              *int
	Values           []string
	Labels           map[string]string
	ChangeProtection bool
}

// ActionInfo describes an action.
type ActionInfo struct {
	ID      int64
	Command string
	Status  string
}

// Servers returns the servers.
func (s *Server) Servers() []ServerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []ServerInfo
	for _, srv := range sortedValues(s.servers, func(srv *server) int64 { return srv.id }) {
		info := ServerInfo{
			ID:               srv.id,
			Name:             srv.name,
			Status:           srv.status,
			ServerType:       srv.typ.Name,
			Datacenter:       srv.dc.name,
			Location:         srv.dc.location.Name,
			ImageID:          srv.imageID,
			UserData:         srv.userData,
			SSHKeyIDs:        slices.Clone(srv.sshKeys),
			FirewallIDs:      s.serverFirewalls(srv),
			VolumeIDs:        s.serverVolumes(srv.id),
			Labels:           copyLabels(srv.labels),
			DeleteProtection: srv.deleteProtection,
			RescueEnabled:    srv.rescueEnabled,
			InRescue:         srv.inRescue,
		}
		for _, k := range srv.rescueSSHKeys {
			if key, ok := s.sshKeys[k]; ok {
				info.RescueSSHKeys = append(info.RescueSSHKeys, key.publicKey)
			}
		}
		if p := s.serverPrimaryIP(srv.id, "ipv4"); p != nil {
			info.IPv4ID = p.id
		}
		if p := s.serverPrimaryIP(srv.id, "ipv6"); p != nil {
			info.IPv6ID = p.id
		}
		out = append(out, info)
	}
	return out
}

// Images returns the images, system images included.
func (s *Server) Images() []ImageInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []ImageInfo
	for _, im := range sortedValues(s.images, func(im *image) int64 { return im.id }) {
		info := ImageInfo{
			ID:           im.id,
			Name:         im.Name,
			Description:  im.Description,
			Type:         im.Type,
			Status:       im.status,
			Architecture: im.Architecture,
			DiskSize:     im.DiskSize,
			Labels:       copyLabels(im.Labels),
		}
		if im.createdFrom != nil {
			info.CreatedFromID = im.createdFrom.ID
		}
		out = append(out, info)
	}
	return out
}

// Volumes returns the volumes and the servers they are attached to.
func (s *Server) Volumes() []VolumeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []VolumeInfo
	for _, v := range sortedValues(s.volumes, func(v *volume) int64 { return v.id }) {
		out = append(out, VolumeInfo{
			ID:               v.id,
			Name:             v.name,
			Size:             v.size,
			Location:         v.loc.Name,
			ServerID:         v.server,
			LinuxDevice:      v.linuxDevice(),
			Status:           v.status,
			Format:           v.format,
			Labels:           copyLabels(v.labels),
			DeleteProtection: v.deleteProtection,
		})
	}
	return out
}

// PrimaryIPs returns the primary IPs and their assignees.
func (s *Server) PrimaryIPs() []PrimaryIPInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []PrimaryIPInfo
	for _, p := range sortedValues(s.primaryIPs, func(p *primaryIP) int64 { return p.id }) {
		out = append(out, PrimaryIPInfo{
			ID:               p.id,
			Name:             p.name,
			Type:             p.typ,
			IP:               p.ip,
			Datacenter:       p.dc.name,
			AssigneeID:       p.assignee,
			AutoDelete:       p.autoDelete,
			Labels:           copyLabels(p.labels),
			DeleteProtection: p.deleteProtection,
		})
	}
	return out
}

// Firewalls returns the firewalls.
func (s *Server) Firewalls() []FirewallInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []FirewallInfo
	for _, fw := range sortedValues(s.firewalls, func(fw *firewall) int64 { return fw.id }) {
		info := FirewallInfo{ID: fw.id, Name: fw.name, Rules: len(fw.rules), Labels: copyLabels(fw.labels)}
		for _, srv := range sortedValues(s.servers, func(srv *server) int64 { return srv.id }) {
			if fw.appliesTo(srv) {
				info.ServerIDs = append(info.ServerIDs, srv.id)
			}
		}
		out = append(out, info)
	}
	return out
}

// SSHKeys returns the SSH keys.
func (s *Server) SSHKeys() []SSHKeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []SSHKeyInfo
	for _, k := range sortedValues(s.sshKeys, func(k *sshKey) int64 { return k.id }) {
		out = append(out, SSHKeyInfo{ID: k.id, Name: k.name, Fingerprint: k.fingerprint, PublicKey: k.publicKey, Labels: copyLabels(k.labels)})
	}
	return out
}

// Zones returns the DNS zones.
func (s *Server) Zones() []ZoneInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []ZoneInfo
	for _, z := range sortedValues(s.zones, func(z *zone) int64 { return z.id }) {
		out = append(out, ZoneInfo{
			ID:               z.id,
			Name:             z.name,
			Mode:             z.mode,
			TTL:              z.ttl,
			Nameservers:      z.json().AuthoritativeNameservers.Assigned,
			Labels:           copyLabels(z.labels),
			DeleteProtection: z.deleteProtection,
		})
	}
	return out
}

// RRSets returns the RRSets of a zone, given by name or ID, including the SOA and
// NS RRSets the API manages; nil when there is no such zone.
func (s *Server) RRSets(zoneIDOrName string) []RRSetInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	z := s.lookupZone(zoneIDOrName)
	if z == nil {
		return nil
	}
	out := []RRSetInfo{}
	for _, rr := range z.rrsets {
		info := RRSetInfo{
			Zone:             z.name,
			Name:             rr.name,
			Type:             rr.typ,
			TTL:              rr.json().TTL,
			Labels:           copyLabels(rr.labels),
			ChangeProtection: rr.changeProtection,
		}
		for _, rec := range rr.records {
			info.Values = append(info.Values, rec.Value)
		}
		out = append(out, info)
	}
	return out
}

// Actions returns every action started so far.
func (s *Server) Actions() []ActionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []ActionInfo
	for _, a := range sortedValues(s.actions, func(a *action) int64 { return a.id }) {
		out = append(out, ActionInfo{ID: a.id, Command: a.command, Status: a.status})
	}
	return out
}
