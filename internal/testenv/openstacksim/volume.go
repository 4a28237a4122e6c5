package openstacksim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Cinder v3 volumes with microversions up to 3.70 (api-ref block-storage v3). Attaching
// and detaching go through Nova (compute.go); Cinder shows the attachments.

type volumeType struct {
	id, name, description string
}

type volume struct {
	id, name, description string
	size                  int
	status                string
	volumeType            *volumeType
	availabilityZone      string
	metadata              map[string]string
	imageID               string
	attachment            *volumeAttachment
	created, updated      time.Time
}

type volumeAttachment struct {
	id, bdmID, serverID, device, tag string
	attachedAt                       time.Time
}

// seedVolumeTypes adds the cloud's volume types, the first one the default (named like
// OVHcloud's).
func (s *Server) seedVolumeTypes() {
	for _, name := range []string{"classic", "high-speed"} {
		vt := &volumeType{id: s.newID("volume-type"), name: name}
		s.volumeTypes = append(s.volumeTypes, vt)
	}
	s.defaultVolumeType = s.volumeTypes[0].id
}

func (s *Server) lookupVolumeType(nameOrID string) *volumeType {
	for _, vt := range s.volumeTypes {
		if vt.id == nameOrID || vt.name == nameOrID {
			return vt
		}
	}
	return nil
}

func (s *Server) cinderVersion() map[string]any {
	return map[string]any{
		"id":          "v3.0",
		"status":      "CURRENT",
		"version":     fmt.Sprintf("3.%d", s.maxVolumeMinor),
		"min_version": "3.0",
		"updated":     "2023-08-31T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": s.URL() + "/volume/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}
}

func (s *Server) volumeRoutes() {
	versions := func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusMultipleChoices, map[string]any{"versions": []any{s.cinderVersion()}}, nil
	}
	s.handlePublic(volumeSvc, "GET /volume/{$}", versions)
	s.handlePublic(volumeSvc, "GET /volume/v3/{$}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"versions": []any{s.cinderVersion()}}, nil
	})

	const p = "/volume/v3/{project}"
	s.handle(volumeSvc, "GET "+p+"/volumes", s.inProject(s.listVolumes(false)))
	s.handle(volumeSvc, "GET "+p+"/volumes/detail", s.inProject(s.listVolumes(true)))
	s.handle(volumeSvc, "POST "+p+"/volumes", s.inProject(s.createVolume))
	s.handle(volumeSvc, "GET "+p+"/volumes/{id}", s.withVolume(func(v *volume, w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"volume": s.volumeJSON(v, requestVersion(r))}, nil
	}))
	s.handle(volumeSvc, "PUT "+p+"/volumes/{id}", s.withVolume(s.updateVolume))
	s.handle(volumeSvc, "DELETE "+p+"/volumes/{id}", s.withVolume(s.deleteVolume))
	s.handle(volumeSvc, "POST "+p+"/volumes/{id}/action", s.withVolume(s.volumeAction))
	metadataAPI[*volume]{
		with:     s.withVolume,
		of:       func(v *volume) *map[string]string { return &v.metadata },
		required: "Malformed request body: 'metadata' is required",
		missing: func(v *volume, key string) error {
			return errf(http.StatusNotFound, "", "Volume %s has no metadata with key %s.", v.id, key)
		},
		changed: func(v *volume) { v.updated = s.now() },
		deleted: http.StatusOK,
	}.routes(s, volumeSvc, p+"/volumes/{id}/metadata")
	s.handle(volumeSvc, "GET "+p+"/types", s.inProject(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var out []any
		for _, vt := range s.volumeTypes {
			out = append(out, s.volumeTypeJSON(vt))
		}
		return http.StatusOK, map[string]any{"volume_types": out}, nil
	}))
	s.handle(volumeSvc, "GET "+p+"/types/{id}", s.inProject(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id := r.PathValue("id")
		if id == "default" {
			id = s.defaultVolumeType
		}
		vt := s.lookupVolumeType(id)
		if vt == nil {
			return 0, nil, errf(http.StatusNotFound, "", "Volume type %s could not be found.", r.PathValue("id"))
		}
		return http.StatusOK, map[string]any{"volume_type": s.volumeTypeJSON(vt)}, nil
	}))
}

func (s *Server) volumeTypeJSON(vt *volumeType) map[string]any {
	return map[string]any{
		"id": vt.id, "name": vt.name, "description": nilIfEmpty(vt.description), "is_public": true,
		"os-volume-type-access:is_public": true, "extra_specs": map[string]string{}, "qos_specs_id": nil,
	}
}

// inProject checks the project ID of the path is the token's (Cinder's URLs carry it).
func (s *Server) inProject(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if r.PathValue("project") != s.projectID {
			return 0, nil, errf(http.StatusBadRequest, "", "Malformed request url")
		}
		return h(w, r)
	}
}

func (s *Server) withVolume(h func(v *volume, w http.ResponseWriter, r *http.Request) (int, any, error)) handlerFunc {
	return s.inProject(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, ok := s.volumes.get(r.PathValue("id"))
		if !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Volume %s could not be found.", r.PathValue("id"))
		}
		return h(v, w, r)
	})
}

func (s *Server) volumeJSON(v *volume, mv microversion) map[string]any {
	attachments := []any{}
	if a := v.attachment; a != nil && (v.status == "in-use" || v.status == "detaching") {
		attachments = append(attachments, map[string]any{
			"id":            v.id,
			"attachment_id": a.id,
			"volume_id":     v.id,
			"server_id":     a.serverID,
			"host_name":     nil,
			"device":        a.device,
			"attached_at":   isoMicro(a.attachedAt),
		})
	}
	bootable := "false"
	if v.imageID != "" {
		bootable = "true"
	}
	out := map[string]any{
		"id":                           v.id,
		"name":                         v.name,
		"description":                  v.description,
		"size":                         v.size,
		"status":                       v.status,
		"availability_zone":            v.availabilityZone,
		"created_at":                   isoMicro(v.created),
		"updated_at":                   isoMicro(v.updated),
		"volume_type":                  v.volumeType.name,
		"snapshot_id":                  nil,
		"source_volid":                 nil,
		"metadata":                     maps.Clone(v.metadata),
		"links":                        []any{map[string]any{"rel": "self", "href": s.URL() + "/volume/v3/" + s.projectID + "/volumes/" + v.id}},
		"user_id":                      s.userID,
		"bootable":                     bootable,
		"encrypted":                    false,
		"replication_status":           nil,
		"consistencygroup_id":          nil,
		"multiattach":                  false,
		"migration_status":             nil,
		"attachments":                  attachments,
		"os-vol-tenant-attr:tenant_id": s.projectID,
	}
	if v.imageID != "" {
		out["volume_image_metadata"] = map[string]string{"image_id": v.imageID}
	}
	if mv.atLeast(13) {
		out["group_id"] = nil
	}
	if mv.atLeast(48) {
		out["shared_targets"] = true
	}
	if mv.atLeast(63) {
		out["volume_type_id"] = v.volumeType.id
	}
	if mv.atLeast(65) {
		out["consumes_quota"] = true
	}
	return out
}

// listEntry is a server or a volume in a list: all of it in a detailed list, else its ID,
// name and links, as Nova and Cinder list them.
func listEntry(detail bool, full map[string]any) map[string]any {
	if detail {
		return full
	}
	return map[string]any{"id": full["id"], "name": full["name"], "links": full["links"]}
}

func (s *Server) listVolumes(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		var meta map[string]string
		if m := q.Get("metadata"); m != "" {
			// Cinder takes metadata as a dict literal; JSON is one.
			if err := json.Unmarshal([]byte(strings.ReplaceAll(m, "'", `"`)), &meta); err != nil {
				return 0, nil, errf(http.StatusBadRequest, "", "Invalid input received: metadata %s is not a dict", m)
			}
		}
		out := []any{}
		for _, v := range s.volumes.list() {
			if n := q.Get("name"); n != "" && n != v.name {
				continue
			}
			if st := q.Get("status"); st != "" && st != v.status {
				continue
			}
			if az := q.Get("availability_zone"); az != "" && az != v.availabilityZone {
				continue
			}
			ok := true
			for k, want := range meta {
				if v.metadata[k] != want {
					ok = false
				}
			}
			if !ok {
				continue
			}
			out = append(out, listEntry(detail, s.volumeJSON(v, requestVersion(r))))
		}
		return http.StatusOK, map[string]any{"volumes": out}, nil
	}
}

// createVolume is POST /volumes: 202 with the volume creating; it is available once the
// backend has made it.
func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Volume *struct {
			Size             *int              `json:"size"`
			Name             string            `json:"name"`
			Description      string            `json:"description"`
			VolumeType       string            `json:"volume_type"`
			AvailabilityZone string            `json:"availability_zone"`
			Metadata         map[string]string `json:"metadata"`
			SnapshotID       string            `json:"snapshot_id"`
			SourceVolID      string            `json:"source_volid"`
			ImageRef         string            `json:"imageRef"`
			BackupID         string            `json:"backup_id"`
			Multiattach      bool              `json:"multiattach"`
		} `json:"volume"`
	}
	if err := readRequired(r, &req, "volume", func() bool { return req.Volume != nil }); err != nil {
		return 0, nil, err
	}
	vr := req.Volume
	switch {
	case vr.SnapshotID != "":
		return 0, nil, errf(http.StatusNotFound, "", "Snapshot %s could not be found.", vr.SnapshotID)
	case vr.SourceVolID != "":
		if _, ok := s.volumes.get(vr.SourceVolID); !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Volume %s could not be found.", vr.SourceVolID)
		}
		return 0, nil, errf(http.StatusBadRequest, "", "openstacksim does not clone volumes")
	case vr.BackupID != "":
		return 0, nil, errf(http.StatusNotFound, "", "Backup %s could not be found.", vr.BackupID)
	case vr.Multiattach:
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input received: multiattach is not supported by the volume type")
	}
	if vr.Size == nil {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute size. 'size' is a required property")
	}
	if *vr.Size < 1 {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute size. Value: %d. %d is less than the minimum of 1", *vr.Size, *vr.Size)
	}
	if len(vr.Name) > 255 {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute name. Value: %s. It is longer than 255 characters", vr.Name)
	}
	az := DefaultAvailabilityZone
	if vr.AvailabilityZone != "" {
		if vr.AvailabilityZone != DefaultAvailabilityZone {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input received: Availability zone '%s' is invalid.", vr.AvailabilityZone)
		}
		az = vr.AvailabilityZone
	}
	vt := s.lookupVolumeType(s.defaultVolumeType)
	if vr.VolumeType != "" {
		if vt = s.lookupVolumeType(vr.VolumeType); vt == nil {
			return 0, nil, errf(http.StatusNotFound, "", "Volume type with name %s could not be found.", vr.VolumeType)
		}
	}
	if err := checkMetadata(vr.Metadata); err != nil {
		return 0, nil, err
	}
	if vr.ImageRef != "" {
		img, ok := s.images.get(vr.ImageRef)
		if !ok || img.status != "active" {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid image identifier or unable to access requested image.")
		}
		if int64(*vr.Size)<<30 < img.size {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input received: Size of specified image %d GB is larger than volume size %d GB.", (img.size+1<<30-1)>>30, *vr.Size)
		}
	}
	now := s.now()
	v := &volume{
		id: s.newID("volume"), name: vr.Name, description: vr.Description, size: *vr.Size, status: "creating",
		volumeType: vt, availabilityZone: az, metadata: maps.Clone(vr.Metadata), imageID: vr.ImageRef,
		created: now, updated: now,
	}
	if v.metadata == nil {
		v.metadata = map[string]string{}
	}
	s.volumes.put(v.id, v)
	s.later(func() {
		if v.status == "creating" {
			v.status = "available"
			v.updated = s.now()
		}
	})
	return http.StatusAccepted, map[string]any{"volume": s.volumeJSON(v, requestVersion(r))}, nil
}

func (s *Server) updateVolume(v *volume, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Volume *struct {
			Name        *string            `json:"name"`
			Description *string            `json:"description"`
			Metadata    *map[string]string `json:"metadata"`
		} `json:"volume"`
	}
	if err := readRequired(r, &req, "volume", func() bool { return req.Volume != nil }); err != nil {
		return 0, nil, err
	}
	if n := req.Volume.Name; n != nil {
		if len(*n) > 255 {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute name. It is longer than 255 characters")
		}
		v.name = *n
	}
	if d := req.Volume.Description; d != nil {
		v.description = *d
	}
	if m := req.Volume.Metadata; m != nil {
		if err := checkMetadata(*m); err != nil {
			return 0, nil, err
		}
		v.metadata = maps.Clone(*m)
		if v.metadata == nil {
			v.metadata = map[string]string{}
		}
	}
	v.updated = s.now()
	return http.StatusOK, map[string]any{"volume": s.volumeJSON(v, requestVersion(r))}, nil
}

// deletableStatuses may be deleted (cinder/volume/api.py, delete: expected statuses).
var deletableStatuses = []string{"available", "error", "error_restoring", "error_extending", "error_managing"}

// deleteVolume is DELETE /volumes/{id}: refused while the volume is attached or busy
// (400 InvalidVolume), else the volume is deleting, then gone.
func (s *Server) deleteVolume(v *volume, w http.ResponseWriter, r *http.Request) (int, any, error) {
	if !slices.Contains(deletableStatuses, v.status) || v.attachment != nil {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
	}
	v.status = "deleting"
	v.updated = s.now()
	s.later(func() { s.volumes.del(v.id) })
	return http.StatusAccepted, nil, nil
}

func (s *Server) volumeAction(v *volume, w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, body, err := readAction(r)
	if err != nil {
		return 0, nil, err
	}
	switch name {
	case "os-extend":
		return s.extendVolume(v, body, requestVersion(r))
	case "os-retype":
		var rt struct {
			NewType string `json:"new_type"`
		}
		_ = json.Unmarshal(body, &rt)
		vt := s.lookupVolumeType(rt.NewType)
		if vt == nil {
			return 0, nil, errf(http.StatusNotFound, "", "Volume type with name %s could not be found.", rt.NewType)
		}
		if v.status != "available" && v.status != "in-use" {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Volume status must be available or in-use, but current status is: %s.", v.status)
		}
		prev := v.status
		v.status = "retyping"
		s.later(func() { v.volumeType, v.status, v.updated = vt, prev, s.now() })
		return http.StatusAccepted, nil, nil
	default:
		return 0, nil, errf(http.StatusBadRequest, "", "There is no such action: %s", name)
	}
}

// extendVolume is the os-extend action: an available volume, or from 3.42 an in-use one,
// grows to new_size; it is extending meanwhile.
func (s *Server) extendVolume(v *volume, body json.RawMessage, mv microversion) (int, any, error) {
	var req struct {
		NewSize *int `json:"new_size"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.NewSize == nil {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute os-extend. 'new_size' is a required property")
	}
	switch {
	case v.status == "in-use" && !mv.atLeast(42):
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Volume status must be 'available' to extend, currently in-use.")
	case v.status != "available" && v.status != "in-use":
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Volume status must be 'available' or 'in-use' to extend, currently %s.", v.status)
	case *req.NewSize <= v.size:
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.size, *req.NewSize)
	}
	prev := v.status
	v.status = "extending"
	v.updated = s.now()
	newSize := *req.NewSize
	s.later(func() {
		v.size, v.status, v.updated = newSize, prev, s.now()
	})
	return http.StatusAccepted, nil, nil
}
