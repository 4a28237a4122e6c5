package hcloudsim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// maxUserData is the API's limit on a server's user_data.
const maxUserData = 32 * 1024

type server struct {
	meta
	status            string
	typ               *serverType
	dc                *datacenter
	imageID           int64
	userData          string
	sshKeys           []int64
	rebuildProtection bool
	backupWindow      string
	rescueEnabled     bool
	rescueSSHKeys     []int64 // the keys the rescue system lets in
	inRescue          bool    // booted into the rescue system
}

type serverJSON struct {
	ID              int64             `json:"id"`
	Name            string            `json:"name"`
	Status          string            `json:"status"`
	Created         time.Time         `json:"created"`
	PublicNet       publicNetJSON     `json:"public_net"`
	PrivateNet      []any             `json:"private_net"`
	ServerType      serverTypeJSON    `json:"server_type"`
	Datacenter      datacenterJSON    `json:"datacenter"`
	Image           *imageJSON        `json:"image"`
	ISO             any               `json:"iso"`
	RescueEnabled   bool              `json:"rescue_enabled"`
	Locked          bool              `json:"locked"`
	BackupWindow    *string           `json:"backup_window"`
	OutgoingTraffic int64             `json:"outgoing_traffic"`
	IngoingTraffic  int64             `json:"ingoing_traffic"`
	IncludedTraffic int64             `json:"included_traffic"`
	Protection      serverProtection  `json:"protection"`
	Labels          map[string]string `json:"labels"`
	Volumes         []int64           `json:"volumes"`
	LoadBalancers   []int64           `json:"load_balancers"`
	PrimaryDiskSize int               `json:"primary_disk_size"`
	PlacementGroup  any               `json:"placement_group"`
}

type serverProtection struct {
	Delete  bool `json:"delete"`
	Rebuild bool `json:"rebuild"`
}

type publicNetJSON struct {
	IPv4        *publicIPv4JSON      `json:"ipv4"`
	IPv6        *publicIPv6JSON      `json:"ipv6"`
	FloatingIPs []int64              `json:"floating_ips"`
	Firewalls   []serverFirewallJSON `json:"firewalls"`
}

type publicIPv4JSON struct {
	ID      int64  `json:"id"`
	IP      string `json:"ip"`
	Blocked bool   `json:"blocked"`
	DNSPtr  string `json:"dns_ptr"`
}

type publicIPv6JSON struct {
	ID      int64        `json:"id"`
	IP      string       `json:"ip"`
	Blocked bool         `json:"blocked"`
	DNSPtr  []dnsPtrJSON `json:"dns_ptr"`
}

type dnsPtrJSON struct {
	IP     string `json:"ip"`
	DNSPtr string `json:"dns_ptr"`
}

type serverFirewallJSON struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

func (s *Server) renderServer(srv *server) serverJSON {
	out := serverJSON{
		ID:              srv.id,
		Name:            srv.name,
		Status:          srv.status,
		Created:         srv.created,
		PrivateNet:      []any{},
		ServerType:      s.renderServerType(srv.typ),
		Datacenter:      s.renderDatacenter(srv.dc),
		RescueEnabled:   srv.rescueEnabled,
		Locked:          s.busy("server", srv.id),
		IncludedTraffic: 20 << 40,
		Protection:      serverProtection{Delete: srv.deleteProtection, Rebuild: srv.rebuildProtection},
		Labels:          copyLabels(srv.labels),
		Volumes:         s.serverVolumes(srv.id),
		LoadBalancers:   []int64{},
		PrimaryDiskSize: srv.typ.Disk,
		PublicNet: publicNetJSON{
			FloatingIPs: []int64{},
			Firewalls:   []serverFirewallJSON{},
		},
	}
	if im, ok := s.images.items[srv.imageID]; ok {
		j := im.json()
		out.Image = &j
	}
	if srv.backupWindow != "" {
		w := srv.backupWindow
		out.BackupWindow = &w
	}
	if p := s.serverPrimaryIP(srv.id, "ipv4"); p != nil {
		out.PublicNet.IPv4 = &publicIPv4JSON{ID: p.id, IP: p.ip, Blocked: p.blocked, DNSPtr: p.dnsPtr[p.ip]}
	}
	if p := s.serverPrimaryIP(srv.id, "ipv6"); p != nil {
		out.PublicNet.IPv6 = &publicIPv6JSON{ID: p.id, IP: p.ip, Blocked: p.blocked, DNSPtr: p.dnsPtrList()}
	}
	for _, id := range s.serverFirewalls(srv) {
		out.PublicNet.Firewalls = append(out.PublicNet.Firewalls, serverFirewallJSON{ID: id, Status: "applied"})
	}
	return out
}

// serverPrimaryIP returns the primary IP of a type assigned to a server.
func (s *Server) serverPrimaryIP(serverID int64, typ string) *primaryIP {
	for _, p := range s.primaryIPs.sorted() {
		if p.assignee == serverID && p.typ == typ {
			return p
		}
	}
	return nil
}

// serverVolumes returns the IDs of the volumes attached to a server.
func (s *Server) serverVolumes(serverID int64) []int64 {
	ids := []int64{}
	for _, v := range s.volumes.sorted() {
		if v.server == serverID {
			ids = append(ids, v.id)
		}
	}
	return ids
}

// serverFirewalls returns the IDs of the firewalls applied to a server, directly
// or through a label selector.
func (s *Server) serverFirewalls(srv *server) []int64 {
	var ids []int64
	for _, fw := range s.firewalls.sorted() {
		if fw.appliesTo(srv) {
			ids = append(ids, fw.id)
		}
	}
	return ids
}

// hostname is a valid hostname as per RFC 1123.
var hostname = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

func checkHostname(f *fieldErrors, name string) {
	switch {
	case name == "":
		f.add("name", "is required")
	case len(name) > 253 || !hostname.MatchString(name):
		f.add("name", "must be a valid hostname as per RFC 1123")
	}
}

type serverCreateRequest struct {
	Name             string             `json:"name"`
	ServerType       idOrName           `json:"server_type"`
	Image            idOrName           `json:"image"`
	Location         idOrName           `json:"location"`
	Datacenter       idOrName           `json:"datacenter"`
	SSHKeys          []idOrName         `json:"ssh_keys"`
	UserData         string             `json:"user_data"`
	StartAfterCreate *bool              `json:"start_after_create"`
	Labels           *map[string]string `json:"labels"`
	Automount        *bool              `json:"automount"`
	Volumes          []int64            `json:"volumes"`
	Networks         []int64            `json:"networks"`
	Firewalls        []struct {
		Firewall int64 `json:"firewall"`
	} `json:"firewalls"`
	PlacementGroup int64 `json:"placement_group"`
	PublicNet      *struct {
		EnableIPv4 *bool `json:"enable_ipv4"`
		EnableIPv6 *bool `json:"enable_ipv6"`
		IPv4       int64 `json:"ipv4"`
		IPv6       int64 `json:"ipv6"`
	} `json:"public_net"`
}

func (s *Server) createServer(r *http.Request) (int, any, error) {
	var req serverCreateRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	var f fieldErrors
	checkHostname(&f, req.Name)
	labels := checkLabels(&f, req.Labels)

	typ := s.lookupServerType(req.ServerType)
	if !req.ServerType.set {
		f.add("server_type", "is required")
	} else if typ == nil {
		f.add("server_type", "server type %s not found", req.ServerType)
	}

	var dc *datacenter
	var loc *location
	switch {
	case req.Location.set && req.Datacenter.set:
		f.add("location", "must not be given together with datacenter")
	case req.Datacenter.set:
		if dc = s.lookupDatacenter(req.Datacenter.String()); dc == nil {
			f.add("datacenter", "datacenter %s not found", req.Datacenter)
		}
	case req.Location.set:
		if loc = s.lookupLocation(req.Location.String()); loc == nil {
			f.add("location", "location %s not found", req.Location)
		}
	}

	var img *image
	if !req.Image.set {
		f.add("image", "is required")
	} else if typ != nil {
		img = s.lookupImage(req.Image, typ.Architecture)
		switch {
		case img == nil:
			f.add("image", "image %s not found for architecture %s", req.Image, typ.Architecture)
		case img.status != "available":
			f.add("image", "image %d is not available", img.id)
		case img.Architecture != typ.Architecture:
			f.add("image", "image %d is for architecture %s, server type %s is %s", img.id, img.Architecture, typ.Name, typ.Architecture)
		case img.DiskSize > float64(typ.Disk):
			f.add("image", "image %d needs a disk of %g GB, server type %s has %d GB", img.id, img.DiskSize, typ.Name, typ.Disk)
		}
	}

	var sshKeys []int64
	for _, want := range req.SSHKeys {
		var key *sshKey
		for _, k := range s.sshKeys.items {
			if (want.id != 0 && k.id == want.id) || (want.id == 0 && k.name == want.name) {
				key = k
			}
		}
		if key == nil {
			f.add("ssh_keys", "SSH key %s not found", want)
			continue
		}
		sshKeys = append(sshKeys, key.id)
	}
	if len(req.UserData) > maxUserData {
		f.add("user_data", "is too long: %d bytes, at most %d allowed", len(req.UserData), maxUserData)
	}
	var firewalls []int64
	for _, fw := range req.Firewalls {
		if _, ok := s.firewalls.items[fw.Firewall]; !ok {
			f.add("firewalls", "firewall %d not found", fw.Firewall)
			continue
		}
		if !slices.Contains(firewalls, fw.Firewall) {
			firewalls = append(firewalls, fw.Firewall)
		}
	}
	for _, id := range req.Networks {
		f.add("networks", "network %d not found", id)
	}
	if req.PlacementGroup != 0 {
		f.add("placement_group", "placement group %d not found", req.PlacementGroup)
	}
	var volumes []*volume
	for _, id := range req.Volumes {
		v, ok := s.volumes.items[id]
		if !ok {
			f.add("volumes", "volume %d not found", id)
			continue
		}
		volumes = append(volumes, v)
	}
	if req.Automount != nil && *req.Automount && len(req.Volumes) == 0 {
		f.add("automount", "requires volumes")
	}

	enableIPv4, enableIPv6 := true, true
	var ipv4, ipv6 *primaryIP
	if pn := req.PublicNet; pn != nil {
		enableIPv4 = pn.EnableIPv4 == nil || *pn.EnableIPv4
		enableIPv6 = pn.EnableIPv6 == nil || *pn.EnableIPv6
		if pn.IPv4 != 0 {
			if !enableIPv4 {
				f.add("public_net", "ipv4 must not be given when enable_ipv4 is false")
			} else if ipv4 = s.primaryIPs.items[pn.IPv4]; ipv4 == nil {
				f.add("public_net", "primary IP %d not found", pn.IPv4)
			}
		}
		if pn.IPv6 != 0 {
			if !enableIPv6 {
				f.add("public_net", "ipv6 must not be given when enable_ipv6 is false")
			} else if ipv6 = s.primaryIPs.items[pn.IPv6]; ipv6 == nil {
				f.add("public_net", "primary IP %d not found", pn.IPv6)
			}
		}
	}
	if !enableIPv4 && !enableIPv6 {
		f.add("public_net", "a server without networks needs a public IPv4 or IPv6")
	}
	if err := f.err(); err != nil {
		return 0, nil, err
	}

	// The datacenter follows from the primary IPs when it is not given.
	for _, p := range []*primaryIP{ipv4, ipv6} {
		if p != nil && dc == nil && loc == nil {
			dc = p.dc
		}
	}
	if dc == nil {
		for _, d := range s.datacenters.sorted() {
			if (loc == nil || d.location == loc) && typ.soldIn(d.location.Name) {
				dc = d
				break
			}
		}
		if dc == nil {
			where := "any location"
			if loc != nil {
				where = "location " + loc.Name
			}
			return 0, nil, errCode(http.StatusPreconditionFailed, "resource_unavailable", fmt.Sprintf("server type %s is not available in %s", typ.Name, where))
		}
	}
	if !typ.soldIn(dc.location.Name) {
		return 0, nil, errCode(http.StatusPreconditionFailed, "resource_unavailable", fmt.Sprintf("server type %s is not available in datacenter %s", typ.Name, dc.name))
	}
	if err := s.typeGone(typ, dc.location.Name); err != nil {
		return 0, nil, err
	}
	for _, c := range []struct {
		want string
		p    *primaryIP
	}{{"ipv4", ipv4}, {"ipv6", ipv6}} {
		want, p := c.want, c.p
		switch {
		case p == nil:
		case p.typ != want:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "primary_ip_version_mismatch", fmt.Sprintf("primary IP %d is of type %s, not %s", p.id, p.typ, want))
		case p.assignee != 0:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "primary_ip_assigned", fmt.Sprintf("primary IP %d is already assigned to server %d", p.id, p.assignee))
		case p.dc != dc:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", fmt.Sprintf("primary IP %d is in datacenter %s, the server in %s", p.id, p.dc.name, dc.name))
		case s.busy("primary_ip", p.id):
			return 0, nil, errLocked("primary IP", p.id)
		}
	}
	for _, v := range volumes {
		switch {
		case v.server != 0:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is already attached to server %d", v.id, v.server))
		case v.loc != dc.location:
			return 0, nil, invalidInput("volumes", "volume %d is in location %s, the server in %s", v.id, v.loc.Name, dc.location.Name)
		}
	}
	if err := s.servers.unique(req.Name, 0); err != nil {
		return 0, nil, err
	}

	srv := s.servers.put(&server{
		meta:     s.servers.newMeta(req.Name, labels),
		status:   "initializing",
		typ:      typ,
		dc:       dc,
		imageID:  img.id,
		userData: req.UserData,
		sshKeys:  sshKeys,
	})
	if ipv4 != nil {
		ipv4.assignee = srv.id
	} else if enableIPv4 {
		s.newPrimaryIP("", "ipv4", dc, srv.id, true, nil)
	}
	if ipv6 != nil {
		ipv6.assignee = srv.id
	} else if enableIPv6 {
		s.newPrimaryIP("", "ipv6", dc, srv.id, true, nil)
	}
	for _, id := range firewalls {
		s.firewalls.items[id].servers = append(s.firewalls.items[id].servers, srv.id)
	}

	create := s.startAction("create_server", s.servers.change(srv.id, func(srv *server) {
		if srv.status == "initializing" {
			srv.status = "off"
		}
	}), ref("server", srv.id))
	next := []*action{}
	if req.StartAfterCreate == nil || *req.StartAfterCreate {
		next = append(next, s.startAction("start_server", s.servers.change(srv.id, func(srv *server) { srv.status = "running" }), ref("server", srv.id)))
	}
	for _, v := range volumes {
		next = append(next, s.attachVolume(v, srv))
	}

	var rootPassword *string
	if len(sshKeys) == 0 {
		pw := fmt.Sprintf("hcloudsim-root-%d", srv.id)
		rootPassword = &pw
	}
	return http.StatusCreated, map[string]any{
		"server":        s.renderServer(srv),
		"action":        s.renderAction(create),
		"next_actions":  s.renderActions(next),
		"root_password": rootPassword,
	}, nil
}

// removeServer deletes a server and releases what it held: primary IPs are
// unassigned, or deleted when they have auto_delete; volumes are detached; it is
// removed from firewalls.
func (s *Server) removeServer(id int64) {
	delete(s.servers.items, id)
	for _, p := range s.primaryIPs.items {
		if p.assignee != id {
			continue
		}
		if p.autoDelete {
			delete(s.primaryIPs.items, p.id)
		} else {
			p.assignee = 0
		}
	}
	for _, v := range s.volumes.items {
		if v.server == id {
			v.server = 0
		}
	}
	for _, fw := range s.firewalls.items {
		fw.servers = slices.DeleteFunc(fw.servers, func(sid int64) bool { return sid == id })
	}
}

func (s *Server) serverRoutes() {
	s.servers = &store[*server]{
		sim: s, kind: "server", noun: "server", collection: "servers", items: map[int64]*server{},
		render:    func(srv *server) any { return s.renderServer(srv) },
		sort:      []string{"name", "created"},
		filter:    statusFilter(func(srv *server) string { return srv.status }),
		checkName: checkHostname,
		deletable: func(srv *server) error { return s.servers.unlocked(srv) },
		remove: func(srv *server) (int, any, error) {
			srv.status = "deleting"
			id := srv.id
			a := s.startAction("delete_server", func() *actionFailure {
				s.removeServer(id)
				return nil
			}, ref("server", id))
			return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
		},
		beforeAction: func(srv *server) error {
			if srv.status == "deleting" {
				return errCode(http.StatusUnprocessableEntity, "invalid_input", fmt.Sprintf("server %d is being deleted", srv.id))
			}
			return nil
		},
		lockActions: true,
	}
	s.servers.actions = s.serverActions()
	s.servers.routes()
	s.handle("POST /v1/servers", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return s.createServer(r)
	})
}

// setStatus returns an effect that sets the server's status, if it still exists.
func (s *Server) setStatus(id int64, status string) func() *actionFailure {
	return s.servers.must(id, func(srv *server) *actionFailure {
		srv.status = status
		if status == "off" {
			srv.inRescue = false
		}
		return nil
	})
}

// boot returns an effect that (re)starts the server: into the rescue system when it
// is enabled, which the API then disables again ("automatically disabled when you first
// boot into it"), else from its disk.
func (s *Server) boot(id int64) func() *actionFailure {
	return s.servers.must(id, func(srv *server) *actionFailure {
		srv.status = "running"
		srv.inRescue = srv.rescueEnabled
		srv.rescueEnabled = false
		return nil
	})
}

// serverStarted is the 201 answer to a server action, with extra fields as
// name, value pairs.
func (s *Server) serverStarted(a *action, extra ...any) (int, any, error) {
	body := map[string]any{"action": s.renderAction(a)}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return http.StatusCreated, body, nil
}

func (s *Server) serverActions() map[string]actionHandler[*server] {
	// power returns an action that moves the server from one status to another.
	power := func(command, from, to string, effect func(id int64) func() *actionFailure) actionHandler[*server] {
		return func(srv *server, r *http.Request) (int, any, error) {
			if srv.status == from {
				srv.status = to
			}
			return s.serverStarted(s.startAction(command, effect(srv.id), ref("server", srv.id)))
		}
	}
	off := func(id int64) func() *actionFailure { return s.setStatus(id, "off") }
	// set returns an action that changes the server when it succeeds.
	set := func(command string, fn func(srv *server)) actionHandler[*server] {
		return func(srv *server, r *http.Request) (int, any, error) {
			return s.serverStarted(s.startAction(command, s.servers.change(srv.id, fn), ref("server", srv.id)))
		}
	}
	return map[string]actionHandler[*server]{
		"poweron":           power("start_server", "off", "starting", s.boot),
		"poweroff":          power("stop_server", "running", "stopping", off),
		"shutdown":          power("shutdown_server", "running", "stopping", off),
		"reboot":            power("reboot_server", "", "", s.boot),
		"reset":             power("reset_server", "", "", s.boot),
		"rebuild":           s.rebuildServer,
		"change_type":       s.changeServerType,
		"change_protection": s.protectServer,
		"enable_backup":     set("enable_backup", func(srv *server) { srv.backupWindow = "22-02" }),
		"disable_backup":    set("disable_backup", func(srv *server) { srv.backupWindow = "" }),
		"enable_rescue":     s.enableRescue,
		"disable_rescue": set("disable_rescue", func(srv *server) {
			srv.rescueEnabled = false
			srv.rescueSSHKeys = nil
		}),
		"create_image": s.createImage,
	}
}

func (s *Server) rebuildServer(srv *server, r *http.Request) (int, any, error) {
	var req struct {
		Image idOrName `json:"image"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if srv.rebuildProtection {
		return 0, nil, errProtected(fmt.Sprintf("server %d is rebuild protected", srv.id))
	}
	img := s.lookupImage(req.Image, srv.typ.Architecture)
	switch {
	case !req.Image.set:
		return 0, nil, invalidInput("image", "is required")
	case img == nil:
		return 0, nil, invalidInput("image", "image %s not found for architecture %s", req.Image, srv.typ.Architecture)
	case img.Architecture != srv.typ.Architecture:
		return 0, nil, invalidInput("image", "image %d is for architecture %s", img.id, img.Architecture)
	}
	srv.status = "rebuilding"
	a := s.startAction("rebuild_server", s.servers.must(srv.id, func(srv *server) *actionFailure {
		srv.imageID = img.id
		srv.status = "running"
		return nil
	}), ref("server", srv.id))
	var rootPassword *string
	if len(srv.sshKeys) == 0 {
		pw := fmt.Sprintf("hcloudsim-root-%d-%d", srv.id, a.id)
		rootPassword = &pw
	}
	return s.serverStarted(a, "root_password", rootPassword)
}

func (s *Server) changeServerType(srv *server, r *http.Request) (int, any, error) {
	var req struct {
		ServerType  idOrName `json:"server_type"`
		UpgradeDisk bool     `json:"upgrade_disk"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	typ := s.lookupServerType(req.ServerType)
	switch {
	case typ == nil:
		return 0, nil, invalidInput("server_type", "server type %s not found", req.ServerType)
	case typ.Architecture != srv.typ.Architecture:
		return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_server_type", "the server type has another architecture")
	case !typ.soldIn(srv.dc.location.Name):
		return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_server_type", "the server type is not available in the server's location")
	case s.typeGone(typ, srv.dc.location.Name) != nil:
		return 0, nil, s.typeGone(typ, srv.dc.location.Name)
	case !req.UpgradeDisk && typ.Disk < srv.typ.Disk:
		return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_server_type", "the server type's disk is smaller than the current one")
	case srv.status != "off":
		return 0, nil, errCode(http.StatusUnprocessableEntity, "server_not_stopped", fmt.Sprintf("server %d must be off to change its type", srv.id))
	}
	return s.serverStarted(s.startAction("change_server_type", s.servers.change(srv.id, func(srv *server) { srv.typ = typ }), ref("server", srv.id)))
}

// protectServer changes a server's delete and rebuild protection, which the API
// only accepts with the same value.
func (s *Server) protectServer(srv *server, r *http.Request) (int, any, error) {
	var req struct {
		Delete  *bool `json:"delete"`
		Rebuild *bool `json:"rebuild"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	del, rebuild := srv.deleteProtection, srv.rebuildProtection
	if req.Delete != nil {
		del = *req.Delete
	}
	if req.Rebuild != nil {
		rebuild = *req.Rebuild
	}
	if del != rebuild {
		return 0, nil, invalidInput("rebuild", "delete and rebuild protection must have the same value")
	}
	return s.serverStarted(s.startAction("change_protection", s.servers.change(srv.id, func(srv *server) {
		srv.deleteProtection, srv.rebuildProtection = del, rebuild
	}), ref("server", srv.id)))
}

func (s *Server) enableRescue(srv *server, r *http.Request) (int, any, error) {
	var req struct {
		Type    string  `json:"type"`
		SSHKeys []int64 `json:"ssh_keys"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Type != "" && req.Type != "linux64" {
		return 0, nil, invalidInput("type", "must be linux64")
	}
	for _, k := range req.SSHKeys {
		if _, ok := s.sshKeys.items[k]; !ok {
			return 0, nil, invalidInput("ssh_keys", "SSH key %d not found", k)
		}
	}
	keys := slices.Clone(req.SSHKeys)
	a := s.startAction("enable_rescue", s.servers.change(srv.id, func(srv *server) {
		srv.rescueEnabled = true
		srv.rescueSSHKeys = keys
	}), ref("server", srv.id))
	return s.serverStarted(a, "root_password", fmt.Sprintf("hcloudsim-rescue-%d", a.id))
}

// typeGone refuses a server type past its deprecation's unavailable_after in location
// with invalid_server_type, the code hcloud-go documents for "the server type does not
// fit for the given server or is deprecated" (hcloud/error.go).
func (s *Server) typeGone(typ *serverType, location string) error {
	if !typ.gone(location, s.now()) {
		return nil
	}
	return errCode(http.StatusUnprocessableEntity, "invalid_server_type", fmt.Sprintf("server type %s is deprecated in %s and can no longer be ordered", typ.Name, location))
}
