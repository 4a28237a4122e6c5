package openstacksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
)

// apiError is an error answer; writeError shapes it after the service.
type apiError struct {
	status  int
	kind    string // Neutron's exception name ("NetworkInUse"); unused elsewhere
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.kind, e.message) }

func errf(status int, kind, format string, args ...any) *apiError {
	return &apiError{status: status, kind: kind, message: fmt.Sprintf(format, args...)}
}

// novaFaults are the keys of Nova's error bodies by status (nova/api/openstack/wsgi.py,
// Fault._fault_names); Cinder took the same class (cinder/api/openstack/wsgi.py).
var novaFaults = map[int]string{
	400: "badRequest",
	401: "unauthorized",
	403: "forbidden",
	404: "itemNotFound",
	405: "badMethod",
	409: "conflictingRequest",
	413: "overLimit",
	415: "badMediaType",
	429: "overLimit",
	501: "notImplemented",
	503: "serviceUnavailable",
}

// keystoneErrorBody is Keystone's error shape (keystone/exception.py, Error, rendered by
// keystone/server/flask/common.py), which keystonemiddleware also answers with.
func keystoneErrorBody(status int, message string) map[string]any {
	title := http.StatusText(status)
	return map[string]any{"error": map[string]any{"code": status, "title": title, "message": message}}
}

func writeError(w http.ResponseWriter, svc service, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, kind: "HTTPInternalServerError", message: err.Error()}
	}
	var body any
	switch svc {
	case identitySvc:
		body = keystoneErrorBody(e.status, e.message)
	case computeSvc, volumeSvc:
		name, ok := novaFaults[e.status]
		if !ok {
			name = "computeFault"
		}
		body = map[string]any{name: map[string]any{"code": e.status, "message": e.message}}
	case networkSvc:
		kind := e.kind
		if kind == "" {
			kind = "HTTP" + http.StatusText(e.status)
		}
		// neutron/api/v2/base.py and neutron_lib's FaultWrapper: type, message, detail.
		body = map[string]any{"NeutronError": map[string]any{"type": kind, "message": e.message, "detail": ""}}
	case imageSvc:
		// Glance raises webob HTTP exceptions; for a JSON Accept webob renders them with
		// its json_formatter (webob/exc.py): message, code ("404 Not Found"), title.
		body = map[string]any{
			"message": e.message,
			"code":    fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)),
			"title":   http.StatusText(e.status),
		}
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// readBody reads a JSON request body into v; every OpenStack service answers a body it
// cannot parse with 400.
func readBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "The request body is empty, a JSON body is required.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errf(http.StatusBadRequest, "HTTPBadRequest", "Malformed request body: %v", err)
	}
	return nil
}

// readRequired reads a Nova or Cinder body whose one object, key, is required; given
// tells whether the body had it.
func readRequired(r *http.Request, body any, key string, given func() bool) error {
	if err := readBody(r, body); err != nil {
		return err
	}
	if !given() {
		return errf(http.StatusBadRequest, "", "Invalid input for field/attribute %s. '%s' is a required property", key, key)
	}
	return nil
}

// readAction reads the body of a Nova or Cinder action: one key, the action's name, with
// the action's arguments.
func readAction(r *http.Request) (string, json.RawMessage, error) {
	var req map[string]json.RawMessage
	if err := readBody(r, &req); err != nil {
		return "", nil, err
	}
	if len(req) != 1 {
		return "", nil, errf(http.StatusBadRequest, "", "Malformed request body: an action needs exactly one key")
	}
	name := slices.Collect(maps.Keys(req))[0]
	return name, req[name], nil
}

func readAll(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "HTTPBadRequest", "reading the request body: %v", err)
	}
	return data, nil
}

func bodyOf(data []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(data)) }
