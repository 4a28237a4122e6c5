package openstacksim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Nova v2.1 with microversions up to 2.96. The answers follow the API reference
// (docs.openstack.org/api-ref/compute) and the bodies gophercloud's fixtures show
// (gophercloud v2 openstack/compute/v2/servers/testing/fixtures_test.go).

const computeHost = "compute-1"

type flavor struct {
	id, name, description string
	ram, vcpus, disk      int
	swap, ephemeral       int
	rxtx                  float64
	public                bool
	extraSpecs            map[string]string
}

type server struct {
	id, name         string
	description      *string
	status           string // BUILD, ACTIVE, SHUTOFF
	taskState        string // scheduling, spawning, deleting, powering-off, ...
	deleting         bool
	flavorID         string
	imageID          string
	userData         []byte
	hasUserData      bool
	configDrive      bool
	metadata         map[string]string
	tags             []string
	keyName          string
	availabilityZone string
	ports            []string        // in the order of the request's networks
	ownPorts         map[string]bool // ports Nova made for a network, deleted with the server
	resizedFrom      string          // the flavor before a resize waiting for confirmation
	resizedStatus    string          // the status to go back to after it
	created, updated time.Time
	launched         time.Time
}

// seedFlavors adds flavors named like a public cloud's (OVHcloud's b3, d2 and s1
// families).
func (s *Server) seedFlavors() {
	for _, f := range []struct {
		name             string
		ram, vcpus, disk int
	}{
		{"d2-2", 2048, 1, 25},
		{"d2-4", 4096, 2, 50},
		{"s1-4", 4096, 1, 20},
		{"s1-8", 8192, 2, 40},
		{"b3-8", 8192, 2, 50},
		{"b3-16", 16384, 4, 100},
	} {
		s.AddFlavor(f.name, f.ram, f.vcpus, f.disk)
	}
}

// AddFlavor adds a public flavor and returns its ID.
func (s *Server) AddFlavor(name string, ramMiB, vcpus, diskGB int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &flavor{id: s.newID("flavor"), name: name, ram: ramMiB, vcpus: vcpus, disk: diskGB, rxtx: 1.0, public: true, extraSpecs: map[string]string{}}
	s.flavors.put(f.id, f)
	return f.id
}

// negotiate reads the microversion a request asks for (OpenStack-API-Version:
// "compute 2.26", or Nova's older X-OpenStack-Nova-API-Version; Cinder: "volume 3.42"),
// defaulting to the minimum (api-ref compute, "Microversions").
func (s *Server) negotiate(svc service, r *http.Request) (microversion, error) {
	name, major, max := "compute", 2, microversion{2, s.maxComputeMinor}
	min := microversion{2, 1}
	if svc == volumeSvc {
		name, major, max, min = "volume", 3, microversion{3, s.maxVolumeMinor}, microversion{3, 0}
	}
	want := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		if svcName, v, ok := strings.Cut(strings.TrimSpace(h), " "); ok && svcName == name {
			want = strings.TrimSpace(v)
		}
	}
	if want == "" && svc == computeSvc {
		want = strings.TrimSpace(r.Header.Get("X-OpenStack-Nova-API-Version"))
	}
	if want == "" && svc == volumeSvc {
		want = strings.TrimSpace(r.Header.Get("X-OpenStack-Volume-API-Version"))
	}
	switch want {
	case "":
		return min, nil
	case "latest":
		return max, nil
	}
	maj, minStr, ok := strings.Cut(want, ".")
	ma, err1 := strconv.Atoi(maj)
	mi, err2 := strconv.Atoi(minStr)
	if !ok || err1 != nil || err2 != nil {
		return microversion{}, errf(http.StatusBadRequest, "", "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", want)
	}
	if ma != major || mi < min.minor || mi > max.minor {
		return microversion{}, errf(http.StatusNotAcceptable, "", "Version %s is not supported by the API. Minimum is %s and maximum is %s.", want, min, max)
	}
	return microversion{ma, mi}, nil
}

func setVersionHeaders(w http.ResponseWriter, svc service, v microversion) {
	h := w.Header()
	if svc == computeSvc {
		h.Set("OpenStack-API-Version", "compute "+v.String())
		h.Set("X-OpenStack-Nova-API-Version", v.String())
		h.Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		return
	}
	h.Set("OpenStack-API-Version", "volume "+v.String())
	h.Set("Vary", "OpenStack-API-Version")
}

func (s *Server) computeVersion(status string) map[string]any {
	v := map[string]any{
		"id":          "v2.1",
		"status":      status,
		"version":     fmt.Sprintf("2.%d", s.maxComputeMinor),
		"min_version": "2.1",
		"updated":     "2013-07-23T11:33:21Z",
		"links":       []any{map[string]any{"rel": "self", "href": s.URL() + "/compute/v2.1/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
	return v
}

func (s *Server) computeRoutes() {
	s.handlePublic(computeSvc, "GET /compute/{$}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"versions": []any{s.computeVersion("CURRENT")}}, nil
	})
	version := func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"version": s.computeVersion("CURRENT")}, nil
	}
	s.handlePublic(computeSvc, "GET /compute/v2.1", version)
	s.handlePublic(computeSvc, "GET /compute/v2.1/{$}", version)

	const p = "/compute/v2.1"
	s.handle(computeSvc, "GET "+p+"/flavors", s.listFlavors(false))
	s.handle(computeSvc, "GET "+p+"/flavors/detail", s.listFlavors(true))
	s.handle(computeSvc, "GET "+p+"/flavors/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := s.flavorFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"flavor": s.flavorJSON(f, requestVersion(r), true)}, nil
	})
	s.handle(computeSvc, "GET "+p+"/flavors/{id}/os-extra_specs", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := s.flavorFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"extra_specs": maps.Clone(f.extraSpecs)}, nil
	})
	s.handle(computeSvc, "GET "+p+"/os-availability-zone", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{
			"zoneName": DefaultAvailabilityZone, "zoneState": map[string]any{"available": true}, "hosts": nil,
		}}}, nil
	})

	s.handle(computeSvc, "GET "+p+"/servers", s.listServers(false))
	s.handle(computeSvc, "GET "+p+"/servers/detail", s.listServers(true))
	s.handle(computeSvc, "POST "+p+"/servers", s.createServer)
	s.handle(computeSvc, "GET "+p+"/servers/{id}", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"server": s.serverJSON(srv, requestVersion(r))}, nil
	}))
	s.handle(computeSvc, "PUT "+p+"/servers/{id}", s.withServer(s.updateServer))
	s.handle(computeSvc, "DELETE "+p+"/servers/{id}", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		s.deleteServer(srv)
		return http.StatusNoContent, nil, nil
	}))
	s.handle(computeSvc, "POST "+p+"/servers/{id}/action", s.withServer(s.serverAction))

	metadataAPI[*server]{
		with:     s.withServer,
		of:       func(srv *server) *map[string]string { return &srv.metadata },
		required: "Invalid input for field/attribute metadata. 'metadata' is a required property",
		missing: func(*server, string) error {
			return errf(http.StatusNotFound, "", "Metadata item was not found")
		},
		deleted: http.StatusNoContent,
	}.routes(s, computeSvc, p+"/servers/{id}/metadata")
	s.handle(computeSvc, "PUT "+p+"/servers/{id}/metadata/{key}", s.withServer(s.setMetadatum))

	s.handle(computeSvc, "GET "+p+"/servers/{id}/tags", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"tags": slices.Clone(srv.tags)}, nil
	}))
	s.handle(computeSvc, "PUT "+p+"/servers/{id}/tags", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Tags []string `json:"tags"`
		}
		if err := readBody(r, &req); err != nil {
			return 0, nil, err
		}
		if err := checkServerTags(req.Tags); err != nil {
			return 0, nil, err
		}
		srv.tags = slices.Clone(req.Tags)
		return http.StatusOK, map[string]any{"tags": slices.Clone(srv.tags)}, nil
	}))
	s.handle(computeSvc, "DELETE "+p+"/servers/{id}/tags", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		srv.tags = nil
		return http.StatusNoContent, nil, nil
	}))
	s.handle(computeSvc, "GET "+p+"/servers/{id}/tags/{tag}", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		if !slices.Contains(srv.tags, r.PathValue("tag")) {
			return 0, nil, errf(http.StatusNotFound, "", "Tag %s could not be found.", r.PathValue("tag"))
		}
		return http.StatusNoContent, nil, nil
	}))
	s.handle(computeSvc, "PUT "+p+"/servers/{id}/tags/{tag}", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		tag := r.PathValue("tag")
		if slices.Contains(srv.tags, tag) {
			return http.StatusNoContent, nil, nil
		}
		if err := checkServerTags(append(slices.Clone(srv.tags), tag)); err != nil {
			return 0, nil, err
		}
		srv.tags = append(srv.tags, tag)
		w.Header().Set("Location", s.URL()+p+"/servers/"+srv.id+"/tags/"+tag)
		return http.StatusCreated, nil, nil
	}))
	s.handle(computeSvc, "DELETE "+p+"/servers/{id}/tags/{tag}", s.withTags(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		i := slices.Index(srv.tags, r.PathValue("tag"))
		if i < 0 {
			return 0, nil, errf(http.StatusNotFound, "", "Tag %s could not be found.", r.PathValue("tag"))
		}
		srv.tags = slices.Delete(srv.tags, i, i+1)
		return http.StatusNoContent, nil, nil
	}))

	s.handle(computeSvc, "GET "+p+"/servers/{id}/os-volume_attachments", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		out := []any{}
		for _, v := range s.serverVolumes(srv.id) {
			out = append(out, s.volumeAttachmentJSON(v, requestVersion(r)))
		}
		return http.StatusOK, map[string]any{"volumeAttachments": out}, nil
	}))
	s.handle(computeSvc, "POST "+p+"/servers/{id}/os-volume_attachments", s.withServer(s.attachVolume))
	s.handle(computeSvc, "GET "+p+"/servers/{id}/os-volume_attachments/{volume}", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := s.attachedVolume(srv, r.PathValue("volume"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"volumeAttachment": s.volumeAttachmentJSON(v, requestVersion(r))}, nil
	}))
	s.handle(computeSvc, "DELETE "+p+"/servers/{id}/os-volume_attachments/{volume}", s.withServer(s.detachVolume))

	s.handle(computeSvc, "GET "+p+"/servers/{id}/os-interface", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		out := []any{}
		for _, id := range srv.ports {
			if pt, ok := s.ports.get(id); ok {
				out = append(out, s.interfaceJSON(pt))
			}
		}
		return http.StatusOK, map[string]any{"interfaceAttachments": out}, nil
	}))
	s.handle(computeSvc, "GET "+p+"/servers/{id}/os-interface/{port}", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		pt, err := s.serverPort(srv, r.PathValue("port"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"interfaceAttachment": s.interfaceJSON(pt)}, nil
	}))
	s.handle(computeSvc, "POST "+p+"/servers/{id}/os-interface", s.withServer(s.attachInterface))
	s.handle(computeSvc, "DELETE "+p+"/servers/{id}/os-interface/{port}", s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		pt, err := s.serverPort(srv, r.PathValue("port"))
		if err != nil {
			return 0, nil, err
		}
		if err := s.serverIdle(srv, "detach_interface"); err != nil {
			return 0, nil, err
		}
		srv.ports = slices.DeleteFunc(srv.ports, func(id string) bool { return id == pt.id })
		s.later(func() { s.releasePort(pt.id, srv.ownPorts[pt.id]) })
		return http.StatusAccepted, nil, nil
	}))
}

func (s *Server) flavorFromPath(r *http.Request) (*flavor, error) {
	f, ok := s.flavors.get(r.PathValue("id"))
	if !ok {
		return nil, errf(http.StatusNotFound, "", "Flavor %s could not be found.", r.PathValue("id"))
	}
	return f, nil
}

func (s *Server) flavorJSON(f *flavor, v microversion, detail bool) map[string]any {
	out := map[string]any{
		"id":   f.id,
		"name": f.name,
		"links": []any{
			map[string]any{"rel": "self", "href": s.URL() + "/compute/v2.1/flavors/" + f.id},
			map[string]any{"rel": "bookmark", "href": s.URL() + "/compute/flavors/" + f.id},
		},
	}
	if v.atLeast(55) {
		out["description"] = nilIfEmpty(f.description)
	}
	if !detail {
		return out
	}
	out["ram"] = f.ram
	out["vcpus"] = f.vcpus
	out["disk"] = f.disk
	out["OS-FLV-EXT-DATA:ephemeral"] = f.ephemeral
	out["OS-FLV-DISABLED:disabled"] = false
	out["os-flavor-access:is_public"] = f.public
	out["rxtx_factor"] = f.rxtx
	// Before 2.75 a flavor without swap says "" (api-ref compute, "List Flavors With
	// Details": swap).
	if f.swap == 0 && !v.atLeast(75) {
		out["swap"] = ""
	} else {
		out["swap"] = f.swap
	}
	if v.atLeast(61) {
		out["extra_specs"] = maps.Clone(f.extraSpecs)
	}
	return out
}

func (s *Server) listFlavors(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		minRAM, _ := strconv.Atoi(q.Get("minRam"))
		minDisk, _ := strconv.Atoi(q.Get("minDisk"))
		public := strings.ToLower(q.Get("is_public"))
		out := []any{}
		for _, f := range s.flavors.list() {
			if f.ram < minRAM || f.disk < minDisk || (public == "false" && f.public) {
				continue
			}
			out = append(out, s.flavorJSON(f, requestVersion(r), detail))
		}
		return http.StatusOK, map[string]any{"flavors": out}, nil
	}
}

// withServer finds the server of the path; a server being deleted is still found
// until its deletion is done, as in Nova.
func (s *Server) withServer(h func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		srv, ok := s.servers.get(r.PathValue("id"))
		if !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Instance %s could not be found.", r.PathValue("id"))
		}
		return h(srv, w, r)
	}
}

// withTags is withServer for the server tags API, which starts at 2.26.
func (s *Server) withTags(h func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error)) handlerFunc {
	return s.withServer(func(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		if !requestVersion(r).atLeast(26) {
			return 0, nil, errf(http.StatusNotFound, "", "The resource could not be found.")
		}
		return h(srv, w, r)
	})
}

func checkServerTags(tags []string) error {
	if len(tags) > 50 {
		return errf(http.StatusBadRequest, "", "The number of tags exceeded the per-server limit 50")
	}
	for _, t := range tags {
		if t == "" || len(t) > 60 || strings.ContainsAny(t, ",/") {
			return errf(http.StatusBadRequest, "", "Invalid input for field/attribute tags. Value: %s. Tags must be 1 to 60 characters without ',' or '/'", t)
		}
	}
	return nil
}

func (s *Server) serverPort(srv *server, portID string) (*port, error) {
	if !slices.Contains(srv.ports, portID) {
		return nil, errf(http.StatusNotFound, "", "Port %s is not attached", portID)
	}
	pt, ok := s.ports.get(portID)
	if !ok {
		return nil, errf(http.StatusNotFound, "", "Port %s is not attached", portID)
	}
	return pt, nil
}

// serverIdle checks the server can take an action now: not building, not being
// deleted (Nova's check_instance_state; InstanceInvalidState is a 409).
func (s *Server) serverIdle(srv *server, action string) error {
	switch {
	case srv.deleting:
		return errf(http.StatusConflict, "", "Cannot '%s' instance %s while it is in task_state deleting", action, srv.id)
	case srv.status == "BUILD":
		return errf(http.StatusConflict, "", "Cannot '%s' instance %s while it is in vm_state building", action, srv.id)
	}
	return nil
}

var serverCreateKeys = []string{
	"name", "imageRef", "flavorRef", "networks", "user_data", "config_drive", "metadata",
	"availability_zone", "security_groups", "key_name", "adminPass", "accessIPv4", "accessIPv6",
	"personality", "block_device_mapping", "block_device_mapping_v2", "min_count", "max_count",
	"return_reservation_id", "OS-DCF:diskConfig", "description", "tags", "host",
	"hypervisor_hostname", "hostname", "trusted_image_certificates",
}

// serverCreateSince are the microversions that brought keys of a server's create body
// (api-ref compute, "Create Server").
var serverCreateSince = map[string]int{"description": 19, "trusted_image_certificates": 63, "tags": 52, "host": 74, "hypervisor_hostname": 74, "hostname": 90}

// createServer is POST /servers. It checks what Nova's API checks before it answers 202:
// the body's schema, the image, the flavor, the networks and ports; the build itself
// goes on asynchronously.
func (s *Server) createServer(w http.ResponseWriter, r *http.Request) (int, any, error) {
	v := requestVersion(r)
	var raw struct {
		Server map[string]json.RawMessage `json:"server"`
	}
	if err := novaBody(r, &raw, &raw.Server, "server", serverCreateKeys, serverCreateSince); err != nil {
		return 0, nil, err
	}
	var req struct {
		Name             string            `json:"name"`
		ImageRef         string            `json:"imageRef"`
		FlavorRef        string            `json:"flavorRef"`
		Networks         json.RawMessage   `json:"networks"`
		UserData         *string           `json:"user_data"`
		ConfigDrive      any               `json:"config_drive"`
		Metadata         map[string]string `json:"metadata"`
		AvailabilityZone string            `json:"availability_zone"`
		KeyName          string            `json:"key_name"`
		AdminPass        string            `json:"adminPass"`
		Description      *string           `json:"description"`
		Tags             []string          `json:"tags"`
		BlockDevices     []any             `json:"block_device_mapping_v2"`
	}
	data, _ := json.Marshal(raw.Server)
	if err := json.Unmarshal(data, &req); err != nil {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute server: %v", err)
	}
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 255 {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute name. Value: %s. The name must be 1 to 255 characters and not only spaces", req.Name)
	}
	if len(req.BlockDevices) > 0 {
		return 0, nil, errf(http.StatusBadRequest, "", "openstacksim does not boot from volumes: block_device_mapping_v2 is not simulated")
	}
	img, ok := s.images.get(req.ImageRef)
	if !ok {
		return 0, nil, errf(http.StatusBadRequest, "", "Can not find requested image")
	}
	if img.status != "active" {
		return 0, nil, errf(http.StatusBadRequest, "", "Image %s is not active.", img.id)
	}
	fl, ok := s.flavors.get(req.FlavorRef)
	if !ok {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid flavorRef provided.")
	}
	if img.minRAM > fl.ram {
		return 0, nil, errf(http.StatusBadRequest, "", "Flavor's memory is too small for requested image.")
	}
	if fl.disk > 0 && img.minDisk > fl.disk {
		return 0, nil, errf(http.StatusBadRequest, "", "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is %d bytes, minimum size is %d bytes.", fl.disk<<30, img.minDisk<<30)
	}
	if fl.disk > 0 && img.size > int64(fl.disk)<<30 {
		return 0, nil, errf(http.StatusBadRequest, "", "Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", fl.disk<<30, img.size)
	}
	var userData []byte
	if req.UserData != nil {
		// Nova keeps user_data base64 encoded, at most 65535 bytes so
		// (nova/api/openstack/compute/servers.py, MAX_USERDATA_SIZE).
		if len(*req.UserData) > 65535 {
			return 0, nil, errf(http.StatusBadRequest, "", "User data too large. User data must be no larger than 65535 bytes once base64 encoded. Your data is %d bytes", len(*req.UserData))
		}
		d, err := base64.StdEncoding.DecodeString(*req.UserData)
		if err != nil {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute user_data. Value: ... 'user_data' is not a valid base64 string")
		}
		userData = d
	}
	configDrive := false
	switch cd := req.ConfigDrive.(type) {
	case nil:
	case bool:
		configDrive = cd
	case string:
		switch strings.ToLower(cd) {
		case "true", "1", "yes", "on":
			configDrive = true
		case "false", "0", "no", "off", "":
		default:
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute config_drive. Value: %s.", cd)
		}
	default:
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute config_drive.")
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return 0, nil, err
	}
	if len(req.Metadata) > 128 {
		return 0, nil, errf(http.StatusForbidden, "", "Quota exceeded for metadata_items: Requested %d, but already used 0 of 128 metadata_items", len(req.Metadata))
	}
	if err := checkServerTags(req.Tags); err != nil {
		return 0, nil, err
	}
	az := DefaultAvailabilityZone
	if req.AvailabilityZone != "" {
		if zone, _, _ := strings.Cut(req.AvailabilityZone, ":"); zone != DefaultAvailabilityZone {
			return 0, nil, errf(http.StatusBadRequest, "", "The requested availability zone is not available")
		}
	}
	if req.KeyName != "" {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid key_name provided.")
	}
	type netReq struct {
		UUID    string `json:"uuid"`
		Port    string `json:"port"`
		FixedIP string `json:"fixed_ip"`
		Tag     string `json:"tag"`
	}
	var nets []netReq
	if len(req.Networks) > 0 {
		var mode string
		if json.Unmarshal(req.Networks, &mode) == nil {
			if !v.atLeast(37) || (mode != "auto" && mode != "none") {
				return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute networks. Value: %s.", mode)
			}
			if mode == "auto" {
				return 0, nil, errf(http.StatusBadRequest, "", "openstacksim does not allocate networks automatically: pass a network or a port")
			}
		} else if err := json.Unmarshal(req.Networks, &nets); err != nil {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute networks: %v", err)
		}
	} else if v.atLeast(37) {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute server. 'networks' is a required property")
	} else {
		// Before 2.37 Nova takes the project's only network (NetworkAmbiguous else).
		var own []*network
		for _, n := range s.networks.list() {
			if !n.external && n.projectID == s.projectID {
				own = append(own, n)
			}
		}
		if len(own) != 1 {
			return 0, nil, errf(http.StatusConflict, "", "Multiple possible networks found, use a Network ID to be more specific.")
		}
		nets = []netReq{{UUID: own[0].id}}
	}
	// Check every network and port before changing anything.
	for _, n := range nets {
		switch {
		case n.Port != "":
			pt, ok := s.ports.get(n.Port)
			if !ok {
				return 0, nil, errf(http.StatusBadRequest, "", "Port id %s could not be found.", n.Port)
			}
			if pt.deviceID != "" {
				return 0, nil, errf(http.StatusConflict, "", "Port %s is still in use.", pt.id)
			}
			if len(pt.fixedIPs) == 0 {
				return 0, nil, errf(http.StatusBadRequest, "", "Port %s requires a FixedIP in order to be used.", pt.id)
			}
		case n.UUID != "":
			nw, ok := s.networks.get(n.UUID)
			if !ok {
				return 0, nil, errf(http.StatusBadRequest, "", "Network %s could not be found.", n.UUID)
			}
			if len(s.networkSubnets(nw.id)) == 0 {
				return 0, nil, errf(http.StatusBadRequest, "", "Network %s requires a subnet in order to boot instances on.", nw.id)
			}
		default:
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute networks. A network needs a uuid or a port")
		}
	}
	now := s.now()
	srv := &server{
		id:               s.newID("server"),
		name:             req.Name,
		description:      req.Description,
		status:           "BUILD",
		taskState:        "scheduling",
		flavorID:         fl.id,
		imageID:          img.id,
		userData:         userData,
		hasUserData:      req.UserData != nil,
		configDrive:      configDrive,
		metadata:         maps.Clone(req.Metadata),
		tags:             slices.Clone(req.Tags),
		availabilityZone: az,
		ownPorts:         map[string]bool{},
		created:          now,
		updated:          now,
	}
	if srv.metadata == nil {
		srv.metadata = map[string]string{}
	}
	for _, n := range nets {
		if n.Port != "" {
			srv.ports = append(srv.ports, n.Port)
			continue
		}
		pt, err := s.newPort(portSpec{networkID: n.UUID, name: "", adminUp: true, fixedIPs: []fixedIPReq{{IPAddress: n.FixedIP}}})
		if err != nil {
			return 0, nil, err
		}
		srv.ports = append(srv.ports, pt.id)
		srv.ownPorts[pt.id] = true
	}
	for _, id := range srv.ports {
		s.bindPort(id, srv)
	}
	s.servers.put(srv.id, srv)
	s.later(func() {
		if srv.deleting {
			return
		}
		srv.status, srv.taskState = "ACTIVE", ""
		srv.launched = s.now()
		srv.updated = srv.launched
		for _, id := range srv.ports {
			if pt, ok := s.ports.get(id); ok && pt.deviceID == srv.id {
				pt.status = "ACTIVE"
				pt.vifType = "ovs"
				s.portChanged(pt)
			}
		}
	})
	w.Header().Set("Location", s.URL()+"/compute/v2.1/servers/"+srv.id)
	adminPass := req.AdminPass
	if adminPass == "" {
		adminPass = hexOf(srv.id+"pass", 12)
	}
	var sgs []any
	for _, name := range s.serverSecGroupNames(srv) {
		sgs = append(sgs, map[string]any{"name": name})
	}
	return http.StatusAccepted, map[string]any{"server": map[string]any{
		"id":                srv.id,
		"links":             s.serverLinks(srv),
		"OS-DCF:diskConfig": "MANUAL",
		"security_groups":   sgs,
		"adminPass":         adminPass,
	}}, nil
}

func (s *Server) serverLinks(srv *server) []any {
	return []any{
		map[string]any{"rel": "self", "href": s.URL() + "/compute/v2.1/servers/" + srv.id},
		map[string]any{"rel": "bookmark", "href": s.URL() + "/compute/servers/" + srv.id},
	}
}

// serverJSON renders a server as GET /servers/{id} shows it at microversion v.
func (s *Server) serverJSON(srv *server, v microversion) map[string]any {
	vmState, power := "building", 0
	switch srv.status {
	case "ACTIVE":
		vmState, power = "active", 1
	case "SHUTOFF":
		vmState, power = "stopped", 4
	case "RESIZE":
		vmState, power = "active", 1
	case "VERIFY_RESIZE":
		vmState, power = "resized", 1
	}
	var task any
	if srv.taskState != "" {
		task = srv.taskState
	}
	addresses := map[string]any{}
	if srv.status != "BUILD" {
		for _, id := range srv.ports {
			pt, ok := s.ports.get(id)
			if !ok {
				continue
			}
			nw, _ := s.networks.get(pt.networkID)
			list, _ := addresses[nw.name].([]any)
			for _, ip := range pt.fixedIPs {
				list = append(list, map[string]any{"OS-EXT-IPS-MAC:mac_addr": pt.mac, "version": ipVersion(ip.ip), "addr": ip.ip, "OS-EXT-IPS:type": "fixed"})
			}
			for _, fip := range s.floatingIPs.list() {
				if fip.portID == pt.id {
					list = append(list, map[string]any{"OS-EXT-IPS-MAC:mac_addr": pt.mac, "version": 4, "addr": fip.address, "OS-EXT-IPS:type": "floating"})
				}
			}
			addresses[nw.name] = list
		}
	}
	fl, _ := s.flavors.get(srv.flavorID)
	var flavorOut map[string]any
	if v.atLeast(47) {
		// 2.47 embeds the flavor instead of linking it (api-ref compute, "Show Server
		// Details": flavor).
		flavorOut = map[string]any{
			"original_name": fl.name, "ram": fl.ram, "vcpus": fl.vcpus, "disk": fl.disk,
			"ephemeral": fl.ephemeral, "swap": fl.swap, "extra_specs": maps.Clone(fl.extraSpecs),
		}
	} else {
		flavorOut = map[string]any{"id": fl.id, "links": []any{map[string]any{"rel": "bookmark", "href": s.URL() + "/compute/flavors/" + fl.id}}}
	}
	var volumes []any
	for _, vol := range s.serverVolumes(srv.id) {
		a := map[string]any{"id": vol.id}
		if v.atLeast(3) {
			a["delete_on_termination"] = false
		}
		volumes = append(volumes, a)
	}
	if volumes == nil {
		volumes = []any{}
	}
	var sgs []any
	for _, name := range s.serverSecGroupNames(srv) {
		sgs = append(sgs, map[string]any{"name": name})
	}
	configDrive := ""
	if srv.configDrive {
		configDrive = "True"
	}
	var launched any
	if !srv.launched.IsZero() {
		launched = isoMicro(srv.launched)
	}
	out := map[string]any{
		"id":      srv.id,
		"name":    srv.name,
		"status":  srv.status,
		"created": isoZ(srv.created),
		"updated": isoZ(srv.updated),
		"hostId":  hexOf(s.projectID+computeHost, 56),
		"image": map[string]any{"id": srv.imageID, "links": []any{map[string]any{
			"rel": "bookmark", "href": s.URL() + "/compute/images/" + srv.imageID,
		}}},
		"flavor":                               flavorOut,
		"addresses":                            addresses,
		"links":                                s.serverLinks(srv),
		"key_name":                             nilIfEmpty(srv.keyName),
		"metadata":                             maps.Clone(srv.metadata),
		"tenant_id":                            s.projectID,
		"user_id":                              s.userID,
		"accessIPv4":                           "",
		"accessIPv6":                           "",
		"progress":                             0,
		"config_drive":                         configDrive,
		"OS-DCF:diskConfig":                    "MANUAL",
		"OS-EXT-AZ:availability_zone":          srv.availabilityZone,
		"OS-EXT-STS:vm_state":                  vmState,
		"OS-EXT-STS:task_state":                task,
		"OS-EXT-STS:power_state":               power,
		"OS-SRV-USG:launched_at":               launched,
		"OS-SRV-USG:terminated_at":             nil,
		"os-extended-volumes:volumes_attached": volumes,
	}
	if sgs != nil {
		out["security_groups"] = sgs
	}
	if v.atLeast(9) {
		out["locked"] = false
	}
	if v.atLeast(19) {
		if srv.description != nil {
			out["description"] = *srv.description
		} else {
			out["description"] = nil
		}
	}
	if v.atLeast(26) {
		out["tags"] = slices.Clone(srv.tags)
	}
	if v.atLeast(73) {
		out["locked_reason"] = nil
	}
	return out
}

func (s *Server) listServers(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		var nameRe *regexp.Regexp
		if n := q.Get("name"); n != "" {
			// Nova matches name as a regular expression (api-ref compute, "List Servers":
			// name).
			re, err := regexp.Compile(n)
			if err != nil {
				return 0, nil, errf(http.StatusBadRequest, "", "Invalid filter name: %v", err)
			}
			nameRe = re
		}
		out := []any{}
		for _, srv := range s.servers.list() {
			switch {
			case nameRe != nil && !nameRe.MatchString(srv.name),
				q.Get("status") != "" && !strings.EqualFold(q.Get("status"), srv.status),
				q.Get("flavor") != "" && q.Get("flavor") != srv.flavorID,
				q.Get("image") != "" && q.Get("image") != srv.imageID:
				continue
			}
			out = append(out, listEntry(detail, s.serverJSON(srv, requestVersion(r))))
		}
		return http.StatusOK, map[string]any{"servers": out}, nil
	}
}

func (s *Server) updateServer(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Server *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"server"`
	}
	if err := readRequired(r, &req, "server", func() bool { return req.Server != nil }); err != nil {
		return 0, nil, err
	}
	if n := req.Server.Name; n != nil {
		if strings.TrimSpace(*n) == "" || len(*n) > 255 {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute name. Value: %s.", *n)
		}
		srv.name = *n
	}
	if req.Server.Description != nil {
		if !requestVersion(r).atLeast(19) {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute server. Additional properties are not allowed ('description' was unexpected)")
		}
		srv.description = req.Server.Description
	}
	srv.updated = s.now()
	return http.StatusOK, map[string]any{"server": s.serverJSON(srv, requestVersion(r))}, nil
}

// deleteServer starts deleting a server: it keeps its status with task_state deleting
// until the deletion is done, then it is gone (404); its volumes are detached, the ports
// Nova made are deleted and the ports it was given are unbound and kept (api-ref
// compute, "Delete Server"; nova/network/neutron.py, deallocate_for_instance keeps
// pre-existing ports).
func (s *Server) deleteServer(srv *server) {
	if srv.deleting {
		return
	}
	srv.deleting = true
	srv.taskState = "deleting"
	srv.updated = s.now()
	s.later(func() {
		for _, vol := range s.serverVolumes(srv.id) {
			vol.attachment = nil
			vol.status = "available"
			vol.updated = s.now()
		}
		for _, id := range srv.ports {
			s.releasePort(id, srv.ownPorts[id])
		}
		s.servers.del(srv.id)
	})
}

// powerActions are os-stop and os-start: the status they need (a server in another
// is in vmState), the task state meanwhile and the status after.
var powerActions = map[string]struct{ action, from, vmState, task, to string }{
	"os-stop":  {"stop", "ACTIVE", "stopped", "powering-off", "SHUTOFF"},
	"os-start": {"start", "SHUTOFF", "active", "powering-on", "ACTIVE"},
}

func (s *Server) serverAction(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, body, err := readAction(r)
	if err != nil {
		return 0, nil, err
	}
	switch name {
	case "os-stop", "os-start":
		p := powerActions[name]
		if err := s.serverIdle(srv, p.action); err != nil {
			return 0, nil, err
		}
		if srv.status != p.from {
			return 0, nil, errf(http.StatusConflict, "", "Cannot '%s' instance %s while it is in vm_state %s", p.action, srv.id, p.vmState)
		}
		srv.taskState = p.task
		s.later(func() { srv.status, srv.taskState = p.to, "" })
	case "reboot":
		if err := s.serverIdle(srv, "reboot"); err != nil {
			return 0, nil, err
		}
	case "forceDelete":
		s.deleteServer(srv)
	case "resize":
		var rz struct {
			FlavorRef string `json:"flavorRef"`
		}
		if err := json.Unmarshal(body, &rz); err != nil || rz.FlavorRef == "" {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute resize. 'flavorRef' is a required property")
		}
		if err := s.serverIdle(srv, "resize"); err != nil {
			return 0, nil, err
		}
		if srv.status != "ACTIVE" && srv.status != "SHUTOFF" {
			return 0, nil, errf(http.StatusConflict, "", "Cannot 'resize' instance %s while it is in vm_state %s", srv.id, strings.ToLower(srv.status))
		}
		fl, ok := s.flavors.get(rz.FlavorRef)
		if !ok {
			return 0, nil, errf(http.StatusBadRequest, "", "Unable to locate requested flavor.")
		}
		if fl.id == srv.flavorID {
			return 0, nil, errf(http.StatusBadRequest, "", "When resizing, instances must change flavor!")
		}
		if img, ok := s.images.get(srv.imageID); ok && img.minRAM > fl.ram {
			return 0, nil, errf(http.StatusBadRequest, "", "Flavor's memory is too small for requested image.")
		}
		// A resize goes RESIZE, then VERIFY_RESIZE on the new flavor until the client
		// confirms or reverts it (api-ref compute, "Resize Server (resize Action)").
		prev := srv.status
		srv.status, srv.taskState = "RESIZE", "resize_prep"
		old := srv.flavorID
		s.later(func() {
			if srv.status == "RESIZE" {
				srv.status, srv.taskState = "VERIFY_RESIZE", ""
				srv.flavorID, srv.resizedFrom, srv.resizedStatus = fl.id, old, prev
			}
		})
	case "confirmResize", "revertResize":
		if srv.status != "VERIFY_RESIZE" {
			return 0, nil, errf(http.StatusBadRequest, "", "Instance has not been resized.")
		}
		if name == "revertResize" {
			srv.flavorID = srv.resizedFrom
			srv.taskState = "resize_reverting"
		}
		s.later(func() {
			if srv.status == "VERIFY_RESIZE" {
				srv.status, srv.taskState = srv.resizedStatus, ""
			}
		})
		if name == "confirmResize" {
			return http.StatusNoContent, nil, nil
		}
	default:
		return 0, nil, errf(http.StatusBadRequest, "", "There is no such action: %s", name)
	}
	return http.StatusAccepted, nil, nil
}

func (s *Server) setMetadatum(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Meta map[string]string `json:"meta"`
	}
	if err := readBody(r, &req); err != nil {
		return 0, nil, err
	}
	key := r.PathValue("key")
	v, ok := req.Meta[key]
	if len(req.Meta) != 1 || !ok {
		return 0, nil, errf(http.StatusBadRequest, "", "Request body and URI mismatch")
	}
	srv.metadata[key] = v
	return http.StatusOK, map[string]any{"meta": map[string]string{key: v}}, nil
}

// serverVolumes are the volumes attached, attaching or detaching to a server.
func (s *Server) serverVolumes(serverID string) []*volume {
	return s.volumes.where(func(v *volume) bool { return v.attachment != nil && v.attachment.serverID == serverID })
}

func (s *Server) attachedVolume(srv *server, volumeID string) (*volume, error) {
	v, ok := s.volumes.get(volumeID)
	if !ok || v.attachment == nil || v.attachment.serverID != srv.id {
		return nil, errf(http.StatusNotFound, "", "Instance %s is not attached.", srv.id)
	}
	return v, nil
}

func (s *Server) volumeAttachmentJSON(v *volume, mv microversion) map[string]any {
	out := map[string]any{
		"device":   v.attachment.device,
		"serverId": v.attachment.serverID,
		"volumeId": v.id,
	}
	// Until 2.89 the attachment's id is the volume's (api-ref compute, "Servers with
	// volume attachments"); 2.89 drops it for attachment_id and bdm_uuid.
	if mv.atLeast(89) {
		out["attachment_id"] = v.attachment.id
		out["bdm_uuid"] = v.attachment.bdmID
	} else {
		out["id"] = v.id
	}
	if mv.atLeast(70) {
		out["tag"] = nilIfEmpty(v.attachment.tag)
	}
	if mv.atLeast(79) {
		out["delete_on_termination"] = false
	}
	return out
}

// novaBody reads a body {"<key>": {...}} into body, whose field attrs is the object, as
// Nova's JSON schemas check it: the object is required and has only the keys allowed,
// each from the microversion since gives it, if any.
func novaBody(r *http.Request, body any, attrs *map[string]json.RawMessage, key string, allowed []string, since map[string]int) error {
	if err := readRequired(r, body, key, func() bool { return *attrs != nil }); err != nil {
		return err
	}
	v := requestVersion(r)
	for k := range *attrs {
		if !slices.Contains(allowed, k) || (since[k] > 0 && !v.atLeast(since[k])) {
			return errf(http.StatusBadRequest, "", "Invalid input for field/attribute %s. Additional properties are not allowed ('%s' was unexpected)", key, k)
		}
	}
	return nil
}

// attachVolume is POST /servers/{id}/os-volume_attachments: the volume must be
// available; it is attaching until the attachment is done, then in-use.
func (s *Server) attachVolume(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	mv := requestVersion(r)
	var raw struct {
		VolumeAttachment map[string]json.RawMessage `json:"volumeAttachment"`
	}
	if err := novaBody(r, &raw, &raw.VolumeAttachment, "volumeAttachment", []string{"volumeId", "device", "tag", "delete_on_termination"},
		map[string]int{"tag": 49, "delete_on_termination": 79}); err != nil {
		return 0, nil, err
	}
	var req struct {
		VolumeID string `json:"volumeId"`
		Device   string `json:"device"`
		Tag      string `json:"tag"`
	}
	data, _ := json.Marshal(raw.VolumeAttachment)
	_ = json.Unmarshal(data, &req)
	vol, ok := s.volumes.get(req.VolumeID)
	if !ok {
		return 0, nil, errf(http.StatusNotFound, "", "Volume %s could not be found.", req.VolumeID)
	}
	if err := s.serverIdle(srv, "attach_volume"); err != nil {
		return 0, nil, err
	}
	if vol.status != "available" {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", vol.id, vol.status)
	}
	if vol.availabilityZone != srv.availabilityZone {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Instance %s and volume %s are not in the same availability_zone. Instance is in %s. Volume is in %s", srv.id, vol.id, srv.availabilityZone, vol.availabilityZone)
	}
	used := map[string]bool{"/dev/vda": true}
	for _, v := range s.serverVolumes(srv.id) {
		used[v.attachment.device] = true
	}
	device := ""
	for c := 'b'; c <= 'z'; c++ {
		if d := "/dev/vd" + string(c); !used[d] {
			device = d
			break
		}
	}
	if device == "" {
		return 0, nil, errf(http.StatusBadRequest, "", "No free disk device names for prefix 'vd'")
	}
	vol.status = "attaching"
	vol.updated = s.now()
	vol.attachment = &volumeAttachment{id: s.newID("attachment"), bdmID: s.newID("bdm"), serverID: srv.id, device: device, tag: req.Tag}
	a := vol.attachment
	s.later(func() {
		if vol.attachment != a || vol.status != "attaching" {
			return
		}
		vol.status = "in-use"
		a.attachedAt = s.now()
		vol.updated = a.attachedAt
	})
	return http.StatusOK, map[string]any{"volumeAttachment": s.volumeAttachmentJSON(vol, mv)}, nil
}

// detachVolume is DELETE /servers/{id}/os-volume_attachments/{volume_id}: the volume is
// detaching, then available. Detaching a volume that is not in-use fails as Cinder's
// begin_detaching does (400 InvalidVolume), which the provider's detach loop expects.
func (s *Server) detachVolume(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	vol, err := s.attachedVolume(srv, r.PathValue("volume"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.serverIdle(srv, "detach_volume"); err != nil {
		return 0, nil, err
	}
	if vol.status != "in-use" {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
	}
	vol.status = "detaching"
	vol.updated = s.now()
	a := vol.attachment
	s.later(func() {
		if vol.attachment != a {
			return
		}
		vol.attachment = nil
		vol.status = "available"
		vol.updated = s.now()
	})
	return http.StatusAccepted, nil, nil
}

func (s *Server) interfaceJSON(pt *port) map[string]any {
	var ips []any
	for _, ip := range pt.fixedIPs {
		ips = append(ips, map[string]any{"subnet_id": ip.subnetID, "ip_address": ip.ip})
	}
	return map[string]any{
		"port_state": pt.status,
		"fixed_ips":  ips,
		"port_id":    pt.id,
		"net_id":     pt.networkID,
		"mac_addr":   pt.mac,
	}
}

// attachInterface is POST /servers/{id}/os-interface with a port_id or a net_id.
func (s *Server) attachInterface(srv *server, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		InterfaceAttachment *struct {
			PortID string `json:"port_id"`
			NetID  string `json:"net_id"`
		} `json:"interfaceAttachment"`
	}
	if err := readBody(r, &req); err != nil {
		return 0, nil, err
	}
	ia := req.InterfaceAttachment
	if ia == nil || (ia.PortID == "" && ia.NetID == "") {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field/attribute interfaceAttachment: a port_id or a net_id is required")
	}
	if err := s.serverIdle(srv, "attach_interface"); err != nil {
		return 0, nil, err
	}
	var pt *port
	if ia.PortID != "" {
		p, ok := s.ports.get(ia.PortID)
		if !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Port id %s could not be found.", ia.PortID)
		}
		if p.deviceID != "" {
			return 0, nil, errf(http.StatusConflict, "", "Port %s is still in use.", p.id)
		}
		pt = p
	} else {
		if _, ok := s.networks.get(ia.NetID); !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Network %s could not be found.", ia.NetID)
		}
		p, err := s.newPort(portSpec{networkID: ia.NetID, adminUp: true})
		if err != nil {
			return 0, nil, err
		}
		pt = p
		srv.ownPorts[pt.id] = true
	}
	srv.ports = append(srv.ports, pt.id)
	s.bindPort(pt.id, srv)
	pt.status = "ACTIVE"
	pt.vifType = "ovs"
	return http.StatusOK, map[string]any{"interfaceAttachment": s.interfaceJSON(pt)}, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
