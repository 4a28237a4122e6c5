package hcloudsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Image is an image to seed: a system image (with a name) or a snapshot or backup
// (without one), as the API distinguishes them.
type Image struct {
	Name         string // empty for snapshots and backups
	Description  string
	Type         string // system, snapshot, backup or app; default snapshot
	Architecture string // x86 or arm; default x86
	OSFlavor     string // ubuntu, debian, ... or unknown; default unknown
	OSVersion    string
	DiskSize     float64 // GB; default 20
	ImageSize    float64 // GB, for snapshots and backups
	Labels       map[string]string
	Created      time.Time // default now
	Deprecated   time.Time // zero when not deprecated
}

// image keeps its name, labels and creation time in meta, not in Image.
type image struct {
	meta
	Image
	status string
	// createdFrom is the server a snapshot or backup was taken of.
	createdFrom *createdFromJSON
}

type createdFromJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// idOrName is a reference by ID (a number, or a string of digits) or by name.
type idOrName struct {
	id   int64
	name string
	set  bool
}

func (r *idOrName) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*r = idOrName{}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch t := v.(type) {
	case json.Number:
		id, err := t.Int64()
		if err != nil {
			return fmt.Errorf("%s is not an ID", t)
		}
		*r = idOrName{id: id, set: true}
	case string:
		if id, err := strconv.ParseInt(t, 10, 64); err == nil {
			*r = idOrName{id: id, set: true}
		} else {
			*r = idOrName{name: t, set: t != ""}
		}
	default:
		return fmt.Errorf("must be an ID or a name")
	}
	return nil
}

func (r idOrName) String() string {
	if r.id != 0 {
		return strconv.FormatInt(r.id, 10)
	}
	return r.name
}

// AddImage adds an image and returns its ID.
func (s *Server) AddImage(img Image) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addImage(img)
}

// AddFlatcarSnapshot adds the x86 Flatcar snapshot nassella bootstrap uploads for a
// channel, labelled os=flatcar and flatcar-channel=<channel>, and returns its ID.
func (s *Server) AddFlatcarSnapshot(channel string) int64 {
	return s.AddImage(Image{
		Description:  "Flatcar Container Linux " + channel,
		Type:         "snapshot",
		Architecture: "x86",
		DiskSize:     20,
		ImageSize:    0.47,
		Labels:       map[string]string{"os": "flatcar", "flatcar-channel": channel},
	})
}

func (s *Server) addImage(img Image) int64 {
	if img.Type == "" {
		img.Type = "snapshot"
	}
	if img.Architecture == "" {
		img.Architecture = "x86"
	}
	if img.OSFlavor == "" {
		img.OSFlavor = "unknown"
	}
	if img.DiskSize == 0 {
		img.DiskSize = 20
	}
	im := &image{meta: s.images.newMeta(img.Name, copyLabels(img.Labels)), Image: img, status: "available"}
	if !img.Created.IsZero() {
		im.created = img.Created
	}
	im.Image.Name, im.Image.Labels, im.Image.Created = "", nil, time.Time{}
	return s.images.put(im).id
}

type imageJSON struct {
	ID           int64             `json:"id"`
	Type         string            `json:"type"`
	Status       string            `json:"status"`
	Name         *string           `json:"name"`
	Description  string            `json:"description"`
	ImageSize    *float64          `json:"image_size"`
	DiskSize     float64           `json:"disk_size"`
	Created      time.Time         `json:"created"`
	CreatedFrom  any               `json:"created_from"`
	BoundTo      *int64            `json:"bound_to"`
	OSFlavor     string            `json:"os_flavor"`
	OSVersion    *string           `json:"os_version"`
	RapidDeploy  bool              `json:"rapid_deploy"`
	Protection   protectionJSON    `json:"protection"`
	Deprecated   *time.Time        `json:"deprecated"`
	Deleted      *time.Time        `json:"deleted"`
	Labels       map[string]string `json:"labels"`
	Architecture string            `json:"architecture"`
}

type protectionJSON struct {
	Delete bool `json:"delete"`
}

func (im *image) json() imageJSON {
	out := imageJSON{
		ID:           im.id,
		Type:         im.Type,
		Status:       im.status,
		Description:  im.Description,
		DiskSize:     im.DiskSize,
		Created:      im.created,
		OSFlavor:     im.OSFlavor,
		RapidDeploy:  im.Type == "system",
		Protection:   protectionJSON{Delete: im.deleteProtection},
		Labels:       copyLabels(im.labels),
		Architecture: im.Architecture,
	}
	if im.name != "" {
		name := im.name
		out.Name = &name
	}
	if im.createdFrom != nil {
		out.CreatedFrom = *im.createdFrom
	}
	if im.Type != "system" && im.Type != "app" {
		size := im.ImageSize
		out.ImageSize = &size
	}
	if im.OSVersion != "" {
		v := im.OSVersion
		out.OSVersion = &v
	}
	if !im.Deprecated.IsZero() {
		d := im.Deprecated
		out.Deprecated = &d
	}
	return out
}

// lookupImage finds an image by ID, or by name for the given architecture.
func (s *Server) lookupImage(ref idOrName, architecture string) *image {
	if ref.id != 0 {
		return s.images.items[ref.id]
	}
	for _, im := range s.images.sorted() {
		if im.name == ref.name && im.Architecture == architecture {
			return im
		}
	}
	return nil
}

func (s *Server) imageRoutes() {
	s.images = &store[*image]{
		sim: s, kind: "image", noun: "image", collection: "images", items: map[int64]*image{},
		render: func(im *image) any { return im.json() },
		sort:   []string{"name", "created"},
		filter: imageFilter,
		update: func(im *image, r *http.Request) error {
			var req struct {
				Description *string            `json:"description"`
				Type        *string            `json:"type"`
				Labels      *map[string]string `json:"labels"`
			}
			if err := decodeBody(r, &req); err != nil {
				return err
			}
			if err := snapshotOnly(im, "updated"); err != nil {
				return err
			}
			var f fieldErrors
			if req.Type != nil && *req.Type != "snapshot" {
				f.add("type", "can only be changed to snapshot")
			}
			if err := s.images.rename(im, nil, req.Labels, &f); err != nil {
				return err
			}
			if req.Description != nil {
				im.Description = *req.Description
			}
			if req.Type != nil {
				im.Type = *req.Type
			}
			return nil
		},
		deletable:    func(im *image) error { return snapshotOnly(im, "deleted") },
		actionRoutes: true,
		protectable:  true,
		protectCheck: func(im *image) error { return snapshotOnly(im, "protected") },
	}
	s.images.routes()
}

// snapshotOnly checks that an image may be changed: system and app images cannot.
func snapshotOnly(im *image, done string) error {
	if im.Type != "snapshot" && im.Type != "backup" {
		return errCode(http.StatusUnprocessableEntity, "unsupported_error", "only snapshots and backups can be "+done)
	}
	return nil
}

func imageFilter(q url.Values) (func(*image) bool, error) {
	types, statuses, arches := q["type"], q["status"], q["architecture"]
	var fe fieldErrors
	for _, t := range types {
		if !slices.Contains([]string{"system", "snapshot", "backup", "app"}, t) {
			fe.add("type", "invalid image type %q", t)
		}
	}
	for _, a := range arches {
		if a != "x86" && a != "arm" {
			fe.add("architecture", "invalid architecture %q", a)
		}
	}
	boundTo, err := queryIDs(q, "bound_to")
	if err != nil {
		return nil, err
	}
	includeDeprecated := q.Get("include_deprecated") == "true"
	return func(im *image) bool {
		switch {
		case len(types) > 0 && !slices.Contains(types, im.Type),
			len(statuses) > 0 && !slices.Contains(statuses, im.status),
			len(arches) > 0 && !slices.Contains(arches, im.Architecture),
			len(boundTo) > 0,
			!includeDeprecated && !im.Deprecated.IsZero():
			return false
		}
		return true
	}, fe.err()
}

// createImage is POST /v1/servers/{id}/actions/create_image: it takes a snapshot (or
// a backup) of the server's disk. The image is listed at once with status creating and
// becomes available when the action succeeds; the server is locked meanwhile. The API
// recommends, but does not require, powering the server off first for a consistent
// disk.
func (s *Server) createImage(srv *server, r *http.Request) (int, any, error) {
	var req struct {
		Description *string            `json:"description"`
		Type        string             `json:"type"`
		Labels      *map[string]string `json:"labels"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	var f fieldErrors
	typ := req.Type
	switch typ {
	case "":
		typ = "snapshot"
	case "snapshot":
	case "backup":
		if srv.backupWindow == "" {
			f.add("type", "backups are not enabled for server %d", srv.id)
		}
	default:
		f.add("type", "must be snapshot or backup")
	}
	labels := checkLabels(&f, req.Labels)
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	} else {
		desc = fmt.Sprintf("%s-%s", srv.name, s.now().Format("20060102150405"))
	}
	im := &image{
		meta: s.images.newMeta("", labels),
		Image: Image{
			Description:  desc,
			Type:         typ,
			Architecture: srv.typ.Architecture,
			OSFlavor:     "unknown",
			DiskSize:     float64(srv.typ.Disk),
			ImageSize:    0.5,
		},
		status:      "creating",
		createdFrom: &createdFromJSON{ID: srv.id, Name: srv.name},
	}
	if src, ok := s.images.items[srv.imageID]; ok {
		im.OSFlavor = src.OSFlavor
	}
	s.images.put(im)
	a := s.startAction("create_image", s.images.change(im.id, func(im *image) { im.status = "available" }), ref("server", srv.id), ref("image", im.id))
	return http.StatusCreated, map[string]any{"image": im.json(), "action": s.renderAction(a)}, nil
}
