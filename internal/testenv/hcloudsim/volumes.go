package hcloudsim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

const (
	minVolumeSize = 10
	maxVolumeSize = 10240
)

type volume struct {
	id               int64
	name             string
	size             int
	loc              *location
	server           int64 // 0 when detached
	status           string
	format           string
	labels           map[string]string
	deleteProtection bool
	created          time.Time
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

func (s *Server) volumeNameTaken(name string, except int64) bool {
	for _, v := range s.volumes {
		if v.name == name && v.id != except {
			return true
		}
	}
	return false
}

// attachVolume starts attaching a volume to a server; the volume shows the server
// once the action has succeeded.
func (s *Server) attachVolume(v *volume, srv *server) *action {
	volumeID, serverID := v.id, srv.id
	return s.startAction("attach_volume", func() *actionFailure {
		v, ok := s.volumes[volumeID]
		if !ok {
			return &actionFailure{"volume_not_found", fmt.Sprintf("volume %d no longer exists", volumeID)}
		}
		if _, ok := s.servers[serverID]; !ok {
			return &actionFailure{"server_not_found", fmt.Sprintf("server %d no longer exists", serverID)}
		}
		v.server = serverID
		return nil
	}, ref("volume", volumeID), ref("server", serverID))
}

func (s *Server) volumeFromPath(r *http.Request) (*volume, error) {
	id, err := pathID(r, "volume")
	if err != nil {
		return nil, err
	}
	v, ok := s.volumes[id]
	if !ok {
		return nil, errNotFound("volume", id)
	}
	return v, nil
}

func (s *Server) volumeRoutes() {
	s.handle("GET /v1/volumes", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		statuses := q["status"]
		var list []*volume
		for _, v := range s.volumes {
			if f.matches(v.name, v.labels) && (len(statuses) == 0 || slices.Contains(statuses, v.status)) {
				list = append(list, v)
			}
		}
		if err := sortList(q, list, sortKeys[*volume]{
			"id":      byID(func(v *volume) int64 { return v.id }),
			"name":    byString(func(v *volume) string { return v.name }),
			"created": func(a, b *volume) int { return a.created.Compare(b.created) },
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]volumeJSON, 0, len(page))
		for _, v := range page {
			out = append(out, v.json())
		}
		return http.StatusOK, map[string]any{"volumes": out, "meta": meta}, nil
	})

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
		checkName(&f, "name", req.Name)
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
			if srv = s.servers[*req.Server]; srv == nil {
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
			if s.busy("server", srv.id) {
				return 0, nil, errLocked("server", srv.id)
			}
		}
		if s.volumeNameTaken(req.Name, 0) {
			return 0, nil, errUniqueness("name", fmt.Sprintf("volume with name %q already exists", req.Name))
		}
		v := &volume{
			id:      s.newID("volume"),
			name:    req.Name,
			size:    req.Size,
			loc:     loc,
			status:  "creating",
			labels:  labels,
			created: s.now(),
		}
		if req.Format != nil {
			v.format = *req.Format
		}
		s.volumes[v.id] = v
		id := v.id
		create := s.startAction("create_volume", func() *actionFailure {
			if v, ok := s.volumes[id]; ok {
				v.status = "available"
			}
			return nil
		}, ref("volume", id))
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

	s.handle("GET /v1/volumes/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := s.volumeFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"volume": v.json()}, nil
	})

	s.handle("PUT /v1/volumes/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := s.volumeFromPath(r)
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
			if s.volumeNameTaken(*req.Name, v.id) {
				return 0, nil, errUniqueness("name", fmt.Sprintf("volume with name %q already exists", *req.Name))
			}
			v.name = *req.Name
		}
		if req.Labels != nil {
			v.labels = labels
		}
		return http.StatusOK, map[string]any{"volume": v.json()}, nil
	})

	s.handle("DELETE /v1/volumes/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := s.volumeFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case v.deleteProtection:
			return 0, nil, errProtected(fmt.Sprintf("volume %d is delete protected", v.id))
		case s.busy("volume", v.id):
			return 0, nil, errLocked("volume", v.id)
		case v.server != 0:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "service_error", fmt.Sprintf("volume with ID '%d' is still attached to a server", v.id))
		}
		delete(s.volumes, v.id)
		return http.StatusNoContent, nil, nil
	})

	s.handle("POST /v1/volumes/{id}/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := s.volumeFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.volumeAction(v, r.PathValue("action"), r)
	})
}

func (s *Server) volumeAction(v *volume, name string, r *http.Request) (int, any, error) {
	if !slices.Contains([]string{"attach", "detach", "resize", "change_protection"}, name) {
		return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("volume action %q not found", name))
	}
	if s.busy("volume", v.id) {
		return 0, nil, errLocked("volume", v.id)
	}
	id := v.id
	created := s.actionStarted

	switch name {
	case "attach":
		var req struct {
			Server    int64 `json:"server"`
			Automount *bool `json:"automount"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		srv, ok := s.servers[req.Server]
		switch {
		case req.Server == 0:
			return 0, nil, invalidInput("server", "is required")
		case !ok:
			return 0, nil, invalidInput("server", "server %d not found", req.Server)
		case v.server == srv.id:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is already attached to server %d", id, srv.id))
		case v.server != 0:
			return 0, nil, errCode(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is attached to server %d, detach it first", id, v.server))
		case srv.dc.location != v.loc:
			return 0, nil, invalidInput("server", "server %d is in location %s, volume %d in %s", srv.id, srv.dc.location.Name, id, v.loc.Name)
		case srv.status == "deleting":
			return 0, nil, invalidInput("server", "server %d is being deleted", srv.id)
		case s.busy("server", srv.id):
			return 0, nil, errLocked("server", srv.id)
		}
		return created(s.attachVolume(v, srv))

	case "detach":
		if v.server == 0 {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", fmt.Sprintf("volume %d is not attached to a server", id))
		}
		serverID := v.server
		return created(s.startAction("detach_volume", func() *actionFailure {
			if v, ok := s.volumes[id]; ok {
				v.server = 0
			}
			return nil
		}, ref("volume", id), ref("server", serverID)))

	case "resize":
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
		size := req.Size
		return created(s.startAction("resize_volume", func() *actionFailure {
			if v, ok := s.volumes[id]; ok {
				v.size = size
			}
			return nil
		}, ref("volume", id)))

	default: // change_protection
		var req struct {
			Delete *bool `json:"delete"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_protection", func() *actionFailure {
			if v, ok := s.volumes[id]; ok && req.Delete != nil {
				v.deleteProtection = *req.Delete
			}
			return nil
		}, ref("volume", id)))
	}
}
