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

// inspect returns the infos of a kind's resources, ordered by ID, after completing
// the actions that are due.
func inspect[T resource, I any](s *Server, st *store[T], info func(T) I) []I {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []I
	for _, v := range st.sorted() {
		out = append(out, info(v))
	}
	return out
}

// Servers returns the servers.
func (s *Server) Servers() []ServerInfo {
	return inspect(s, s.servers, func(srv *server) ServerInfo {
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
			if key, ok := s.sshKeys.items[k]; ok {
				info.RescueSSHKeys = append(info.RescueSSHKeys, key.publicKey)
			}
		}
		if p := s.serverPrimaryIP(srv.id, "ipv4"); p != nil {
			info.IPv4ID = p.id
		}
		if p := s.serverPrimaryIP(srv.id, "ipv6"); p != nil {
			info.IPv6ID = p.id
		}
		return info
	})
}

// Images returns the images, system images included.
func (s *Server) Images() []ImageInfo {
	return inspect(s, s.images, func(im *image) ImageInfo {
		info := ImageInfo{im.id, im.name, im.Description, im.Type, im.status, im.Architecture, im.DiskSize, copyLabels(im.labels), 0}
		if im.createdFrom != nil {
			info.CreatedFromID = im.createdFrom.ID
		}
		return info
	})
}

// Volumes returns the volumes and the servers they are attached to.
func (s *Server) Volumes() []VolumeInfo {
	return inspect(s, s.volumes, func(v *volume) VolumeInfo {
		return VolumeInfo{v.id, v.name, v.size, v.loc.Name, v.server, v.linuxDevice(), v.status, v.format, copyLabels(v.labels), v.deleteProtection}
	})
}

// PrimaryIPs returns the primary IPs and their assignees.
func (s *Server) PrimaryIPs() []PrimaryIPInfo {
	return inspect(s, s.primaryIPs, func(p *primaryIP) PrimaryIPInfo {
		return PrimaryIPInfo{p.id, p.name, p.typ, p.ip, p.dc.name, p.assignee, p.autoDelete, copyLabels(p.labels), p.deleteProtection}
	})
}

// Firewalls returns the firewalls.
func (s *Server) Firewalls() []FirewallInfo {
	return inspect(s, s.firewalls, func(fw *firewall) FirewallInfo {
		info := FirewallInfo{ID: fw.id, Name: fw.name, Rules: len(fw.rules), Labels: copyLabels(fw.labels)}
		for _, srv := range s.servers.sorted() {
			if fw.appliesTo(srv) {
				info.ServerIDs = append(info.ServerIDs, srv.id)
			}
		}
		return info
	})
}

// SSHKeys returns the SSH keys.
func (s *Server) SSHKeys() []SSHKeyInfo {
	return inspect(s, s.sshKeys, func(k *sshKey) SSHKeyInfo {
		return SSHKeyInfo{k.id, k.name, k.fingerprint, k.publicKey, copyLabels(k.labels)}
	})
}

// Zones returns the DNS zones.
func (s *Server) Zones() []ZoneInfo {
	return inspect(s, s.zones, func(z *zone) ZoneInfo {
		return ZoneInfo{z.id, z.name, z.mode, z.ttl, z.json().AuthoritativeNameservers.Assigned, copyLabels(z.labels), z.deleteProtection}
	})
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
		info := RRSetInfo{z.name, rr.name, rr.typ, rr.json().TTL, nil, copyLabels(rr.labels), rr.changeProtection}
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
