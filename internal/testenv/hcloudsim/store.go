package hcloudsim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// meta is what every stored resource has.
type meta struct {
	id               int64
	name             string
	labels           map[string]string
	created          time.Time
	deleteProtection bool
}

func (m *meta) base() *meta { return m }

// resource is a pointer to a struct that embeds meta.
type resource interface{ base() *meta }

// actionHandler answers POST .../{id}/actions/<name> for one resource.
type actionHandler[T resource] func(v T, r *http.Request) (int, any, error)

// store holds the resources of one kind and serves what the API does alike for
// every kind: list with filters, sorting and pages, get, update of name and labels,
// delete with delete protection, the kind's actions and the actions of a resource.
// What differs between kinds is set in its fields; creation is the kind's own.
type store[T resource] struct {
	sim        *Server
	kind       string // the type in action resources, and the counter of IDs: "primary_ip"
	noun       string // in messages: "primary IP"
	collection string // in paths and as the key of lists: "primary_ips"
	items      map[int64]T

	render func(T) any
	sort   []string // the sort fields besides id: "name", "created"
	// filter parses the kind's own list filters; nil when there are none.
	filter func(q url.Values) (func(T) bool, error)
	// unlabelled kinds (the catalogue) accept label selectors but match every entry.
	unlabelled bool
	// listExtra adds to a list answer, given the sorted matches.
	listExtra func(list []T, body map[string]any)
	readOnly  bool // only list and get
	// byName kinds (zones) are addressed by ID or name in paths.
	byName bool

	checkName     func(f *fieldErrors, name string)
	keepEmptyName bool                             // an empty name in an update leaves the name unchanged
	duplicate     func(name string) string         // the message for a taken name; nil for "<noun> with name ... already exists"
	update        func(v T, r *http.Request) error // nil: name and labels

	// deletable checks a resource without delete protection may be deleted now.
	deletable func(v T) error
	// remove deletes a resource; nil removes it at once and answers 204.
	remove func(v T) (int, any, error)

	actions map[string]actionHandler[T]
	// actionRoutes gives each action its own route, so that an unknown action has
	// no route at all, as for firewalls and images; else an unknown one is not_found.
	actionRoutes bool
	beforeAction func(v T) error // checks before any action
	lockActions  bool            // no action while another one holds the resource

	// protectable kinds have a change_protection action for delete protection,
	// which requires "delete" with protectRequired, and first runs protectCheck.
	protectable     bool
	protectRequired bool
	protectCheck    func(v T) error
}

func (st *store[T]) newMeta(name string, labels map[string]string) meta {
	return meta{id: st.sim.newID(st.kind), name: name, labels: labels, created: st.sim.now()}
}

func (st *store[T]) put(v T) T {
	st.items[v.base().id] = v
	return v
}

func (st *store[T]) ref(id int64) resourceRef { return ref(st.kind, id) }

// sorted returns the resources ordered by ID.
func (st *store[T]) sorted() []T {
	return sortedValues(st.items, func(v T) int64 { return v.base().id })
}

// lookup finds a resource by ID, or by name when the value is not a number.
func (st *store[T]) lookup(idOrName string) (T, bool) {
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		v, ok := st.items[id]
		return v, ok
	}
	for _, v := range st.items {
		if v.base().name == idOrName {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// resolve finds the resource a path names, by ID or, for byName kinds, by name.
func (st *store[T]) resolve(v string) (T, bool) {
	if st.byName {
		return st.lookup(v)
	}
	id, _ := strconv.ParseInt(v, 10, 64)
	item, ok := st.items[id]
	return item, ok
}

func (st *store[T]) fromPath(r *http.Request) (T, error) {
	var zero T
	if st.byName {
		v, ok := st.lookup(r.PathValue("id"))
		if !ok {
			return zero, errNotFound(st.noun, r.PathValue("id"))
		}
		return v, nil
	}
	id, err := pathID(r, st.noun)
	if err != nil {
		return zero, err
	}
	v, ok := st.items[id]
	if !ok {
		return zero, errNotFound(st.noun, id)
	}
	return v, nil
}

// unique checks that no other resource has the name.
func (st *store[T]) unique(name string, except int64) error {
	for _, v := range st.items {
		if b := v.base(); b.name == name && b.id != except {
			msg := fmt.Sprintf("%s with name %q already exists", st.noun, name)
			if st.duplicate != nil {
				msg = st.duplicate(name)
			}
			return errUniqueness("name", msg)
		}
	}
	return nil
}

// unlocked checks that no running action holds the resource.
func (st *store[T]) unlocked(v T) error {
	if id := v.base().id; st.sim.busy(st.kind, id) {
		return errLocked(st.noun, id)
	}
	return nil
}

// gone is the failure of an action whose resource was deleted meanwhile.
func (st *store[T]) gone(id int64) *actionFailure {
	return &actionFailure{st.kind + "_not_found", fmt.Sprintf("%s %d no longer exists", st.noun, id)}
}

// change returns an action effect that applies fn to the resource if it still exists.
func (st *store[T]) change(id int64, fn func(T)) func() *actionFailure {
	return func() *actionFailure {
		if v, ok := st.items[id]; ok {
			fn(v)
		}
		return nil
	}
}

// must returns an action effect that applies fn to the resource, and fails when
// the resource no longer exists.
func (st *store[T]) must(id int64, fn func(T) *actionFailure) func() *actionFailure {
	return func() *actionFailure {
		v, ok := st.items[id]
		if !ok {
			return st.gone(id)
		}
		return fn(v)
	}
}

// rename checks and sets a new name and labels, either of which may be nil; f may
// already hold the errors of the kind's own fields.
func (st *store[T]) rename(v T, name *string, labels *map[string]string, f *fieldErrors) error {
	if name != nil {
		st.checkName(f, *name)
	}
	checked := checkLabels(f, labels)
	if err := f.err(); err != nil {
		return err
	}
	b := v.base()
	if name != nil {
		if err := st.unique(*name, b.id); err != nil {
			return err
		}
		b.name = *name
	}
	if labels != nil {
		b.labels = checked
	}
	return nil
}

func (st *store[T]) updateNameAndLabels(v T, r *http.Request) error {
	var req struct {
		Name   *string            `json:"name"`
		Labels *map[string]string `json:"labels"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if st.keepEmptyName && req.Name != nil && *req.Name == "" {
		req.Name = nil
	}
	return st.rename(v, req.Name, req.Labels, &fieldErrors{})
}

// updateLabels answers an update that may only change labels.
func updateLabels(r *http.Request, labels *map[string]string) error {
	var req struct {
		Labels *map[string]string `json:"labels"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var f fieldErrors
	checked := checkLabels(&f, req.Labels)
	if err := f.err(); err != nil {
		return err
	}
	if req.Labels != nil {
		*labels = checked
	}
	return nil
}

// protect is the change_protection action of a protectable kind.
func (st *store[T]) protect(v T, r *http.Request) (int, any, error) {
	var req struct {
		Delete *bool `json:"delete"`
	}
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if st.protectCheck != nil {
		if err := st.protectCheck(v); err != nil {
			return 0, nil, err
		}
	}
	if st.protectRequired && req.Delete == nil {
		return 0, nil, invalidInput("delete", "is required")
	}
	id := v.base().id
	return st.sim.actionStarted(st.sim.startAction("change_protection", st.change(id, func(v T) {
		if req.Delete != nil {
			v.base().deleteProtection = *req.Delete
		}
	}), st.ref(id)))
}

// answerList sorts items as the query asks and renders one page of them under key.
func answerList[T any](w http.ResponseWriter, r *http.Request, key string, items []T, keys sortKeys[T], render func(T) any) (map[string]any, error) {
	if err := sortList(r.URL.Query(), items, keys); err != nil {
		return nil, err
	}
	page, meta, err := paginate(w, r, items)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, v := range page {
		out = append(out, render(v))
	}
	return map[string]any{key: out, "meta": meta}, nil
}

func (st *store[T]) list(w http.ResponseWriter, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	f, err := parseListFilter(q)
	if err != nil {
		return 0, nil, err
	}
	if st.unlabelled {
		f.selector = nil
	}
	match := func(T) bool { return true }
	if st.filter != nil {
		if match, err = st.filter(q); err != nil {
			return 0, nil, err
		}
	}
	var list []T
	for _, v := range st.items {
		if b := v.base(); f.matches(b.name, b.labels) && match(v) {
			list = append(list, v)
		}
	}
	keys := sortKeys[T]{"id": byID(func(v T) int64 { return v.base().id })}
	for _, field := range st.sort {
		switch field {
		case "name":
			keys[field] = byString(func(v T) string { return v.base().name })
		case "created":
			keys[field] = func(a, b T) int { return a.base().created.Compare(b.base().created) }
		}
	}
	body, err := answerList(w, r, st.collection, list, keys, st.render)
	if err != nil {
		return 0, nil, err
	}
	if st.listExtra != nil {
		st.listExtra(list, body)
	}
	return http.StatusOK, body, nil
}

// routes registers the kind's list, get, update, delete and action routes.
func (st *store[T]) routes() {
	s, one := st.sim, "/v1/"+st.collection+"/{id}"
	answer := func(v T) (int, any, error) {
		return http.StatusOK, map[string]any{st.kind: st.render(v)}, nil
	}
	s.handle("GET /v1/"+st.collection, st.list)
	s.handle("GET "+one, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := st.fromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return answer(v)
	})
	if st.readOnly {
		return
	}
	update := st.update
	if update == nil {
		update = st.updateNameAndLabels
	}
	s.handle("PUT "+one, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := st.fromPath(r)
		if err == nil {
			err = update(v, r)
		}
		if err != nil {
			return 0, nil, err
		}
		return answer(v)
	})
	s.handle("DELETE "+one, st.delete)
	if st.protectable {
		if st.actions == nil {
			st.actions = map[string]actionHandler[T]{}
		}
		st.actions["change_protection"] = st.protect
	}
	if len(st.actions) == 0 {
		return
	}
	st.actionListRoutes()
	if !st.actionRoutes {
		s.handle("POST "+one+"/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			return st.act(r, r.PathValue("action"))
		})
		return
	}
	for name := range st.actions {
		s.handle("POST "+one+"/actions/"+name, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			return st.act(r, name)
		})
	}
}

func (st *store[T]) delete(w http.ResponseWriter, r *http.Request) (int, any, error) {
	v, err := st.fromPath(r)
	if err != nil {
		return 0, nil, err
	}
	b := v.base()
	if b.deleteProtection {
		return 0, nil, errProtected(fmt.Sprintf("%s %d is delete protected", st.noun, b.id))
	}
	if st.deletable != nil {
		if err := st.deletable(v); err != nil {
			return 0, nil, err
		}
	}
	if st.remove != nil {
		return st.remove(v)
	}
	delete(st.items, b.id)
	return http.StatusNoContent, nil, nil
}

func (st *store[T]) act(r *http.Request, name string) (int, any, error) {
	v, err := st.fromPath(r)
	if err != nil {
		return 0, nil, err
	}
	h, ok := st.actions[name]
	if !ok {
		return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("%s action %q not found", st.noun, name))
	}
	if st.beforeAction != nil {
		if err := st.beforeAction(v); err != nil {
			return 0, nil, err
		}
	}
	if st.lockActions {
		if err := st.unlocked(v); err != nil {
			return 0, nil, err
		}
	}
	return h(v, r)
}
