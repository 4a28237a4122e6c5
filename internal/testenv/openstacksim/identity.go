package openstacksim

import (
	"net/http"
	"slices"
	"time"
)

// Keystone v3: version discovery and tokens. The catalog of a token lists every service
// of the simulator for the one region, each with a public and an internal endpoint.

func (s *Server) identityRoutes() {
	s.handlePublic(identitySvc, "GET /identity/{$}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		// Keystone answers its root with 300 Multiple Choices and the versions under
		// versions.values (api-ref identity v3, "Versions"); gophercloud accepts 200 and
		// 300 (openstack/utils/choose_version.go).
		return http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{s.identityVersion()}}}, nil
	})
	version := func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"version": s.identityVersion()}, nil
	}
	s.handlePublic(identitySvc, "GET /identity/v3", version)
	s.handlePublic(identitySvc, "GET /identity/v3/{$}", version)
	s.handlePublic(identitySvc, "POST /identity/v3/auth/tokens", s.issueToken)
	s.handle(identitySvc, "GET /identity/v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		subject := r.Header.Get("X-Subject-Token")
		exp, ok := s.tokens[subject]
		if !ok || !s.now().Before(exp) {
			return 0, nil, errf(http.StatusNotFound, "", "Could not find token: %s.", subject)
		}
		w.Header().Set("X-Subject-Token", subject)
		return http.StatusOK, s.tokenBody([]string{"token"}, true, exp), nil
	})
	s.handle(identitySvc, "DELETE /identity/v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		subject := r.Header.Get("X-Subject-Token")
		if _, ok := s.tokens[subject]; !ok {
			return 0, nil, errf(http.StatusNotFound, "", "Could not find token: %s.", subject)
		}
		delete(s.tokens, subject)
		return http.StatusNoContent, nil, nil
	})
}

func (s *Server) identityVersion() map[string]any {
	return map[string]any{
		"id":      "v3.14",
		"status":  "stable",
		"updated": "2020-04-07T00:00:00Z",
		"links":   []any{map[string]any{"rel": "self", "href": s.URL() + "/identity/v3/"}},
		"media-types": []any{map[string]any{
			"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json",
		}},
	}
}

type nameOrID struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain *nameOrID `json:"domain"`
}

// issueToken is POST /v3/auth/tokens (api-ref identity v3, "Authentication and token
// management"): application_credential with id (or name and user) and secret, or
// password with a user and a project scope. The token ID comes in X-Subject-Token.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password *struct {
					User struct {
						nameOrID
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
				ApplicationCredential *struct {
					nameOrID
					Secret string    `json:"secret"`
					User   *nameOrID `json:"user"`
				} `json:"application_credential"`
			} `json:"identity"`
			Scope *struct {
				Project *nameOrID `json:"project"`
				System  any       `json:"system"`
			} `json:"scope"`
		} `json:"auth"`
	}
	if err := readBody(r, &req); err != nil {
		return 0, nil, err
	}
	id := req.Auth.Identity
	if len(id.Methods) == 0 {
		return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field 'identity/methods': [] is too short")
	}
	unauthorized := errf(http.StatusUnauthorized, "", "The request you have made requires authentication.")
	scoped := true
	switch {
	case slices.Contains(id.Methods, "application_credential"):
		ac := id.ApplicationCredential
		if ac == nil || ac.Secret == "" || (ac.ID == "" && ac.Name == "") {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field 'identity/application_credential': an id or a name and the secret are required")
		}
		if ac.ID == "" && (ac.User == nil || (ac.User.ID != s.userID && ac.User.Name != s.username)) {
			return 0, nil, unauthorized
		}
		if (ac.ID != "" && ac.ID != s.appCredID) || (ac.ID == "" && ac.Name != "nassella") || ac.Secret != s.appCredSecret {
			return 0, nil, unauthorized
		}
		// An application credential is bound to its project and cannot be scoped
		// elsewhere (keystone/auth/plugins/application_credential.py).
		if sc := req.Auth.Scope; sc != nil && sc.Project != nil && sc.Project.ID != "" && sc.Project.ID != s.projectID {
			return 0, nil, unauthorized
		}
	case slices.Contains(id.Methods, "password"):
		p := id.Password
		if p == nil {
			return 0, nil, errf(http.StatusBadRequest, "", "Invalid input for field 'identity/password': a user is required")
		}
		if (p.User.ID != s.userID && p.User.Name != s.username) || p.User.Password != s.password {
			return 0, nil, unauthorized
		}
		sc := req.Auth.Scope
		switch {
		case sc == nil || sc.Project == nil:
			scoped = false
		case sc.Project.ID != s.projectID && sc.Project.Name != DefaultProjectName:
			return 0, nil, errf(http.StatusUnauthorized, "", "The request you have made requires authentication.")
		}
	default:
		return 0, nil, errf(http.StatusUnauthorized, "", "Attempted to authenticate with an unsupported method.")
	}
	token := "gAAAAAB" + s.hexID("token") + s.hexID("token")
	exp := s.now().Add(s.tokenLifetime)
	s.tokens[token] = exp
	w.Header().Set("X-Subject-Token", token)
	return http.StatusCreated, s.tokenBody(id.Methods, scoped, exp), nil
}

func (s *Server) tokenBody(methods []string, scoped bool, exp time.Time) map[string]any {
	domain := map[string]any{"id": "default", "name": "Default"}
	now := s.now()
	tok := map[string]any{
		"methods":    methods,
		"user":       map[string]any{"id": s.userID, "name": s.username, "domain": domain, "password_expires_at": nil},
		"audit_ids":  []string{hexOf(s.userID+now.String(), 22)},
		"expires_at": isoMicro(exp) + "Z",
		"issued_at":  isoMicro(now) + "Z",
	}
	if slices.Contains(methods, "application_credential") {
		tok["application_credential"] = map[string]any{"id": s.appCredID, "name": "nassella", "restricted": true}
	}
	if scoped {
		tok["project"] = map[string]any{"id": s.projectID, "name": DefaultProjectName, "domain": domain}
		tok["is_domain"] = false
		tok["roles"] = []any{
			map[string]any{"id": hexOf("member", 32), "name": "member"},
			map[string]any{"id": hexOf("reader", 32), "name": "reader"},
		}
		tok["catalog"] = s.catalog()
	}
	return map[string]any{"token": tok}
}

// catalog lists the services. Block storage is listed under its official type and the
// volumev3 alias, as clouds do: terraform-provider-openstack asks for volumev3 first, then
// the other aliases of block-storage (terraform-provider-openstack/utils/v2 auth/config.go,
// applyDefaults and EndpointLocator, which replaces gophercloud's locator and so does no
// version discovery; gophercloud's own V3Endpoint GETs each unversioned endpoint, as
// /network/ and /image/, which the simulator answers too).
func (s *Server) catalog() []any {
	base := s.URL()
	entries := []struct{ typ, name, url string }{
		{"identity", "keystone", base + "/identity"},
		{"compute", "nova", base + "/compute/v2.1"},
		{"network", "neutron", base + "/network"},
		{"volumev3", "cinderv3", base + "/volume/v3/" + s.projectID},
		{"block-storage", "cinder", base + "/volume/v3/" + s.projectID},
		{"image", "glance", base + "/image"},
	}
	var out []any
	for _, e := range entries {
		var endpoints []any
		for _, iface := range []string{"public", "internal"} {
			endpoints = append(endpoints, map[string]any{
				"id":        hexOf(e.typ+iface, 32),
				"interface": iface,
				"region":    s.region,
				"region_id": s.region,
				"url":       e.url,
			})
		}
		out = append(out, map[string]any{"id": hexOf(e.typ, 32), "type": e.typ, "name": e.name, "endpoints": endpoints})
	}
	return out
}
