package hcloudsim

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// action is an asynchronous operation. Its effect on the state is applied when it
// completes, so the resources it changes show the result only once the action has
// succeeded, as with the real API.
type action struct {
	id        int64
	command   string
	started   time.Time
	due       time.Time
	finished  time.Time
	status    string
	resources []resourceRef
	// locks are the resources no other action may change while this one runs.
	locks   []resourceRef
	effect  func() *actionFailure
	errCode string
	errMsg  string
}

type resourceRef struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// actionFailure makes an action end with status error.
type actionFailure struct {
	code, message string
}

func ref(kind string, id int64) resourceRef { return resourceRef{ID: id, Type: kind} }

// startAction records a running action whose effect is applied on completion. The
// first resource is locked while the action runs.
func (s *Server) startAction(command string, effect func() *actionFailure, resources ...resourceRef) *action {
	now := s.now()
	a := &action{
		id:        s.newID("action"),
		command:   command,
		started:   now,
		due:       now.Add(s.actionDelay),
		status:    "running",
		resources: resources,
		effect:    effect,
	}
	if len(resources) > 0 {
		a.locks = resources[:1]
	}
	s.actions[a.id] = a
	return a
}

// settle completes the running actions that are due, in the order they started.
func (s *Server) settle(now time.Time) {
	var due []*action
	for _, a := range s.actions {
		if a.status == "running" && !now.Before(a.due) {
			due = append(due, a)
		}
	}
	slices.SortFunc(due, func(a, b *action) int { return cmp.Compare(a.id, b.id) })
	for _, a := range due {
		a.status = "success"
		a.finished = now
		if a.effect != nil {
			if failure := a.effect(); failure != nil {
				a.status = "error"
				a.errCode, a.errMsg = failure.code, failure.message
			}
		}
	}
}

// busy reports whether a running action holds a lock on the resource.
func (s *Server) busy(kind string, id int64) bool {
	for _, a := range s.actions {
		if a.status == "running" && slices.Contains(a.locks, ref(kind, id)) {
			return true
		}
	}
	return false
}

type actionJSON struct {
	ID        int64            `json:"id"`
	Command   string           `json:"command"`
	Status    string           `json:"status"`
	Progress  int              `json:"progress"`
	Started   time.Time        `json:"started"`
	Finished  *time.Time       `json:"finished"`
	Resources []resourceRef    `json:"resources"`
	Error     *actionErrorJSON `json:"error"`
}

type actionErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) renderAction(a *action) actionJSON {
	out := actionJSON{
		ID:        a.id,
		Command:   a.command,
		Status:    a.status,
		Started:   a.started,
		Resources: a.resources,
	}
	if out.Resources == nil {
		out.Resources = []resourceRef{}
	}
	switch a.status {
	case "running":
		if total := a.due.Sub(a.started); total > 0 {
			out.Progress = min(99, int(100*s.now().Sub(a.started)/total))
		}
	default:
		out.Progress = 100
		finished := a.finished
		out.Finished = &finished
	}
	if a.status == "error" {
		out.Error = &actionErrorJSON{Code: a.errCode, Message: a.errMsg}
	}
	return out
}

func (s *Server) renderActions(actions []*action) []actionJSON {
	out := make([]actionJSON, 0, len(actions))
	for _, a := range actions {
		out = append(out, s.renderAction(a))
	}
	return out
}

// actionListRoutes serves the actions of one resource, such as
// GET /v1/servers/{id}/actions and GET /v1/servers/{id}/actions/{action_id}.
func (st *store[T]) actionListRoutes() {
	s := st.sim
	lookup := func(r *http.Request) (int64, error) {
		v, ok := st.resolve(r.PathValue("id"))
		if !ok {
			return 0, errNotFound(st.kind, r.PathValue("id"))
		}
		return v.base().id, nil
	}
	concerns := func(a *action, id int64) bool { return slices.Contains(a.resources, st.ref(id)) }

	s.handle("GET /v1/"+st.collection+"/{id}/actions", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := lookup(r)
		if err != nil {
			return 0, nil, err
		}
		var list []*action
		for _, a := range s.actions {
			if concerns(a, id) {
				list = append(list, a)
			}
		}
		return s.answerActions(w, r, list)
	})

	s.handle("GET /v1/"+st.collection+"/{id}/actions/{action_id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := lookup(r)
		if err != nil {
			return 0, nil, err
		}
		actionID, err := strconv.ParseInt(r.PathValue("action_id"), 10, 64)
		a, ok := s.actions[actionID]
		if err != nil || !ok || !concerns(a, id) {
			return 0, nil, errNotFound("action", r.PathValue("action_id"))
		}
		return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
	})
}

// answerActions answers a list of actions, filtered by the status query parameter.
func (s *Server) answerActions(w http.ResponseWriter, r *http.Request, list []*action) (int, any, error) {
	q := r.URL.Query()
	list = slices.DeleteFunc(list, func(a *action) bool {
		return len(q["status"]) > 0 && !slices.Contains(q["status"], a.status)
	})
	body, err := answerList(w, r, "actions", list, sortKeys[*action]{
		"id":       byID(func(a *action) int64 { return a.id }),
		"command":  byString(func(a *action) string { return a.command }),
		"status":   byString(func(a *action) string { return a.status }),
		"started":  func(a, b *action) int { return a.started.Compare(b.started) },
		"finished": func(a, b *action) int { return a.finished.Compare(b.finished) },
		"progress": func(a, b *action) int { return cmp.Compare(s.renderAction(a).Progress, s.renderAction(b).Progress) },
	}, func(a *action) any { return s.renderAction(a) })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, body, nil
}

func (s *Server) actionRoutes() {
	s.handle("GET /v1/actions/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := pathID(r, "action")
		if err != nil {
			return 0, nil, err
		}
		a, ok := s.actions[id]
		if !ok {
			return 0, nil, errNotFound("action", id)
		}
		return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
	})

	// Listing all actions of a project was removed from the API; actions are listed
	// by ID, which is how clients poll them.
	s.handle("GET /v1/actions", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		ids, err := queryIDs(r.URL.Query(), "id")
		if err != nil {
			return 0, nil, err
		}
		if len(ids) == 0 {
			return 0, nil, invalidInput("id", "is required: listing all actions is no longer supported")
		}
		var list []*action
		for _, id := range ids {
			if a, ok := s.actions[id]; ok && !slices.Contains(list, a) {
				list = append(list, a)
			}
		}
		return s.answerActions(w, r, list)
	})
}

// actionStarted is the 201 answer to a resource action: the action, still running.
func (s *Server) actionStarted(a *action) (int, any, error) {
	return http.StatusCreated, map[string]any{"action": s.renderAction(a)}, nil
}
