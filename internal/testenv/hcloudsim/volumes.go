package hcloudsim

import (
	"fmt"
	"net/http"
	"time"
)

const (
	minVolumeSize = 10
	maxVolumeSize = 10240
)

type volume struct {
	meta
	size   int
	loc    *location
	server int64 // 0 when detached
	status string
	format string
}

func (v *volume) linuxDevice() string {
	return fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", v.id)
}

type volumeJSON struct {
	ID          int64             `json:"id"`
	Created     time.Time         `json:"created"`
	Name        string            `json:"name"`
	Server      *int64            `json:"server"`
	Location    locationJSON      `json:"location"`
	Size        int               `json:"size"`
	LinuxDevice string            `json:"linux_device"`
	Protection  protectionJSON    `json:"protection"`
	Labels      map[string]string `json:"labels"`
	Status      string            `json:"status"`
	Format      *string           `json:"format"`
}

func (v *volume) json() volumeJSON {
	out := volumeJSON{
		ID:          v.id,
		Created:     v.created,
		Name:        v.name,
		Location:    v.loc.json(),
		Size:        v.size,
		LinuxDevice: v.linuxDevice(),
		Protection:  protectionJSON{Delete: v.deleteProtection},
		Labels:      copyLabels(v.labels),
		Status:      v.status,
	}
	if v.server != 0 {
		id := v.server
		out.Server = &id
	}
	if v.format != "" {
		f := v.format
		out.Format = &f
	}
	return out
}

// attachVolume starts attaching a volume to a server; the volume shows the server
// once the action has succeeded.
func (s *Server) attachVolume(v *volume, srv *server) *action {
	serverID := srv.id
	return s.startAction("attach_volume", s.volumes.must(v.id, func(v *volume) *actionFailure {
		if _, ok := s.servers.items[serverID]; !ok {
			return s.servers.gone(serverID)
		}
		v.server = serverID
		return nil
	}), ref("volume", v.id), ref("server", serverID))
}

func (s *Server) volumeRoutes() {
	s.volumes = &store[*volume]{
		sim: s, kind: "volume", noun: "volume", collection: "volumes", items: map[int64]*volume{},
		render:    func(v *volume) any { return v.json() },
		sort:      []string{"name", "created"},
		filter:    statusFilter(func(v *volume) string { return v.status }),
		checkName: checkName,
		deletable: func(v *volume) error {
			if err := s.volumes.unlocked(v); err != nil {
				return err
			}
			if v.server != 0 {
				return errCode(http.StatusUnprocessableEntity, "service_error", fmt.Sprintf("volume with ID '%d' is still attached to a server", v.id))
			}
			return nil
		},
		actions: map[string]actionHandler[*volume]{
			"attach": s.attachVolumeAction, "detach": s.detachVolume, "resize": s.resizeVolume,
		},
		lockActions: true,
		protectable: true,
	}
	s.volumes.routes()

	s.handle("POST /v1/volumes", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name      string             `json:"name"`
			Size      int                `json:"size"`
			Server    *int64             `json:"server"`
			Location  idOrName           `json:"location"`
			Labels    *map[string]string `json:"labels"`
			Automount *bool              `json:"automount"`
			Format    *string            `json:"format"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkName(&f, req.Name)
		if req.Size < minVolumeSize || req.Size > maxVolumeSize {
			f.add("size", "must be between %d and %d GB", minVolumeSize, maxVolumeSize)
		}
		labels := checkLabels(&f, req.Labels)
		if req.Format != nil && *req.Format != "ext4" && *req.Format != "xfs" {
			f.add("format", "must be ext4 or xfs")
		}
		var loc *location
		if req.Location.set {
			if loc = s.lookupLocation(req.Location.String()); loc == nil {
				f.add("location", "location %s not found", req.Location)
			}
		}
		var srv *server
		if req.Server != nil {
			if srv = s.servers.items[*req.Server]; srv == nil {
				f.add("server", "server %d not found", *req.Server)
			}
		}
		switch {
		case !req.Location.set && req.Server == nil:
			f.add("location", "location or server is required")
		case loc != nil && srv != nil && srv.dc.location != loc:
			f.add("location", "does not match the location of server %d", srv.id)
		}
		if req.Automount != nil && *req.Automount && req.Server == nil {
			f.add("automount", "requires server")
		}
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if srv != nil {
			loc = srv.dc.location
			if err := s.servers.unlocked(srv); err != nil {
				return 0, nil, err
			}
		}
		if err := s.volumes.unique(req.Name, 0); err != nil {
			return 0, nil, err
		}
		v := s.volumes.put(&volume{meta: s.volumes.newMeta(req.Name, labels), size: req.Size, loc: loc, status: "creating"})
		if req.Format != nil {
			v.format = *req.Format
		}
		create := s.startAction("create_volume", s.volumes.change(v.id, func(v *volume) { v.status = "available" }), ref("volume", v.id))
		next := []*action{}
		if srv != nil {
			next = append(next, s.attachVolume(v, srv))
		}
		return http.StatusCreated, map[string]any{
			"volume":       v.json(),
			"action":       s.renderAction(create),
			"next_actions": s.renderActions(next),
		}, nil
	})
}

func (s *Server) attachVolumeAction(v *volume, r *http.Request) (int, any, error) {
	var req struct {
		Server    int64 `json:"server"`
		Automount *bool `json:"automount"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	srv, ok := s.servers.items[req.Server]
	switch {
	case req.Server == 0:
		return 0, nil, invalidInput("server", "is required")
	case !ok:
		return 0, nil, invalidInput("server", "server %d not found", req.Server)
	case v.server == srv.id:
		return 0, nil, errCode(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is already attached to server %d", v.id, srv.id))
	case v.server != 0:
		return 0, nil, errCode(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is attached to server %d, detach it first", v.id, v.server))
	case srv.dc.location != v.loc:
		return 0, nil, invalidInput("server", "server %d is in location %s, volume %d in %s", srv.id, srv.dc.location.Name, v.id, v.loc.Name)
	case srv.status == "deleting":
		return 0, nil, invalidInput("server", "server %d is being deleted", srv.id)
	}
	if err := s.servers.unlocked(srv); err != nil {
		return 0, nil, err
	}
	return s.actionStarted(s.attachVolume(v, srv))
}

func (s *Server) detachVolume(v *volume, r *http.Request) (int, any, error) {
	if v.server == 0 {
		return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", fmt.Sprintf("volume %d is not attached to a server", v.id))
	}
	return s.actionStarted(s.startAction("detach_volume", s.volumes.change(v.id, func(v *volume) { v.server = 0 }), ref("volume", v.id), ref("server", v.server)))
}

func (s *Server) resizeVolume(v *volume, r *http.Request) (int, any, error) {
	var req struct {
		Size int `json:"size"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case req.Size > maxVolumeSize:
		return 0, nil, invalidInput("size", "must be at most %d GB", maxVolumeSize)
	case req.Size <= v.size:
		return 0, nil, invalidInput("size", "must be larger than the current size of %d GB: volumes can only grow", v.size)
	}
	return s.actionStarted(s.startAction("resize_volume", s.volumes.change(v.id, func(v *volume) { v.size = req.Size }), ref("volume", v.id)))
}
