package openstacksim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// What Neutron v2.0 does alike for its resources: the attributes every one has, list,
// show, update and delete, tags (api-ref network v2, "Tag extension"), filters, sorting
// and pages, and the checks of request bodies. Messages are neutron-lib's exceptions
// (neutron_lib/exceptions/__init__.py, l3.py).

const networkPrefix = "/network/v2.0"

// neutronMeta is what every Neutron resource has.
type neutronMeta struct {
	id, name, description string
	projectID             string
	tags                  []string
	created, updated      time.Time
	revision              int
	seeded                bool // the cloud's, not made through the API
}

func (m *neutronMeta) meta() *neutronMeta { return m }

func (m *neutronMeta) touch(now time.Time) {
	m.updated = now
	m.revision++
}

func (m *neutronMeta) fields(out map[string]any) map[string]any {
	out["id"] = m.id
	out["name"] = m.name
	out["description"] = m.description
	out["tenant_id"] = m.projectID
	out["project_id"] = m.projectID
	out["tags"] = append([]string{}, m.tags...)
	out["created_at"] = isoZ(m.created)
	out["updated_at"] = isoZ(m.updated)
	out["revision_number"] = m.revision
	return out
}

// describe checks and sets the name and the description a request gives.
func (m *neutronMeta) describe(name, description *string) error {
	if name != nil {
		if err := checkName(*name, "name"); err != nil {
			return err
		}
	}
	set(&m.name, name)
	set(&m.description, description)
	return nil
}

// set assigns an attribute a request gives; nil leaves it as it is.
func set[T any](attr *T, given *T) {
	if given != nil {
		*attr = *given
	}
}

// neutronResource is a pointer to a struct that embeds neutronMeta.
type neutronResource interface{ meta() *neutronMeta }

// neutronStore holds the resources of one kind in creation order and serves what the
// API does alike for every kind: list, create, show, update, delete and tags. What
// differs between kinds is set in its fields.
type neutronStore[T neutronResource] struct {
	table[T]
	s *Server
	// collection names the kind in paths ("security-groups"); its keys in bodies and
	// its name in Leftovers and messages derive from it.
	collection string
	// missing is the exception of an unknown ID, notFound its message with the ID for %s.
	missing, notFound string
	render            func(T) map[string]any
	create            func(r *http.Request) (T, error)
	// update checks and applies a PUT's body; the revision goes up after. nil: no PUT.
	update func(v T, r *http.Request) error
	// remove checks that the resource may go and deletes it with what goes with it.
	remove func(v T) error
	tagged bool // has the standard-attr-tag routes
}

// kind names one resource in Leftovers and in the tags' 404: "security-group".
func (st *neutronStore[T]) kind() string { return strings.TrimSuffix(st.collection, "s") }

// plural is the key of a list: "security_groups".
func (st *neutronStore[T]) plural() string { return strings.ReplaceAll(st.collection, "-", "_") }

// key is the key of one resource in bodies: "security_group".
func (st *neutronStore[T]) key() string { return strings.TrimSuffix(st.plural(), "s") }

// unknown is the kind's 404 for an ID it has not.
func (st *neutronStore[T]) unknown(id string) error {
	return errf(http.StatusNotFound, st.missing, st.notFound, id)
}

// find returns the resource with an ID, or the kind's 404.
func (st *neutronStore[T]) find(id string) (T, error) {
	v, ok := st.get(id)
	if !ok {
		return v, st.unknown(id)
	}
	return v, nil
}

// on answers a request about the resource the path names, with missing's error when
// there is none.
func (st *neutronStore[T]) on(missing func(id string) error, h func(v T, r *http.Request) (int, any, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, ok := st.get(r.PathValue("id"))
		if !ok {
			return 0, nil, missing(r.PathValue("id"))
		}
		return h(v, r)
	}
}

// routes registers the kind's list, create, show, update and delete routes, and its
// tags' when it has them.
func (st *neutronStore[T]) routes() {
	s, all := st.s, networkPrefix+"/"+st.collection
	one := all + "/{id}"
	answer := func(status int, v T) (int, any, error) {
		return status, map[string]any{st.key(): st.render(v)}, nil
	}
	s.handle(networkSvc, "GET "+all, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var items []map[string]any
		for _, v := range st.list() {
			items = append(items, st.render(v))
		}
		return s.neutronList(r, st.plural(), items)
	})
	s.handle(networkSvc, "POST "+all, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := st.create(r)
		if err != nil {
			return 0, nil, err
		}
		return answer(http.StatusCreated, v)
	})
	s.handle(networkSvc, "GET "+one, st.on(st.unknown, func(v T, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{st.key(): pickFields(st.render(v), r.URL.Query()["fields"])}, nil
	}))
	if st.update != nil {
		s.handle(networkSvc, "PUT "+one, st.on(st.unknown, func(v T, r *http.Request) (int, any, error) {
			if err := st.update(v, r); err != nil {
				return 0, nil, err
			}
			v.meta().touch(s.now())
			return answer(http.StatusOK, v)
		}))
	}
	s.handle(networkSvc, "DELETE "+one, st.on(st.unknown, func(v T, r *http.Request) (int, any, error) {
		if err := st.remove(v); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	}))
	if st.tagged {
		st.tagRoutes()
	}
}

// leftovers adds the resources made through the API to Leftovers' list.
func (st *neutronStore[T]) leftovers(add func(kind, id, name string)) {
	for _, v := range st.list() {
		if m := v.meta(); !m.seeded {
			add(st.kind(), m.id, m.name)
		}
	}
}

// tagRoutes registers the tags of the kind's resources (api-ref network v2, "Tag
// extension"): replace all, remove all, check, add and remove one.
func (st *neutronStore[T]) tagRoutes() {
	s := st.s
	missing := func(id string) error {
		return errf(http.StatusNotFound, "NotFound", "%s %s could not be found.", st.kind(), id)
	}
	handle := func(method, path string, h func(m *neutronMeta, r *http.Request) (int, any, error)) {
		s.handle(networkSvc, method+" "+networkPrefix+"/"+st.collection+"/{id}/tags"+path, st.on(missing, func(v T, r *http.Request) (int, any, error) {
			return h(v.meta(), r)
		}))
	}
	retag := func(m *neutronMeta, tags []string) {
		m.tags = tags
		m.touch(s.now())
	}
	tagMissing := func(m *neutronMeta, tag string) error {
		return errf(http.StatusNotFound, "TagNotFound", "Tag %s could not be found for %s %s.", tag, st.collection, m.id)
	}
	handle("GET", "", func(m *neutronMeta, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"tags": append([]string{}, m.tags...)}, nil
	})
	handle("PUT", "", func(m *neutronMeta, r *http.Request) (int, any, error) {
		var req struct {
			Tags *[]string `json:"tags"`
		}
		if err := readBody(r, &req); err != nil {
			return 0, nil, err
		}
		if req.Tags == nil {
			return 0, nil, errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for operation: 'tags' is required.")
		}
		tags, err := checkTags(*req.Tags)
		if err != nil {
			return 0, nil, err
		}
		retag(m, tags)
		return http.StatusOK, map[string]any{"tags": append([]string{}, m.tags...)}, nil
	})
	handle("DELETE", "", func(m *neutronMeta, r *http.Request) (int, any, error) {
		retag(m, nil)
		return http.StatusNoContent, nil, nil
	})
	handle("GET", "/{tag}", func(m *neutronMeta, r *http.Request) (int, any, error) {
		if !slices.Contains(m.tags, r.PathValue("tag")) {
			return 0, nil, tagMissing(m, r.PathValue("tag"))
		}
		return http.StatusNoContent, nil, nil
	})
	handle("PUT", "/{tag}", func(m *neutronMeta, r *http.Request) (int, any, error) {
		tags, err := checkTags(append(slices.Clone(m.tags), r.PathValue("tag")))
		if err != nil {
			return 0, nil, err
		}
		retag(m, tags)
		return http.StatusCreated, nil, nil
	})
	handle("DELETE", "/{tag}", func(m *neutronMeta, r *http.Request) (int, any, error) {
		i := slices.Index(m.tags, r.PathValue("tag"))
		if i < 0 {
			return 0, nil, tagMissing(m, r.PathValue("tag"))
		}
		retag(m, slices.Delete(m.tags, i, i+1))
		return http.StatusNoContent, nil, nil
	})
}

// checkTags applies the standard-attr-tag rules: at most 255 characters, no comma
// (neutron/extensions/tagging.py, validate_tag).
func checkTags(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		if t == "" || len(t) > 255 || strings.Contains(t, ",") {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid input for operation: '%s' is not a valid tag.", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// neutronBody decodes {"<key>": {...}} and refuses attributes the resource does not
// have, as Neutron's API layer does ("Unrecognized attribute(s)").
func neutronBody(r *http.Request, key string, allowed []string, v any) error {
	var raw map[string]map[string]json.RawMessage
	if err := readBody(r, &raw); err != nil {
		return err
	}
	body, ok := raw[key]
	if !ok {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Resource body required")
	}
	var unknown []string
	for k := range body {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	data, _ := json.Marshal(body)
	if err := json.Unmarshal(data, v); err != nil {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for operation: %v.", err)
	}
	return nil
}

func checkName(name, what string) error {
	if len(name) > 255 {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for %s. Reason: '%s' exceeds maximum length of 255.", what, name)
	}
	return nil
}

// required is Neutron's answer to a create without an attribute it requires.
func required(attr, value string) error {
	if value == "" {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Failed to parse request. Required attribute '%s' not specified", attr)
	}
	return nil
}

// policyDenied is Neutron's answer to an attribute only administrators may set.
func policyDenied(rule string) error {
	return errf(http.StatusForbidden, "PolicyNotAuthorized", "(rule:%s) is disallowed by policy", rule)
}
