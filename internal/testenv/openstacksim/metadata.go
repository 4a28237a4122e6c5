package openstacksim

import (
	"maps"
	"net/http"
)

// metadataAPI is the metadata API Nova's servers and Cinder's volumes share (api-ref
// compute, "Server metadata"; block storage, "Volume metadata"): show, update, replace,
// show one key and delete one. What differs between the two is set in its fields.
type metadataAPI[T any] struct {
	with     func(h func(v T, w http.ResponseWriter, r *http.Request) (int, any, error)) handlerFunc
	of       func(v T) *map[string]string
	required string                      // the message of a body without metadata
	missing  func(v T, key string) error // the answer for a key the resource has not
	changed  func(v T)                   // notes a change; nil when there is nothing to note
	deleted  int                         // the status that answers a deleted key
}

func (m metadataAPI[T]) routes(s *Server, svc service, base string) {
	handle := func(method, path string, h func(v T, md *map[string]string, r *http.Request) (int, any, error)) {
		s.handle(svc, method+" "+base+path, m.with(func(v T, w http.ResponseWriter, r *http.Request) (int, any, error) {
			return h(v, m.of(v), r)
		}))
	}
	changed := func(v T) {
		if m.changed != nil {
			m.changed(v)
		}
	}
	handle("GET", "", func(v T, md *map[string]string, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"metadata": maps.Clone(*md)}, nil
	})
	for method, replace := range map[string]bool{"POST": false, "PUT": true} {
		handle(method, "", func(v T, md *map[string]string, r *http.Request) (int, any, error) {
			var req struct {
				Metadata map[string]string `json:"metadata"`
			}
			if err := readBody(r, &req); err != nil {
				return 0, nil, err
			}
			if req.Metadata == nil {
				return 0, nil, errf(http.StatusBadRequest, "", "%s", m.required)
			}
			if err := checkMetadata(req.Metadata); err != nil {
				return 0, nil, err
			}
			if replace {
				*md = map[string]string{}
			}
			maps.Copy(*md, req.Metadata)
			changed(v)
			return http.StatusOK, map[string]any{"metadata": maps.Clone(*md)}, nil
		})
	}
	handle("GET", "/{key}", func(v T, md *map[string]string, r *http.Request) (int, any, error) {
		key := r.PathValue("key")
		val, ok := (*md)[key]
		if !ok {
			return 0, nil, m.missing(v, key)
		}
		return http.StatusOK, map[string]any{"meta": map[string]string{key: val}}, nil
	})
	handle("DELETE", "/{key}", func(v T, md *map[string]string, r *http.Request) (int, any, error) {
		key := r.PathValue("key")
		if _, ok := (*md)[key]; !ok {
			return 0, nil, m.missing(v, key)
		}
		delete(*md, key)
		changed(v)
		return m.deleted, nil, nil
	})
}

// checkMetadata applies the limits both services set on metadata.
func checkMetadata(m map[string]string) error {
	for k, v := range m {
		if k == "" || len(k) > 255 || len(v) > 255 {
			return errf(http.StatusBadRequest, "", "Invalid input for field/attribute metadata. Keys must be 1 to 255 characters, values at most 255")
		}
	}
	return nil
}
