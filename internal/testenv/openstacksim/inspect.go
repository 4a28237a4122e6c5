package openstacksim

import (
	"maps"
	"slices"
)

// The inspection helpers below return snapshots of the simulated state in creation
// order, after applying the status changes that are due. They are for test assertions.

// ServerInfo describes a server.
type ServerInfo struct {
	ID, Name         string
	Status           string // BUILD, ACTIVE, SHUTOFF
	Deleting         bool
	FlavorID         string
	ImageID          string
	UserData         string // decoded, as the server's metadata service and config drive serve it
	HasUserData      bool
	ConfigDrive      bool
	Metadata         map[string]string
	Tags             []string
	AvailabilityZone string
	PortIDs          []string
	VolumeIDs        []string
}

// VolumeInfo describes a volume.
type VolumeInfo struct {
	ID, Name, Description string
	Size                  int
	Status                string
	VolumeType            string
	AvailabilityZone      string
	Metadata              map[string]string
	Attachments           []AttachmentInfo
}

// AttachmentInfo is a volume's attachment to a server.
type AttachmentInfo struct {
	ServerID string
	Device   string
}

// FloatingIPInfo describes a floating IP.
type FloatingIPInfo struct {
	ID, Address string
	NetworkID   string
	PortID      string // empty when not associated
	FixedIP     string
	RouterID    string
	Status      string
	Description string
	Tags        []string
}

// PortInfo describes a port.
type PortInfo struct {
	ID, Name         string
	NetworkID        string
	MAC              string
	Status           string
	DeviceID         string
	DeviceOwner      string
	FixedIPs         []string
	SubnetIDs        []string
	SecurityGroupIDs []string
	Tags             []string
}

// NetworkInfo describes a network.
type NetworkInfo struct {
	ID, Name  string
	External  bool
	SubnetIDs []string
	Tags      []string
	Seeded    bool // the cloud's, not made through the API
}

// SubnetInfo describes a subnet.
type SubnetInfo struct {
	ID, Name, NetworkID, CIDR, GatewayIP string
	Tags                                 []string
	Seeded                               bool
}

// RouterInfo describes a router.
type RouterInfo struct {
	ID, Name          string
	ExternalNetworkID string
	ExternalIPs       []string
	InterfacePortIDs  []string
	Tags              []string
}

// SecurityGroupInfo describes a security group and its rules.
type SecurityGroupInfo struct {
	ID, Name, Description string
	Default               bool
	Rules                 []RuleInfo
	Tags                  []string
}

// RuleInfo describes a security group rule.
type RuleInfo struct {
	ID, Direction, Ethertype, Protocol, RemoteIPPrefix, RemoteGroupID string
	PortMin, PortMax                                                  int // 0 when unset
	Description                                                       string
}

// ImageInfo describes an image.
type ImageInfo struct {
	ID, Name, Status, Visibility string
	Size                         int64
	Checksum                     string
	Properties                   map[string]string
}

func inspect[T, I any](s *Server, t *table[T], info func(T) I) []I {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []I
	for _, v := range t.list() {
		out = append(out, info(v))
	}
	return out
}

// Servers returns the servers, a server being deleted included.
func (s *Server) Servers() []ServerInfo {
	return inspect(s, &s.servers, func(srv *server) ServerInfo {
		info := ServerInfo{
			ID: srv.id, Name: srv.name, Status: srv.status, Deleting: srv.deleting, FlavorID: srv.flavorID,
			ImageID: srv.imageID, UserData: string(srv.userData), HasUserData: srv.hasUserData,
			ConfigDrive: srv.configDrive, Metadata: maps.Clone(srv.metadata), Tags: slices.Clone(srv.tags),
			AvailabilityZone: srv.availabilityZone, PortIDs: slices.Clone(srv.ports),
		}
		for _, v := range s.serverVolumes(srv.id) {
			info.VolumeIDs = append(info.VolumeIDs, v.id)
		}
		return info
	})
}

// Volumes returns the volumes with their attachments.
func (s *Server) Volumes() []VolumeInfo {
	return inspect(s, &s.volumes, func(v *volume) VolumeInfo {
		info := VolumeInfo{ID: v.id, Name: v.name, Description: v.description, Size: v.size, Status: v.status,
			VolumeType: v.volumeType.name, AvailabilityZone: v.availabilityZone, Metadata: maps.Clone(v.metadata)}
		if a := v.attachment; a != nil {
			info.Attachments = []AttachmentInfo{{ServerID: a.serverID, Device: a.device}}
		}
		return info
	})
}

// FloatingIPs returns the floating IPs.
func (s *Server) FloatingIPs() []FloatingIPInfo {
	return inspect(s, &s.floatingIPs.table, func(f *floatingIP) FloatingIPInfo {
		return FloatingIPInfo{ID: f.id, Address: f.address, NetworkID: f.networkID, PortID: f.portID, FixedIP: f.fixedIP,
			RouterID: f.routerID, Status: f.status, Description: f.description, Tags: slices.Clone(f.tags)}
	})
}

// Ports returns the ports, routers' interfaces included.
func (s *Server) Ports() []PortInfo {
	return inspect(s, &s.ports.table, func(pt *port) PortInfo {
		info := PortInfo{ID: pt.id, Name: pt.name, NetworkID: pt.networkID, MAC: pt.mac, Status: pt.status,
			DeviceID: pt.deviceID, DeviceOwner: pt.deviceOwner, SecurityGroupIDs: slices.Clone(pt.secGroups), Tags: slices.Clone(pt.tags)}
		for _, ip := range pt.fixedIPs {
			info.FixedIPs = append(info.FixedIPs, ip.ip)
			info.SubnetIDs = append(info.SubnetIDs, ip.subnetID)
		}
		return info
	})
}

// Networks returns the networks, the seeded external one included.
func (s *Server) Networks() []NetworkInfo {
	return inspect(s, &s.networks.table, func(n *network) NetworkInfo {
		info := NetworkInfo{ID: n.id, Name: n.name, External: n.external, Tags: slices.Clone(n.tags), Seeded: n.seeded}
		for _, sn := range s.networkSubnets(n.id) {
			info.SubnetIDs = append(info.SubnetIDs, sn.id)
		}
		return info
	})
}

// Subnets returns the subnets.
func (s *Server) Subnets() []SubnetInfo {
	return inspect(s, &s.subnets.table, func(sn *subnet) SubnetInfo {
		info := SubnetInfo{ID: sn.id, Name: sn.name, NetworkID: sn.networkID, CIDR: sn.prefix.String(), Tags: slices.Clone(sn.tags), Seeded: sn.seeded}
		if sn.gateway.IsValid() {
			info.GatewayIP = sn.gateway.String()
		}
		return info
	})
}

// Routers returns the routers.
func (s *Server) Routers() []RouterInfo {
	return inspect(s, &s.routers.table, func(rt *router) RouterInfo {
		info := RouterInfo{ID: rt.id, Name: rt.name, ExternalNetworkID: rt.gwNetworkID, Tags: slices.Clone(rt.tags)}
		for _, ip := range rt.gwIPs {
			info.ExternalIPs = append(info.ExternalIPs, ip.ip)
		}
		for _, pt := range s.routerInterfaces(rt.id) {
			info.InterfacePortIDs = append(info.InterfacePortIDs, pt.id)
		}
		return info
	})
}

// SecurityGroups returns the security groups with their rules, the project's default
// group included.
func (s *Server) SecurityGroups() []SecurityGroupInfo {
	return inspect(s, &s.secGroups.table, func(g *secGroup) SecurityGroupInfo {
		info := SecurityGroupInfo{ID: g.id, Name: g.name, Description: g.description, Default: g.isDefault, Tags: slices.Clone(g.tags)}
		deref := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		ideref := func(p *int) int {
			if p == nil {
				return 0
			}
			return *p
		}
		for _, r := range s.groupRules(g.id) {
			info.Rules = append(info.Rules, RuleInfo{ID: r.id, Direction: r.direction, Ethertype: r.ethertype,
				Protocol: deref(r.protocol), RemoteIPPrefix: deref(r.remoteIPPrefix), RemoteGroupID: deref(r.remoteGroupID),
				PortMin: ideref(r.portMin), PortMax: ideref(r.portMax), Description: r.description})
		}
		return info
	})
}

// Images returns the images.
func (s *Server) Images() []ImageInfo {
	return inspect(s, &s.images, func(im *image) ImageInfo {
		return ImageInfo{ID: im.id, Name: im.name, Status: im.status, Visibility: im.visibility, Size: im.size,
			Checksum: im.checksum, Properties: maps.Clone(im.properties)}
	})
}

// Leftovers lists, as "kind id name", every resource made through the API that still
// exists: after a destroy there should be none. The seeded cloud (external network,
// default security group, flavors, images added with AddImage) is not listed.
func (s *Server) Leftovers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	var out []string
	add := func(kind, id, name string) { out = append(out, kind+" "+id+" "+name) }
	for _, v := range s.servers.list() {
		add("server", v.id, v.name)
	}
	for _, v := range s.volumes.list() {
		add("volume", v.id, v.name)
	}
	s.networks.leftovers(add)
	s.subnets.leftovers(add)
	s.routers.leftovers(add)
	s.ports.leftovers(add)
	for _, v := range s.floatingIPs.list() {
		add("floatingip", v.id, v.address) // a floating IP has no name
	}
	s.secGroups.leftovers(add)
	for _, v := range s.images.list() {
		if !v.seeded {
			add("image", v.id, v.name)
		}
	}
	return out
}
