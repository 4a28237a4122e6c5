package openstacksim

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// client calls a started simulator with a token.
type client struct {
	t     *testing.T
	sim   *Server
	http  *http.Client
	token string
	clock *time.Time // the simulator's clock, moved by advance
}

func newClient(t *testing.T) *client {
	t.Helper()
	sim := New()
	clock := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sim.now = func() time.Time { return clock }
	sim.AddImage("flatcar-stable", ImageMinRAM(1024))
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c := &client{t: t, sim: sim, http: sim.Client(), clock: &clock}
	c.token = c.authenticate()
	return c
}

// advance moves the simulator's clock, making status changes due.
func (c *client) advance(d time.Duration) {
	c.sim.mu.Lock()
	defer c.sim.mu.Unlock()
	*c.clock = c.clock.Add(d)
}

func (c *client) authenticate() string {
	c.t.Helper()
	status, h, _ := c.send("POST", "/identity/v3/auth/tokens", appCredAuth(DefaultApplicationCredentialID, DefaultApplicationCredentialSecret), nil)
	if status != http.StatusCreated || h.Get("X-Subject-Token") == "" {
		c.t.Fatalf("authenticate: status %d", status)
	}
	return h.Get("X-Subject-Token")
}

func appCredAuth(id, secret string) map[string]any {
	return map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods":                []string{"application_credential"},
		"application_credential": map[string]any{"id": id, "secret": secret},
	}}}
}

// send makes a request; headers are name, value pairs. The body is decoded when it is
// JSON.
func (c *client) send(method, path string, body any, headers []string) (int, http.Header, map[string]any) {
	c.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		reader = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.sim.URL()+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	var out map[string]any
	if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func (c *client) do(method, path string, body any, headers ...string) (int, map[string]any) {
	c.t.Helper()
	status, _, out := c.send(method, path, body, headers)
	return status, out
}

// must makes a request that must answer want and returns the body.
func (c *client) must(want int, method, path string, body any, headers ...string) map[string]any {
	c.t.Helper()
	status, out := c.do(method, path, body, headers...)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

func (c *client) vol(path string) string { return "/volume/v3/" + c.sim.ProjectID() + path }

// field walks a decoded JSON body.
func field(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v at %s is not an object", v, p)
		}
		v = m[p]
	}
	return v
}

func str(t *testing.T, v any, path ...string) string {
	t.Helper()
	s, _ := field(t, v, path...).(string)
	return s
}

// The error shapes: each service answers in its own (see errors.go).
func checkNova(t *testing.T, body map[string]any, fault string, code int) {
	t.Helper()
	e, ok := body[fault].(map[string]any)
	if !ok || e["code"] != float64(code) || e["message"] == "" {
		t.Fatalf("want a Nova/Cinder %s %d error, got %v", fault, code, body)
	}
}

func checkNeutron(t *testing.T, body map[string]any, typ string) {
	t.Helper()
	e, ok := body["NeutronError"].(map[string]any)
	if !ok || e["type"] != typ || e["message"] == "" || e["detail"] != "" {
		t.Fatalf("want a NeutronError %s, got %v", typ, body)
	}
}

func checkKeystone(t *testing.T, body map[string]any, code int) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || e["code"] != float64(code) || e["title"] != http.StatusText(code) || e["message"] == "" {
		t.Fatalf("want a Keystone %d error, got %v", code, body)
	}
}

func checkGlance(t *testing.T, body map[string]any, code int) {
	t.Helper()
	if body["code"] != strconv.Itoa(code)+" "+http.StatusText(code) || body["title"] != http.StatusText(code) || body["message"] == "" {
		t.Fatalf("want a Glance %d error, got %v", code, body)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAuthentication(t *testing.T) {
	c := newClient(t)
	anon := &client{t: t, sim: c.sim, http: c.http, clock: c.clock}

	status, h, body := anon.send("POST", "/identity/v3/auth/tokens", appCredAuth(DefaultApplicationCredentialID, DefaultApplicationCredentialSecret), nil)
	if status != http.StatusCreated || h.Get("X-Subject-Token") == "" {
		t.Fatalf("application credential: %d %v", status, body)
	}
	tok := field(t, body, "token").(map[string]any)
	if str(t, tok, "project", "id") != c.sim.ProjectID() || str(t, tok, "application_credential", "id") != DefaultApplicationCredentialID || tok["expires_at"] == nil {
		t.Errorf("token body: %v", tok)
	}
	types := map[string]string{}
	for _, e := range tok["catalog"].([]any) {
		entry := e.(map[string]any)
		for _, ep := range entry["endpoints"].([]any) {
			if ep.(map[string]any)["interface"] == "public" && ep.(map[string]any)["region_id"] == DefaultRegion {
				types[entry["type"].(string)] = ep.(map[string]any)["url"].(string)
			}
		}
	}
	for typ, path := range map[string]string{
		"identity": "/identity", "compute": "/compute/v2.1", "network": "/network", "image": "/image",
		"volumev3": "/volume/v3/" + c.sim.ProjectID(), "block-storage": "/volume/v3/" + c.sim.ProjectID(),
	} {
		if types[typ] != c.sim.URL()+path {
			t.Errorf("catalog %s = %q, want %q", typ, types[typ], c.sim.URL()+path)
		}
	}

	for _, tt := range []struct {
		name   string
		body   any
		status int
	}{
		{"wrong secret", appCredAuth(DefaultApplicationCredentialID, "wrong"), 401},
		{"unknown credential", appCredAuth("0123456789abcdef0123456789abcdef", DefaultApplicationCredentialSecret), 401},
		{"no methods", map[string]any{"auth": map[string]any{"identity": map[string]any{}}}, 400},
		{"no secret", appCredAuth(DefaultApplicationCredentialID, ""), 400},
		{"password", map[string]any{"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{"name": DefaultUsername, "domain": map[string]any{"id": "default"}, "password": DefaultPassword}}},
			"scope":    map[string]any{"project": map[string]any{"name": DefaultProjectName, "domain": map[string]any{"id": "default"}}},
		}}, 201},
		{"wrong password", map[string]any{"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{"name": DefaultUsername, "password": "nope"}}},
		}}, 401},
		{"not JSON", []byte("{"), 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := anon.send("POST", "/identity/v3/auth/tokens", tt.body, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status >= 400 {
				checkKeystone(t, body, status)
			}
		})
	}

	// Every service refuses a request without a valid token the way keystonemiddleware
	// does; version discovery needs none.
	for _, path := range []string{"/compute/v2.1/servers", "/network/v2.0/networks", c.vol("/volumes"), "/image/v2/images", "/compute/v2.1/nope"} {
		status, h, body := anon.send("GET", path, nil, nil)
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Keystone uri=") {
			t.Errorf("GET %s without a token: %d %v", path, status, h)
		}
		checkKeystone(t, body, 401)
	}
	for _, path := range []string{"/identity/", "/identity/v3", "/compute/", "/compute/v2.1/", "/network/", "/volume/", "/image/"} {
		if status, _, body := anon.send("GET", path, nil, nil); status != 200 && status != 300 {
			t.Errorf("GET %s without a token: %d %v", path, status, body)
		}
	}
	c.sim.ExpireTokens()
	if status, body := c.do("GET", "/network/v2.0/networks", nil); status != 401 {
		t.Errorf("an expired token: %d %v", status, body)
	}
	c.token = c.authenticate()
	c.must(200, "GET", "/network/v2.0/networks", nil)
}

func TestErrorShapes(t *testing.T) {
	c := newClient(t)
	const missing = "00000000-0000-4000-8000-000000000000"
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		check        func(t *testing.T, body map[string]any)
	}{
		{"GET", "/compute/v2.1/servers/" + missing, nil, 404, func(t *testing.T, b map[string]any) { checkNova(t, b, "itemNotFound", 404) }},
		{"GET", "/compute/v2.1/flavors/" + missing, nil, 404, func(t *testing.T, b map[string]any) { checkNova(t, b, "itemNotFound", 404) }},
		{"POST", "/compute/v2.1/servers", map[string]any{"server": map[string]any{"name": "x", "bogus": 1}}, 400, func(t *testing.T, b map[string]any) { checkNova(t, b, "badRequest", 400) }},
		{"GET", "/compute/v2.1/nothing-here", nil, 404, func(t *testing.T, b map[string]any) { checkNova(t, b, "itemNotFound", 404) }},
		{"PATCH", "/compute/v2.1/servers", nil, 405, func(t *testing.T, b map[string]any) { checkNova(t, b, "badMethod", 405) }},
		{"GET", "/network/v2.0/networks/" + missing, nil, 404, func(t *testing.T, b map[string]any) { checkNeutron(t, b, "NetworkNotFound") }},
		{"GET", "/network/v2.0/ports/" + missing, nil, 404, func(t *testing.T, b map[string]any) { checkNeutron(t, b, "PortNotFound") }},
		{"GET", "/network/v2.0/networks?colour=red", nil, 400, func(t *testing.T, b map[string]any) { checkNeutron(t, b, "HTTPBadRequest") }},
		{"POST", "/network/v2.0/networks", map[string]any{"network": map[string]any{"name": "x", "colour": "red"}}, 400, func(t *testing.T, b map[string]any) { checkNeutron(t, b, "HTTPBadRequest") }},
		{"POST", "/network/v2.0/networks", map[string]any{"network": map[string]any{"router:external": true}}, 403, func(t *testing.T, b map[string]any) { checkNeutron(t, b, "PolicyNotAuthorized") }},
		{"GET", c.vol("/volumes/" + missing), nil, 404, func(t *testing.T, b map[string]any) { checkNova(t, b, "itemNotFound", 404) }},
		{"GET", "/volume/v3/0123456789abcdef0123456789abcdef/volumes", nil, 400, func(t *testing.T, b map[string]any) { checkNova(t, b, "badRequest", 400) }},
		{"GET", "/image/v2/images/" + missing, nil, 404, func(t *testing.T, b map[string]any) { checkGlance(t, b, 404) }},
		{"GET", "/image/v2/images?sort=colour:asc", nil, 400, func(t *testing.T, b map[string]any) { checkGlance(t, b, 400) }},
		{"GET", "/identity/v3/auth/tokens", nil, 404, func(t *testing.T, b map[string]any) { checkKeystone(t, b, 404) }},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, body := c.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			tt.check(t, body)
		})
	}
}

func TestMicroversions(t *testing.T) {
	c := newClient(t)
	for _, tt := range []struct {
		header, value string
		status        int
		answered      string
	}{
		{"", "", 200, "2.1"},
		{"X-OpenStack-Nova-API-Version", "2.55", 200, "2.55"},
		{"OpenStack-API-Version", "compute 2.75", 200, "2.75"},
		{"OpenStack-API-Version", "compute latest", 200, "2.96"},
		{"OpenStack-API-Version", "volume 3.42", 200, "2.1"}, // another service's version
		{"X-OpenStack-Nova-API-Version", "2.200", 406, ""},
		{"X-OpenStack-Nova-API-Version", "3.1", 406, ""},
		{"X-OpenStack-Nova-API-Version", "two", 400, ""},
	} {
		t.Run(tt.header+" "+tt.value, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = []string{tt.header, tt.value}
			}
			status, h, body := c.send("GET", "/compute/v2.1/flavors/detail", nil, hdr)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status == 200 && (h.Get("X-OpenStack-Nova-API-Version") != tt.answered || h.Get("OpenStack-API-Version") != "compute "+tt.answered) {
				t.Errorf("answered with %q / %q, want %s", h.Get("X-OpenStack-Nova-API-Version"), h.Get("OpenStack-API-Version"), tt.answered)
			}
			if status == 406 {
				checkNova(t, body, "computeFault", 406)
			}
		})
	}

	// The answers change with the version as Nova's do.
	flavor := func(v string) map[string]any {
		list := c.must(200, "GET", "/compute/v2.1/flavors/detail", nil, "X-OpenStack-Nova-API-Version", v)["flavors"].([]any)
		for _, f := range list {
			if f.(map[string]any)["name"] == "b3-8" {
				return f.(map[string]any)
			}
		}
		t.Fatal("no flavor b3-8")
		return nil
	}
	if f := flavor("2.1"); f["swap"] != "" || f["ram"] != float64(8192) || f["vcpus"] != float64(2) {
		t.Errorf("b3-8 at 2.1: %v", f)
	}
	if f := flavor("2.75"); f["swap"] != float64(0) || f["extra_specs"] == nil {
		t.Errorf("b3-8 at 2.75: %v", f)
	}
	if _, ok := flavor("2.54")["description"]; ok {
		t.Error("a flavor has a description before 2.55")
	}

	srv := c.bootServer("mv")
	if status, body := c.do("GET", "/compute/v2.1/servers/"+srv+"/tags", nil); status != 404 {
		t.Errorf("server tags at 2.1: %d %v", status, body)
	}
	c.must(200, "GET", "/compute/v2.1/servers/"+srv+"/tags", nil, "X-OpenStack-Nova-API-Version", "2.26")
	if got := field(t, c.must(200, "GET", "/compute/v2.1/servers/"+srv, nil), "server", "flavor"); got.(map[string]any)["id"] == nil {
		t.Errorf("flavor at 2.1: %v", got)
	}
	if got := field(t, c.must(200, "GET", "/compute/v2.1/servers/"+srv, nil, "X-OpenStack-Nova-API-Version", "2.47"), "server", "flavor"); got.(map[string]any)["original_name"] != "b3-8" {
		t.Errorf("flavor at 2.47: %v", got)
	}
	status, h, _ := c.send("GET", c.vol("/volumes"), nil, []string{"OpenStack-API-Version", "volume 3.42"})
	if status != 200 || h.Get("OpenStack-API-Version") != "volume 3.42" {
		t.Errorf("Cinder at 3.42: %d %q", status, h.Get("OpenStack-API-Version"))
	}
	if status, body := c.do("GET", c.vol("/volumes"), nil, "OpenStack-API-Version", "volume 3.99"); status != 406 {
		t.Errorf("Cinder at 3.99: %d %v", status, body)
	}
}

// network makes a network with a subnet, a router to the external network with an
// interface on the subnet, and returns their IDs.
func (c *client) network(name string) (netID, subnetID, routerID string) {
	c.t.Helper()
	netID = str(c.t, c.must(201, "POST", "/network/v2.0/networks", map[string]any{"network": map[string]any{"name": name}}), "network", "id")
	subnetID = str(c.t, c.must(201, "POST", "/network/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"name": name, "network_id": netID, "cidr": "10.77.0.0/24", "ip_version": 4,
	}}), "subnet", "id")
	routerID = str(c.t, c.must(201, "POST", "/network/v2.0/routers", map[string]any{"router": map[string]any{
		"name": name, "external_gateway_info": map[string]any{"network_id": c.sim.ExternalNetworkID()},
	}}), "router", "id")
	c.must(200, "PUT", "/network/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": subnetID})
	return
}

func (c *client) port(netID, subnetID string) string {
	c.t.Helper()
	return str(c.t, c.must(201, "POST", "/network/v2.0/ports", map[string]any{"port": map[string]any{
		"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": subnetID}},
	}}), "port", "id")
}

func (c *client) flavorID(name string) string {
	c.t.Helper()
	for _, f := range c.must(200, "GET", "/compute/v2.1/flavors", nil)["flavors"].([]any) {
		if f.(map[string]any)["name"] == name {
			return f.(map[string]any)["id"].(string)
		}
	}
	c.t.Fatalf("no flavor %s", name)
	return ""
}

func (c *client) imageID(name string) string {
	c.t.Helper()
	list := c.must(200, "GET", "/image/v2/images?name="+name, nil)["images"].([]any)
	if len(list) == 0 {
		c.t.Fatalf("no image %s", name)
	}
	return list[0].(map[string]any)["id"].(string)
}

// bootServer makes a server on its own network and port and waits until it is ACTIVE.
func (c *client) bootServer(name string) string {
	c.t.Helper()
	netID, subnetID, _ := c.network(name)
	portID := c.port(netID, subnetID)
	id := str(c.t, c.must(202, "POST", "/compute/v2.1/servers", map[string]any{"server": map[string]any{
		"name": name, "imageRef": c.imageID("flatcar-stable"), "flavorRef": c.flavorID("b3-8"),
		"networks": []any{map[string]any{"port": portID}},
	}}), "server", "id")
	c.must(200, "GET", "/compute/v2.1/servers/"+id, nil)
	return id
}

func TestNetworkConsistency(t *testing.T) {
	c := newClient(t)
	netID, subnetID, routerID := c.network("site")

	subnet := field(t, c.must(200, "GET", "/network/v2.0/subnets/"+subnetID, nil), "subnet").(map[string]any)
	if subnet["gateway_ip"] != "10.77.0.1" || str(t, subnet["allocation_pools"].([]any)[0], "start") != "10.77.0.2" {
		t.Errorf("subnet: %v", subnet)
	}
	router := field(t, c.must(200, "GET", "/network/v2.0/routers/"+routerID, nil), "router").(map[string]any)
	if str(t, router, "external_gateway_info", "network_id") != c.sim.ExternalNetworkID() {
		t.Errorf("router gateway: %v", router)
	}
	ifc := c.sim.Routers()[0].InterfacePortIDs
	if len(ifc) != 1 {
		t.Fatalf("router interfaces: %v", ifc)
	}

	// A new security group has Neutron's two egress rules.
	sg := field(t, c.must(201, "POST", "/network/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "host"}}), "security_group").(map[string]any)
	var egress []string
	for _, r := range sg["security_group_rules"].([]any) {
		r := r.(map[string]any)
		if r["direction"] == "egress" && r["protocol"] == nil && r["remote_ip_prefix"] == nil {
			egress = append(egress, r["ethertype"].(string))
		}
	}
	if !slices.Equal(egress, []string{"IPv4", "IPv6"}) {
		t.Errorf("rules of a new group: %v", sg["security_group_rules"])
	}
	sgID := sg["id"].(string)

	portID := str(t, c.must(201, "POST", "/network/v2.0/ports", map[string]any{"port": map[string]any{
		"name": "host", "network_id": netID, "security_groups": []string{sgID},
		"fixed_ips": []any{map[string]any{"subnet_id": subnetID}},
	}}), "port", "id")
	port := field(t, c.must(200, "GET", "/network/v2.0/ports/"+portID, nil), "port").(map[string]any)
	if ip := str(t, port["fixed_ips"].([]any)[0], "ip_address"); ip != "10.77.0.2" || port["status"] != "DOWN" || port["device_id"] != "" {
		t.Errorf("port: %v", port)
	}

	// Lists filter on any attribute.
	ext := c.must(200, "GET", "/network/v2.0/networks?name=Ext-Net&router%3Aexternal=true", nil)["networks"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["id"] != c.sim.ExternalNetworkID() {
		t.Errorf("external network by name: %v", ext)
	}
	if got := c.must(200, "GET", "/network/v2.0/networks?name=Ext-Net&router%3Aexternal=false", nil)["networks"].([]any); len(got) != 0 {
		t.Errorf("Ext-Net is not internal: %v", got)
	}
	if got := c.must(200, "GET", "/network/v2.0/ports?fixed_ips=ip_address%3D10.77.0.2", nil)["ports"].([]any); len(got) != 1 {
		t.Errorf("ports by address: %v", got)
	}

	c.must(200, "PUT", "/network/v2.0/ports/"+portID+"/tags", map[string]any{"tags": []string{"nassella-site=demo", "nassella-site=demo"}})
	if got := c.must(200, "GET", "/network/v2.0/ports?tags=nassella-site%3Ddemo", nil)["ports"].([]any); len(got) != 1 || len(got[0].(map[string]any)["tags"].([]any)) != 1 {
		t.Errorf("ports by tag: %v", got)
	}

	for _, tt := range []struct {
		name         string
		method, path string
		body         any
		status       int
		kind         string
	}{
		{"a network with ports", "DELETE", "/network/v2.0/networks/" + netID, nil, 409, "NetworkInUse"},
		{"a subnet with a router interface", "DELETE", "/network/v2.0/subnets/" + subnetID, nil, 409, "SubnetInUse"},
		{"a router with an interface", "DELETE", "/network/v2.0/routers/" + routerID, nil, 409, "RouterInUse"},
		{"a router's port", "DELETE", "/network/v2.0/ports/" + ifc[0], nil, 409, "ServicePortInUse"},
		{"a group in use", "DELETE", "/network/v2.0/security-groups/" + sgID, nil, 409, "SecurityGroupInUse"},
		{"the default group", "DELETE", "/network/v2.0/security-groups/" + c.sim.SecurityGroups()[0].ID, nil, 409, "SecurityGroupCannotRemoveDefault"},
		{"a second interface on the subnet", "PUT", "/network/v2.0/routers/" + routerID + "/add_router_interface", map[string]any{"subnet_id": subnetID}, 400, "BadRequest"},
		{"an address in use", "POST", "/network/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"ip_address": "10.77.0.2"}}}}, 409, "IpAddressAlreadyAllocated"},
		{"another network's subnet", "POST", "/network/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": c.sim.externalSubnetID}}}}, 400, "InvalidInput"},
		{"an overlapping subnet", "POST", "/network/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID, "cidr": "10.77.0.128/25", "ip_version": 4}}, 400, "InvalidInput"},
		{"a host address as CIDR", "POST", "/network/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID, "cidr": "10.78.0.1/24", "ip_version": 4}}, 400, "InvalidInput"},
		{"a floating IP from an internal network", "POST", "/network/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": netID}}, 400, "BadRequest"},
		{"a gateway on an internal network", "POST", "/network/v2.0/routers", map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{"network_id": netID}}}, 400, "BadRequest"},
		{"a group named default", "POST", "/network/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "default"}}, 409, "SecurityGroupDefaultAlreadyExists"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := c.do(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			checkNeutron(t, body, tt.kind)
		})
	}

	// A floating IP needs a router from the port's subnet to its network.
	otherNet := str(t, c.must(201, "POST", "/network/v2.0/networks", map[string]any{"network": map[string]any{"name": "other"}}), "network", "id")
	otherSubnet := str(t, c.must(201, "POST", "/network/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": otherNet, "cidr": "10.88.0.0/24", "ip_version": 4}}), "subnet", "id")
	lonely := c.port(otherNet, otherSubnet)
	status, body := c.do("POST", "/network/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": c.sim.ExternalNetworkID(), "port_id": lonely}})
	if status != 404 {
		t.Fatalf("a floating IP for a port without a router: %d %v", status, body)
	}
	checkNeutron(t, body, "ExternalGatewayForFloatingIPNotFound")

	fip := field(t, c.must(201, "POST", "/network/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
		"floating_network_id": c.sim.ExternalNetworkID(), "port_id": portID, "description": "site",
	}}), "floatingip").(map[string]any)
	if fip["fixed_ip_address"] != "10.77.0.2" || fip["router_id"] != routerID || fip["status"] != "DOWN" || !strings.HasPrefix(fip["floating_ip_address"].(string), "203.0.113.") {
		t.Errorf("floating IP: %v", fip)
	}
	fipID := fip["id"].(string)
	if got := str(t, c.must(200, "GET", "/network/v2.0/floatingips/"+fipID, nil), "floatingip", "status"); got != "ACTIVE" {
		t.Errorf("floating IP status on the next request: %s", got)
	}
	status, body = c.do("POST", "/network/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": c.sim.ExternalNetworkID(), "port_id": portID}})
	if status != 409 {
		t.Fatalf("a second floating IP on the address: %d %v", status, body)
	}
	checkNeutron(t, body, "FloatingIPPortAlreadyAssociated")
	status, body = c.do("PUT", "/network/v2.0/routers/"+routerID+"/remove_router_interface", map[string]any{"subnet_id": subnetID})
	if status != 409 {
		t.Fatalf("removing the interface a floating IP needs: %d %v", status, body)
	}
	checkNeutron(t, body, "RouterInterfaceInUseByFloatingIP")

	// Deleting the port disassociates the floating IP, then everything can go in order.
	c.must(204, "DELETE", "/network/v2.0/ports/"+portID, nil)
	if f := c.sim.FloatingIPs()[0]; f.PortID != "" || f.FixedIP != "" || f.Status != "DOWN" {
		t.Errorf("floating IP of a deleted port: %+v", f)
	}
	c.must(204, "DELETE", "/network/v2.0/floatingips/"+fipID, nil)
	c.must(200, "PUT", "/network/v2.0/routers/"+routerID+"/remove_router_interface", map[string]any{"subnet_id": subnetID})
	status, body = c.do("PUT", "/network/v2.0/routers/"+routerID+"/remove_router_interface", map[string]any{"subnet_id": subnetID})
	if status != 404 {
		t.Fatalf("removing it again: %d %v", status, body)
	}
	checkNeutron(t, body, "RouterInterfaceNotFoundForSubnet")
	c.must(204, "DELETE", "/network/v2.0/routers/"+routerID, nil)
	c.must(204, "DELETE", "/network/v2.0/security-groups/"+sgID, nil)
	c.must(204, "DELETE", "/network/v2.0/subnets/"+subnetID, nil)
	c.must(204, "DELETE", "/network/v2.0/networks/"+netID, nil)
	c.must(204, "DELETE", "/network/v2.0/ports/"+lonely, nil)
	c.must(204, "DELETE", "/network/v2.0/networks/"+otherNet, nil) // its subnet goes with it
	if left := c.sim.Leftovers(); len(left) > 0 {
		t.Errorf("left over: %v", left)
	}
	// The external network's addresses came back: the next floating IP would get the
	// router's old address again.
	for _, sn := range c.sim.subnets.list() {
		if sn.id == c.sim.externalSubnetID && len(sn.used) != 0 {
			t.Errorf("external addresses still taken: %v", sn.used)
		}
	}
}

func TestSecurityGroupRules(t *testing.T) {
	c := newClient(t)
	sgID := str(t, c.must(201, "POST", "/network/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "web"}}), "security_group", "id")
	rule := func(extra map[string]any) map[string]any {
		r := map[string]any{"security_group_id": sgID, "direction": "ingress", "ethertype": "IPv4"}
		for k, v := range extra {
			r[k] = v
		}
		return map[string]any{"security_group_rule": r}
	}
	for _, tt := range []struct {
		name   string
		rule   map[string]any
		status int
		kind   string
	}{
		{"ssh", map[string]any{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}, 201, ""},
		{"ssh again", map[string]any{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}, 409, "SecurityGroupRuleExists"},
		{"ping", map[string]any{"protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"}, 201, ""},
		{"http3", map[string]any{"protocol": "udp", "port_range_min": 443, "port_range_max": 443}, 201, ""},
		{"by number", map[string]any{"protocol": "6", "port_range_min": 80, "port_range_max": 80}, 201, ""},
		{"reversed range", map[string]any{"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, 400, "SecurityGroupInvalidPortRange"},
		{"port 0", map[string]any{"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, 400, "SecurityGroupInvalidPortValue"},
		{"port 70000", map[string]any{"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000}, 400, "SecurityGroupInvalidPortValue"},
		{"ports without protocol", map[string]any{"port_range_min": 22, "port_range_max": 22}, 400, "SecurityGroupProtocolRequiredWithPorts"},
		{"icmp type 300", map[string]any{"protocol": "icmp", "port_range_min": 300}, 400, "SecurityGroupInvalidIcmpValue"},
		{"icmp code without type", map[string]any{"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"},
		{"unknown protocol", map[string]any{"protocol": "carrier-pigeon"}, 400, "SecurityGroupRuleInvalidProtocol"},
		{"IPv6 prefix on IPv4", map[string]any{"protocol": "tcp", "remote_ip_prefix": "::/0"}, 400, "SecurityGroupRuleParameterConflict"},
		{"prefix and group", map[string]any{"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": sgID}, 400, "SecurityGroupRemoteGroupAndRemoteIpPrefix"},
		{"bad direction", map[string]any{"direction": "sideways"}, 400, "InvalidInput"},
		{"unknown group", map[string]any{"security_group_id": "00000000-0000-4000-8000-000000000000"}, 404, "SecurityGroupNotFound"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := c.do("POST", "/network/v2.0/security-group-rules", rule(tt.rule))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.kind != "" {
				checkNeutron(t, body, tt.kind)
			}
		})
	}
	groups := c.sim.SecurityGroups()
	if len(groups) != 2 || len(groups[1].Rules) != 6 {
		t.Errorf("groups: %+v", groups)
	}
}

func TestServerLifecycle(t *testing.T) {
	c := newClient(t)
	c.sim.SetDelay(time.Minute)
	netID, subnetID, _ := c.network("site")
	portID := c.port(netID, subnetID)
	image, flavor := c.imageID("flatcar-stable"), c.flavorID("b3-8")
	ignition := `{"ignition":{"version":"3.3.0"}}`
	create := func(extra map[string]any) (int, map[string]any) {
		srv := map[string]any{"name": "host", "imageRef": image, "flavorRef": flavor, "networks": []any{map[string]any{"port": portID}}}
		for k, v := range extra {
			srv[k] = v
		}
		return c.do("POST", "/compute/v2.1/servers", map[string]any{"server": srv})
	}
	for _, tt := range []struct {
		name   string
		extra  map[string]any
		status int
	}{
		{"unknown image", map[string]any{"imageRef": "00000000-0000-4000-8000-000000000000"}, 400},
		{"unknown flavor", map[string]any{"flavorRef": "nope"}, 400},
		{"too small for the image", map[string]any{"flavorRef": c.sim.AddFlavor("tiny", 512, 1, 10)}, 400},
		{"user_data not base64", map[string]any{"user_data": "{not base64}"}, 400},
		{"unknown port", map[string]any{"networks": []any{map[string]any{"port": "00000000-0000-4000-8000-000000000000"}}}, 400},
		{"no name", map[string]any{"name": " "}, 400},
		{"tags before 2.52", map[string]any{"tags": []string{"a"}}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := create(tt.extra)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			checkNova(t, body, "badRequest", 400)
		})
	}

	status, body := create(map[string]any{
		"user_data": base64.StdEncoding.EncodeToString([]byte(ignition)), "config_drive": true,
		"metadata": map[string]string{"nassella-site": "demo"},
	})
	if status != 202 || !uuidRE.MatchString(str(t, body, "server", "id")) {
		t.Fatalf("create: %d %v", status, body)
	}
	id := str(t, body, "server", "id")
	srv := field(t, c.must(200, "GET", "/compute/v2.1/servers/"+id, nil), "server").(map[string]any)
	if srv["status"] != "BUILD" || len(srv["addresses"].(map[string]any)) != 0 {
		t.Errorf("a new server: %v", srv)
	}
	if status, body := create(nil); status != 409 {
		t.Errorf("a second server on the port: %d %v", status, body)
	} else {
		checkNova(t, body, "conflictingRequest", 409)
	}
	volID := str(t, c.must(202, "POST", c.vol("/volumes"), map[string]any{"volume": map[string]any{"size": 10, "name": "data"}}), "volume", "id")
	c.advance(time.Minute)

	srv = field(t, c.must(200, "GET", "/compute/v2.1/servers/"+id, nil), "server").(map[string]any)
	addr := srv["addresses"].(map[string]any)["site"].([]any)[0].(map[string]any)
	if srv["status"] != "ACTIVE" || addr["addr"] != "10.77.0.2" || addr["OS-EXT-IPS:type"] != "fixed" || srv["config_drive"] != "True" || str(t, srv, "metadata", "nassella-site") != "demo" {
		t.Errorf("the server once built: %v", srv)
	}
	info := c.sim.Servers()[0]
	if info.UserData != ignition || !info.ConfigDrive || !slices.Equal(info.PortIDs, []string{portID}) {
		t.Errorf("ServerInfo: %+v", info)
	}
	if p := c.sim.Ports(); p[1].DeviceID != id || p[1].DeviceOwner != "compute:nova" || p[1].Status != "ACTIVE" {
		t.Errorf("the server's port: %+v", p[1])
	}

	// Attaching: attaching, then in-use; an attached volume cannot be deleted.
	att := c.must(200, "POST", "/compute/v2.1/servers/"+id+"/os-volume_attachments", map[string]any{"volumeAttachment": map[string]any{"volumeId": volID}})
	if str(t, att, "volumeAttachment", "device") != "/dev/vdb" || str(t, att, "volumeAttachment", "id") != volID {
		t.Errorf("attachment: %v", att)
	}
	if got := str(t, c.must(200, "GET", c.vol("/volumes/"+volID), nil), "volume", "status"); got != "attaching" {
		t.Errorf("volume status while attaching: %s", got)
	}
	status, body = c.do("POST", "/compute/v2.1/servers/"+id+"/os-volume_attachments", map[string]any{"volumeAttachment": map[string]any{"volumeId": volID}})
	if status != 400 {
		t.Fatalf("attaching it twice: %d %v", status, body)
	}
	c.advance(time.Minute)
	vol := field(t, c.must(200, "GET", c.vol("/volumes/"+volID), nil), "volume").(map[string]any)
	if vol["status"] != "in-use" || str(t, vol["attachments"].([]any)[0], "server_id") != id {
		t.Errorf("attached volume: %v", vol)
	}
	status, body = c.do("DELETE", c.vol("/volumes/"+volID), nil)
	if status != 400 {
		t.Fatalf("deleting an attached volume: %d %v", status, body)
	}
	checkNova(t, body, "badRequest", 400)

	// Detaching: detaching, a second detach is refused, then available.
	c.must(202, "DELETE", "/compute/v2.1/servers/"+id+"/os-volume_attachments/"+volID, nil)
	status, body = c.do("DELETE", "/compute/v2.1/servers/"+id+"/os-volume_attachments/"+volID, nil)
	if status != 400 {
		t.Fatalf("detaching twice: %d %v", status, body)
	}
	c.advance(time.Minute)
	if status, _ := c.do("GET", "/compute/v2.1/servers/"+id+"/os-volume_attachments/"+volID, nil); status != 404 {
		t.Errorf("the attachment after detaching: %d", status)
	}
	if v := c.sim.Volumes()[0]; v.Status != "available" || len(v.Attachments) != 0 {
		t.Errorf("detached volume: %+v", v)
	}

	// Deleting the server: it stays (task_state deleting) until it is done; its volume
	// becomes available, its port is unbound and kept.
	c.must(200, "POST", "/compute/v2.1/servers/"+id+"/os-volume_attachments", map[string]any{"volumeAttachment": map[string]any{"volumeId": volID}})
	c.advance(time.Minute)
	c.must(204, "DELETE", "/compute/v2.1/servers/"+id, nil)
	srv = field(t, c.must(200, "GET", "/compute/v2.1/servers/"+id, nil), "server").(map[string]any)
	if srv["status"] != "ACTIVE" || srv["OS-EXT-STS:task_state"] != "deleting" {
		t.Errorf("a server being deleted: %v", srv)
	}
	c.advance(time.Minute)
	status, body = c.do("GET", "/compute/v2.1/servers/"+id, nil)
	if status != 404 {
		t.Fatalf("a deleted server: %d %v", status, body)
	}
	checkNova(t, body, "itemNotFound", 404)
	if p := c.sim.Ports(); len(p) != 2 || p[1].ID != portID || p[1].DeviceID != "" || p[1].DeviceOwner != "" || p[1].Status != "DOWN" {
		t.Errorf("the port after the server: %+v", p)
	}
	if v := c.sim.Volumes()[0]; v.Status != "available" || len(v.Attachments) != 0 {
		t.Errorf("the volume after the server: %+v", v)
	}
	// The port can take the next server.
	if status, body := create(nil); status != 202 {
		t.Errorf("a new server on the freed port: %d %v", status, body)
	}
}

func TestVolumes(t *testing.T) {
	c := newClient(t)
	for _, tt := range []struct {
		name   string
		volume map[string]any
		status int
	}{
		{"no size", map[string]any{"name": "x"}, 400},
		{"size 0", map[string]any{"size": 0}, 400},
		{"unknown type", map[string]any{"size": 1, "volume_type": "gold"}, 404},
		{"unknown zone", map[string]any{"size": 1, "availability_zone": "mars"}, 400},
		{"by type name", map[string]any{"size": 1, "volume_type": "high-speed"}, 202},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := c.do("POST", c.vol("/volumes"), map[string]any{"volume": tt.volume})
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status >= 400 {
				checkNova(t, body, map[int]string{400: "badRequest", 404: "itemNotFound"}[status], status)
			}
		})
	}
	vol := field(t, c.must(202, "POST", c.vol("/volumes"), map[string]any{"volume": map[string]any{
		"size": 10, "name": "data", "metadata": map[string]string{"nassella-site": "demo"},
	}}), "volume").(map[string]any)
	id := vol["id"].(string)
	if vol["status"] != "creating" || vol["volume_type"] != "classic" || vol["availability_zone"] != "nova" {
		t.Errorf("new volume: %v", vol)
	}
	// Creating is done by the next request (no delay set), so it can grow.
	c.must(202, "POST", c.vol("/volumes/"+id+"/action"), map[string]any{"os-extend": map[string]any{"new_size": 20}})
	if v := c.sim.Volumes()[1]; v.Size != 20 || v.Status != "available" {
		t.Errorf("extended volume: %+v", v)
	}
	if status, body := c.do("POST", c.vol("/volumes/"+id+"/action"), map[string]any{"os-extend": map[string]any{"new_size": 5}}); status != 400 {
		t.Errorf("shrinking: %d %v", status, body)
	}
	got := c.must(200, "GET", c.vol("/volumes/detail?metadata=%7B%22nassella-site%22%3A%22demo%22%7D"), nil)["volumes"].([]any)
	if len(got) != 1 || got[0].(map[string]any)["id"] != id {
		t.Errorf("volumes by metadata: %v", got)
	}
	c.must(200, "PUT", c.vol("/volumes/"+id), map[string]any{"volume": map[string]any{"metadata": map[string]string{"a": "b"}}})
	if m := c.sim.Volumes()[1].Metadata; len(m) != 1 || m["a"] != "b" {
		t.Errorf("metadata after update: %v", m)
	}
	c.sim.SetDelay(time.Minute)
	c.must(202, "DELETE", c.vol("/volumes/"+id), nil)
	if status, body := c.do("DELETE", c.vol("/volumes/"+id), nil); status != 400 {
		t.Errorf("deleting a deleting volume: %d %v", status, body)
	}
	c.advance(time.Minute)
	if status, _ := c.do("GET", c.vol("/volumes/"+id), nil); status != 404 {
		t.Errorf("a deleted volume: %d", status)
	}
}

func TestImages(t *testing.T) {
	c := newClient(t)
	older := c.sim.AddImage("flatcar-beta")
	newer := c.sim.AddImage("flatcar-beta", ImageProperty("os_distro", "flatcar"))
	list := c.must(200, "GET", "/image/v2/images?name=flatcar-beta&status=active&sort=name%3Aasc", nil)["images"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["id"] != newer || list[1].(map[string]any)["id"] != older {
		t.Errorf("same name, sorted by name then newest first: %v", list)
	}
	if got := c.must(200, "GET", "/image/v2/images?os_distro=flatcar", nil)["images"].([]any); len(got) != 1 || got[0].(map[string]any)["id"] != newer {
		t.Errorf("by property: %d images", len(got))
	}
	page := c.must(200, "GET", "/image/v2/images?limit=1", nil)
	next, _ := page["next"].(string)
	if len(page["images"].([]any)) != 1 || !strings.HasPrefix(next, "/v2/images?") {
		t.Fatalf("first page: %v", page)
	}
	if got := c.must(200, "GET", "/image"+next, nil)["images"].([]any); len(got) != 1 {
		t.Errorf("second page: %v", got)
	}

	created := c.must(201, "POST", "/image/v2/images", map[string]any{"name": "upload", "disk_format": "qcow2", "container_format": "bare", "os_distro": "flatcar"})
	id := created["id"].(string)
	if created["status"] != "queued" || created["checksum"] != nil || created["os_distro"] != "flatcar" || created["visibility"] != "shared" {
		t.Errorf("created image: %v", created)
	}
	data := []byte("qcow2 bytes")
	status, body := c.do("PUT", "/image/v2/images/"+id+"/file", data)
	if status != 415 {
		t.Errorf("upload as JSON: %d %v", status, body)
	}
	c.must(204, "PUT", "/image/v2/images/"+id+"/file", data, "Content-Type", "application/octet-stream")
	sum := md5.Sum(data)
	got := c.must(200, "GET", "/image/v2/images/"+id, nil)
	if got["status"] != "active" || got["checksum"] != hex.EncodeToString(sum[:]) || got["size"] != float64(len(data)) || got["os_hash_algo"] != "sha512" {
		t.Errorf("uploaded image: %v", got)
	}
	status, body = c.do("PUT", "/image/v2/images/"+id+"/file", data, "Content-Type", "application/octet-stream")
	if status != 409 {
		t.Fatalf("uploading twice: %d %v", status, body)
	}
	checkGlance(t, body, 409)

	for _, tt := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"public", map[string]any{"name": "x", "visibility": "public"}, 403},
		{"read-only status", map[string]any{"name": "x", "status": "active"}, 403},
		{"bad disk format", map[string]any{"name": "x", "disk_format": "floppy"}, 400},
		{"non-string property", map[string]any{"name": "x", "answer": 42}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := c.do("POST", "/image/v2/images", tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			checkGlance(t, body, tt.status)
		})
	}
	noFormat := c.must(201, "POST", "/image/v2/images", map[string]any{"name": "bare"})["id"].(string)
	if status, body := c.do("PUT", "/image/v2/images/"+noFormat+"/file", data, "Content-Type", "application/octet-stream"); status != 400 {
		t.Errorf("upload without formats: %d %v", status, body)
	}
	protected := c.must(201, "POST", "/image/v2/images", map[string]any{"name": "keep", "protected": true})["id"].(string)
	if status, body := c.do("DELETE", "/image/v2/images/"+protected, nil); status != 403 {
		t.Errorf("deleting a protected image: %d %v", status, body)
	}
	c.must(204, "DELETE", "/image/v2/images/"+id, nil)
	if left := c.sim.Leftovers(); len(left) != 2 {
		t.Errorf("left over: %v", left)
	}
}

// IDs are UUIDs that depend only on what was made before, and no ID of one kind is one
// of another.
func TestDeterministicIDs(t *testing.T) {
	a, b := New(), New()
	seen := map[string]string{}
	for _, kind := range []string{"network", "port", "server", "volume", "image"} {
		x, y := a.newID(kind), b.newID(kind)
		if x != y || !uuidRE.MatchString(x) {
			t.Errorf("%s: %s and %s", kind, x, y)
		}
		if other, dup := seen[x]; dup {
			t.Errorf("%s and %s share the ID %s", kind, other, x)
		}
		seen[x] = kind
	}
	if a.ProjectID() != b.ProjectID() || len(a.ProjectID()) != 32 {
		t.Errorf("project IDs %s, %s", a.ProjectID(), b.ProjectID())
	}
}

func TestStartForOpenTofu(t *testing.T) {
	sim := StartForOpenTofu(t)
	if os.Getenv("TF_VAR_openstack_auth_url") != sim.URL()+"/identity/v3" || os.Getenv("TF_VAR_openstack_region") != DefaultRegion ||
		os.Getenv("TF_VAR_openstack_application_credential_id") != DefaultApplicationCredentialID ||
		os.Getenv("TF_VAR_openstack_application_credential_secret") != DefaultApplicationCredentialSecret {
		t.Error("the TF_VAR_openstack_* variables do not point at the simulator")
	}
	ca, err := os.ReadFile(os.Getenv("OS_CACERT"))
	if err != nil || !bytes.Equal(ca, sim.CACertPEM()) {
		t.Errorf("OS_CACERT: %v", err)
	}
	if images := sim.Images(); len(images) != 1 || images[0].Name != "flatcar-stable" || images[0].Status != "active" {
		t.Errorf("images: %+v", images)
	}
}
