package openstacksim

import (
	"cmp"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Glance v2 images (api-ref image v2): list with filters, sort and pages, show,
// create, upload, download, delete.

type image struct {
	id, name                    string
	status                      string // queued, saving, active
	visibility                  string
	protected, hidden           bool
	diskFormat, containerFormat string
	minDisk, minRAM             int
	size                        int64
	checksum, hashValue         string
	data                        []byte
	tags                        []string
	properties                  map[string]string
	owner                       string
	created, updated            time.Time
	seeded                      bool // added with AddImage
}

var (
	diskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	containerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
	visibilities     = []string{"public", "private", "shared", "community"}
	// readOnlyImageAttrs cannot be set by a client (glance/api/v2/images.py,
	// _readonly_properties and _reserved_properties).
	readOnlyImageAttrs = []string{"status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
		"direct_url", "self", "file", "schema", "created_at", "updated_at", "location", "deleted", "deleted_at", "locations"}
	imageSortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at",
		"updated_at", "min_disk", "min_ram", "visibility", "owner", "virtual_size", "os_hidden"}
)

// ImageOption sets something of an image AddImage seeds.
type ImageOption func(*image)

// ImageData sets the image's data (default: a few bytes naming it).
func ImageData(data []byte) ImageOption { return func(im *image) { im.data = data } }

// ImageProperty sets an extra property, as os_distro=flatcar.
func ImageProperty(key, value string) ImageOption {
	return func(im *image) { im.properties[key] = value }
}

// ImageVisibility sets public, private (the default: an image the project uploaded),
// shared or community.
func ImageVisibility(v string) ImageOption { return func(im *image) { im.visibility = v } }

// ImageMinRAM sets the memory in MiB a flavor needs to boot the image.
func ImageMinRAM(mib int) ImageOption { return func(im *image) { im.minRAM = mib } }

// AddImage seeds an active qcow2 image in the project and returns its ID. Each image is
// created after the previous one, so most_recent picks the last one added.
func (s *Server) AddImage(name string, opts ...ImageOption) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := &image{id: s.newID("image"), name: name, visibility: "private", diskFormat: "qcow2", containerFormat: "bare",
		properties: map[string]string{}, owner: s.projectID, seeded: true}
	for _, o := range opts {
		o(im)
	}
	if im.data == nil {
		im.data = []byte("openstacksim image " + name + "\n")
	}
	im.created = s.imageTime()
	im.updated = im.created
	s.storeImageData(im, im.data)
	s.images.put(im.id, im)
	return im.id
}

// imageTime is now, but later than every image made before, by a second if need be:
// Glance's times have seconds, and a newest image must be told apart.
func (s *Server) imageTime() time.Time {
	t := s.now().Truncate(time.Second)
	if !t.After(s.lastImageCreated) {
		t = s.lastImageCreated.Add(time.Second)
	}
	s.lastImageCreated = t
	return t
}

func (s *Server) storeImageData(im *image, data []byte) {
	sum := md5.Sum(data)
	hash := sha512.Sum512(data)
	im.data = data
	im.size = int64(len(data))
	im.checksum = hex.EncodeToString(sum[:])
	im.hashValue = hex.EncodeToString(hash[:])
	im.status = "active"
}

func (s *Server) imageJSON(im *image) map[string]any {
	out := map[string]any{}
	for k, v := range im.properties {
		out[k] = v
	}
	nullable := func(ok bool, v any) any {
		if !ok {
			return nil
		}
		return v
	}
	hasData := im.status == "active"
	maps.Copy(out, map[string]any{
		"id":               im.id,
		"name":             nilIfEmpty(im.name),
		"status":           im.status,
		"visibility":       im.visibility,
		"protected":        im.protected,
		"os_hidden":        im.hidden,
		"disk_format":      nilIfEmpty(im.diskFormat),
		"container_format": nilIfEmpty(im.containerFormat),
		"min_disk":         im.minDisk,
		"min_ram":          im.minRAM,
		"size":             nullable(hasData, im.size),
		"virtual_size":     nil,
		"checksum":         nullable(hasData, im.checksum),
		"os_hash_algo":     nullable(hasData, "sha512"),
		"os_hash_value":    nullable(hasData, im.hashValue),
		"owner":            im.owner,
		"tags":             append([]string{}, im.tags...),
		"created_at":       isoZ(im.created),
		"updated_at":       isoZ(im.updated),
		"self":             "/v2/images/" + im.id,
		"file":             "/v2/images/" + im.id + "/file",
		"schema":           "/v2/schemas/image",
	})
	return out
}

func (s *Server) imageVersions() map[string]any {
	var out []any
	for i, id := range []string{"v2.16", "v2.15", "v2.9", "v2.0"} {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		out = append(out, map[string]any{"id": id, "status": status, "links": []any{map[string]any{"rel": "self", "href": s.URL() + "/image/v2/"}}})
	}
	return map[string]any{"versions": out}
}

func (s *Server) imageRoutes() {
	s.handlePublic(imageSvc, "GET /image/{$}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusMultipleChoices, s.imageVersions(), nil
	})
	s.handlePublic(imageSvc, "GET /image/versions", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, s.imageVersions(), nil
	})
	const p = "/image/v2"
	s.handle(imageSvc, "GET "+p+"/images", s.listImages)
	s.handle(imageSvc, "POST "+p+"/images", s.createImage)
	s.handle(imageSvc, "GET "+p+"/images/{id}", s.withImage(func(im *image, w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, s.imageJSON(im), nil
	}))
	s.handle(imageSvc, "DELETE "+p+"/images/{id}", s.withImage(func(im *image, w http.ResponseWriter, r *http.Request) (int, any, error) {
		if im.protected {
			return 0, nil, errf(http.StatusForbidden, "", "Image %s is protected and cannot be deleted.", im.id)
		}
		s.images.del(im.id)
		return http.StatusNoContent, nil, nil
	}))
	s.handle(imageSvc, "PUT "+p+"/images/{id}/file", s.withImage(s.uploadImage))
	s.handle(imageSvc, "GET "+p+"/images/{id}/file", s.withImage(func(im *image, w http.ResponseWriter, r *http.Request) (int, any, error) {
		if im.status != "active" {
			return http.StatusNoContent, nil, nil
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-MD5", im.checksum)
		w.Header().Set("Content-Length", strconv.Itoa(len(im.data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(im.data)
		return 0, nil, errWritten
	}))
}

// errWritten tells handle the handler wrote its answer itself.
var errWritten = fmt.Errorf("answer written")

func (s *Server) withImage(h func(im *image, w http.ResponseWriter, r *http.Request) (int, any, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		im, ok := s.images.get(r.PathValue("id"))
		if !ok || !s.imageVisible(im) {
			return 0, nil, errf(http.StatusNotFound, "", "No image found with ID %s", r.PathValue("id"))
		}
		return h(im, w, r)
	}
}

func (s *Server) imageVisible(im *image) bool {
	return im.visibility == "public" || im.visibility == "community" || im.owner == s.projectID
}

// listImages is GET /v2/images: by default the images the project may use that are not
// hidden, newest first (api-ref image v2, "List images": sort defaults to created_at
// desc); next links to the following page.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	var out []*image
	for _, im := range s.images.list() {
		if !s.imageVisible(im) {
			continue
		}
		ok, err := imageMatches(im, q)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			out = append(out, im)
		}
	}
	type sortKey struct {
		key  string
		desc bool
	}
	var keys []sortKey
	if sv := q.Get("sort"); sv != "" {
		for part := range strings.SplitSeq(sv, ",") {
			k, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			if dir != "" && dir != "asc" && dir != "desc" {
				return 0, nil, errf(http.StatusBadRequest, "", "Invalid sort direction: %s", dir)
			}
			keys = append(keys, sortKey{k, dir != "asc"})
		}
	} else {
		dirs := q["sort_dir"]
		for i, k := range q["sort_key"] {
			keys = append(keys, sortKey{k, i >= len(dirs) || dirs[i] != "asc"})
		}
	}
	// Glance always sorts by created_at and id last, newest first (glance/db/sqlalchemy
	// /api.py, _image_get_all: default sort keys).
	for _, k := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(x sortKey) bool { return x.key == k }) {
			keys = append(keys, sortKey{k, true})
		}
	}
	for _, k := range keys {
		if !slices.Contains(imageSortKeys, k.key) {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid sort key: %s. It must be one of the following: %s.", k.key, strings.Join(imageSortKeys, ", "))
		}
	}
	slices.SortStableFunc(out, func(a, b *image) int {
		ja, jb := s.imageJSON(a), s.imageJSON(b)
		for _, k := range keys {
			var c int
			switch x := ja[k.key].(type) {
			case int:
				c = cmp.Compare(x, jb[k.key].(int))
			case int64:
				c = cmp.Compare(x, jb[k.key].(int64))
			default:
				c = cmp.Compare(fmt.Sprint(ja[k.key]), fmt.Sprint(jb[k.key]))
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if m := q.Get("marker"); m != "" {
		i := slices.IndexFunc(out, func(im *image) bool { return im.id == m })
		if i < 0 {
			return 0, nil, errf(http.StatusBadRequest, "", "marker %s could not be found.", m)
		}
		out = out[i+1:]
	}
	body := map[string]any{"schema": "/v2/schemas/images", "first": "/v2/images"}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, nil, errf(http.StatusBadRequest, "", "limit param must be an integer")
		}
		if len(out) > n {
			out = out[:n]
			if n > 0 {
				next := url.Values{}
				for k, v := range q {
					next[k] = v
				}
				next.Set("marker", out[n-1].id)
				body["next"] = "/v2/images?" + next.Encode()
			}
		}
	}
	list := []any{}
	for _, im := range out {
		list = append(list, s.imageJSON(im))
	}
	body["images"] = list
	return http.StatusOK, body, nil
}

// imageMatches applies the list filters; a parameter that is no attribute filters on
// the extra property of that name, as Glance does.
func imageMatches(im *image, q url.Values) (bool, error) {
	hidden := false
	visibility := ""
	for key, vals := range q {
		v := vals[0]
		switch key {
		case "limit", "marker", "sort", "sort_key", "sort_dir":
		case "name":
			if im.name != v {
				return false, nil
			}
		case "id":
			if im.id != strings.TrimPrefix(v, "in:") && !slices.Contains(strings.Split(strings.TrimPrefix(v, "in:"), ","), im.id) {
				return false, nil
			}
		case "status":
			if im.status != v {
				return false, nil
			}
		case "visibility":
			if !slices.Contains(append(visibilities, "all"), v) {
				return false, errf(http.StatusBadRequest, "", "Invalid visibility value: %s", v)
			}
			visibility = v
		case "os_hidden":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false, errf(http.StatusBadRequest, "", "Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", v)
			}
			hidden = b
		case "member_status":
			if im.visibility == "shared" && v != "accepted" && v != "all" {
				return false, nil
			}
		case "owner":
			if im.owner != v {
				return false, nil
			}
		case "tag":
			for _, t := range vals {
				if !slices.Contains(im.tags, t) {
					return false, nil
				}
			}
		case "size_min", "size_max":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false, errf(http.StatusBadRequest, "", "Invalid value for %s: %s", key, v)
			}
			if (key == "size_min" && im.size < n) || (key == "size_max" && im.size > n) {
				return false, nil
			}
		case "container_format":
			if im.containerFormat != v {
				return false, nil
			}
		case "disk_format":
			if im.diskFormat != v {
				return false, nil
			}
		case "protected":
			if strconv.FormatBool(im.protected) != strings.ToLower(v) {
				return false, nil
			}
		default:
			if im.properties[key] != v {
				return false, nil
			}
		}
	}
	if im.hidden != hidden {
		return false, nil
	}
	switch visibility {
	case "", "all":
		if im.visibility == "community" && visibility == "" {
			return false, nil
		}
	default:
		if im.visibility != visibility {
			return false, nil
		}
	}
	return true, nil
}

// createImage is POST /v2/images: the record is queued until its data is uploaded.
func (s *Server) createImage(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var raw map[string]json.RawMessage
	if err := readBody(r, &raw); err != nil {
		return 0, nil, err
	}
	im := &image{status: "queued", visibility: "shared", properties: map[string]string{}, owner: s.projectID}
	attrs := map[string]any{"id": &im.id, "name": &im.name, "visibility": &im.visibility, "protected": &im.protected,
		"os_hidden": &im.hidden, "disk_format": &im.diskFormat, "container_format": &im.containerFormat,
		"min_disk": &im.minDisk, "min_ram": &im.minRAM, "tags": &im.tags}
	for k, v := range raw {
		if slices.Contains(readOnlyImageAttrs, k) {
			return 0, nil, errf(http.StatusForbidden, "", "Attribute '%s' is read-only.", k)
		}
		var err error
		attr, known := attrs[k]
		switch {
		case known:
			err = json.Unmarshal(v, attr)
			if _, taken := s.images.get(im.id); k == "id" && err == nil && taken {
				return 0, nil, errf(http.StatusConflict, "", "Image with identifier %s already exists!", im.id)
			}
		case k == "owner":
			var owner string
			err = json.Unmarshal(v, &owner)
			if err == nil && owner != s.projectID {
				return 0, nil, errf(http.StatusForbidden, "", "You are not permitted to create images owned by '%s'.", owner)
			}
		default:
			var str string
			if json.Unmarshal(v, &str) != nil {
				return 0, nil, errf(http.StatusBadRequest, "", "Provided object does not match schema 'image': %s is not of type 'string'", k)
			}
			im.properties[k] = str
		}
		if err != nil {
			return 0, nil, errf(http.StatusBadRequest, "", "Provided object does not match schema 'image': %s: %v", k, err)
		}
	}
	switch {
	case im.diskFormat != "" && !slices.Contains(diskFormats, im.diskFormat):
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid value '%s' for parameter 'disk_format': The image disk format must be one of %s", im.diskFormat, strings.Join(diskFormats, ", "))
	case im.containerFormat != "" && !slices.Contains(containerFormats, im.containerFormat):
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid value '%s' for parameter 'container_format': The image container format must be one of %s", im.containerFormat, strings.Join(containerFormats, ", "))
	case !slices.Contains(visibilities, im.visibility):
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid value '%s' for parameter 'visibility'", im.visibility)
	case im.visibility == "public":
		// Publicizing an image is an administrator's (glance policy publicize_image).
		return 0, nil, errf(http.StatusForbidden, "", "You are not authorized to complete publicize_image action.")
	case len(im.name) > 255:
		return 0, nil, errf(http.StatusBadRequest, "", "Provided object does not match schema 'image': name is too long")
	}
	if im.id == "" {
		im.id = s.newID("image")
	}
	im.created = s.imageTime()
	im.updated = im.created
	s.images.put(im.id, im)
	w.Header().Set("Location", s.URL()+"/image/v2/images/"+im.id)
	return http.StatusCreated, s.imageJSON(im), nil
}

// uploadImage is PUT /v2/images/{id}/file: the data of a queued image with its formats
// set; it is active with its checksum and hash once stored.
func (s *Server) uploadImage(im *image, w http.ResponseWriter, r *http.Request) (int, any, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/octet-stream" {
		return 0, nil, errf(http.StatusUnsupportedMediaType, "", "The request has a Content-Type of %q; application/octet-stream is required.", r.Header.Get("Content-Type"))
	}
	if im.status != "queued" {
		return 0, nil, errf(http.StatusConflict, "", "Image status transition from %s to saving is not allowed", im.status)
	}
	if im.diskFormat == "" || im.containerFormat == "" {
		return 0, nil, errf(http.StatusBadRequest, "", "Properties disk_format, container_format must be set prior to saving data.")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return 0, nil, errf(http.StatusBadRequest, "", "reading the image data: %v", err)
	}
	s.storeImageData(im, data)
	im.updated = s.now()
	return http.StatusNoContent, nil, nil
}
