package hcloudsim

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f test"

// client calls a started simulator.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newSim(t *testing.T) (*Server, *client) {
	t.Helper()
	sim := New()
	sim.Start()
	t.Cleanup(sim.Close)
	return sim, &client{t: t, base: sim.Endpoint(), token: DefaultToken}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			c.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, data)
		}
		if err := json.Unmarshal(data, &out.body); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return out
}

// must calls the API and fails the test unless the status is the wanted one.
func (c *client) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	resp := c.do(method, path, body)
	if resp.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, resp.status, want, resp.body)
	}
	return resp.body
}

// fails calls the API and checks the error status, code and shape.
func (c *client) fails(status int, code, method, path string, body any) map[string]any {
	c.t.Helper()
	resp := c.do(method, path, body)
	if resp.status != status {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, resp.status, status, resp.body)
	}
	e, ok := resp.body["error"].(map[string]any)
	if !ok {
		c.t.Fatalf("%s %s: no error object in %v", method, path, resp.body)
	}
	if e["code"] != code {
		c.t.Fatalf("%s %s: error code %v, want %s: %v", method, path, e["code"], code, e)
	}
	if msg, _ := e["message"].(string); msg == "" {
		c.t.Fatalf("%s %s: empty error message: %v", method, path, e)
	}
	if _, ok := e["details"].(map[string]any); !ok {
		c.t.Fatalf("%s %s: details is not an object: %v", method, path, e)
	}
	return e
}

func get[T any](t *testing.T, m map[string]any, path ...string) T {
	t.Helper()
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", m, p)
		}
		cur = obj[p]
	}
	v, ok := cur.(T)
	if !ok {
		t.Fatalf("%s is %T (%v), not %T", strings.Join(path, "."), cur, cur, *new(T))
	}
	return v
}

func id(t *testing.T, m map[string]any, path ...string) int64 {
	t.Helper()
	return int64(get[float64](t, m, append(path, "id")...))
}

// settle makes the simulator complete the actions that are due.
func (c *client) settle() { c.must(http.StatusOK, "GET", "/locations", nil) }

func TestTokenAndRateLimit(t *testing.T) {
	sim, c := newSim(t)

	bad := &client{t: t, base: c.base, token: "wrong"}
	bad.fails(http.StatusUnauthorized, "unauthorized", "GET", "/servers", nil)
	none := &client{t: t, base: c.base}
	none.fails(http.StatusUnauthorized, "unauthorized", "GET", "/servers", nil)

	resp := c.do("GET", "/servers", nil)
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if resp.header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if got := resp.header.Get("RateLimit-Limit"); got != "3600" {
		t.Errorf("RateLimit-Limit %s, want 3600", got)
	}

	sim.SetRateLimit(3)
	for i, want := range []string{"2", "1", "0"} {
		resp := c.do("GET", "/servers", nil)
		if resp.status != http.StatusOK || resp.header.Get("RateLimit-Remaining") != want {
			t.Fatalf("request %d: status %d, remaining %s, want 200 and %s", i, resp.status, resp.header.Get("RateLimit-Remaining"), want)
		}
	}
	c.fails(http.StatusTooManyRequests, "rate_limit_exceeded", "GET", "/servers", nil)
	reset, err := strconv.ParseInt(c.do("GET", "/servers", nil).header.Get("RateLimit-Reset"), 10, 64)
	if err != nil || reset <= time.Now().Unix() {
		t.Errorf("RateLimit-Reset %d is not in the future", reset)
	}
}

func TestErrorShapes(t *testing.T) {
	_, c := newSim(t)

	e := c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/volumes", map[string]any{"name": "data", "size": 5, "location": "nbg1"})
	fields := get[[]any](t, e, "details", "fields")
	if len(fields) != 1 || get[string](t, fields[0].(map[string]any), "name") != "size" {
		t.Errorf("fields %v, want one for size", fields)
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/volumes", map[string]any{"name": "data", "size": 10})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/volumes", map[string]any{"name": "data", "size": 10, "location": "mars1"})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/ssh_keys", map[string]any{"name": "k", "public_key": "ssh-ed25519 bm90IGEga2V5"})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/ssh_keys", map[string]any{"name": "k", "public_key": testPublicKey, "labels": map[string]string{"-bad": "x"}})
	c.fails(http.StatusNotFound, "not_found", "GET", "/volumes/200999", nil)
	c.fails(http.StatusNotFound, "not_found", "GET", "/servers/42", nil)
	c.fails(http.StatusNotFound, "not_found", "GET", "/nothing-here", nil)
	c.fails(http.StatusNotFound, "not_found", "GET", "/zones/missing.example", nil)

	resp := c.do("POST", "/ssh_keys", nil)
	if resp.status != http.StatusUnprocessableEntity {
		t.Errorf("empty body: status %d", resp.status)
	}
	req, _ := http.NewRequest("POST", c.base+"/ssh_keys", strings.NewReader("{not json"))
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	raw, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d, want 400", raw.StatusCode)
	}

	c.must(http.StatusCreated, "POST", "/ssh_keys", map[string]any{"name": "admin", "public_key": testPublicKey})
	e = c.fails(http.StatusConflict, "uniqueness_error", "POST", "/ssh_keys", map[string]any{"name": "admin", "public_key": testPublicKey})
	if name := get[string](t, get[[]any](t, e, "details", "fields")[0].(map[string]any), "name"); name != "name" {
		t.Errorf("uniqueness field %s, want name", name)
	}
	e = c.fails(http.StatusConflict, "uniqueness_error", "POST", "/ssh_keys", map[string]any{"name": "other", "public_key": testPublicKey})
	if name := get[string](t, get[[]any](t, e, "details", "fields")[0].(map[string]any), "name"); name != "public_key" {
		t.Errorf("uniqueness field %s, want public_key", name)
	}
	c.must(http.StatusCreated, "POST", "/volumes", map[string]any{"name": "data", "size": 10, "location": "nbg1"})
	c.fails(http.StatusConflict, "uniqueness_error", "POST", "/volumes", map[string]any{"name": "data", "size": 10, "location": "nbg1"})
}

func TestSSHKeyFingerprint(t *testing.T) {
	_, c := newSim(t)
	key := c.must(http.StatusCreated, "POST", "/ssh_keys", map[string]any{"name": "admin", "public_key": testPublicKey})["ssh_key"].(map[string]any)
	blob, err := base64.StdEncoding.DecodeString(strings.Fields(testPublicKey)[1])
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x", md5.Sum(blob))
	if got := strings.ReplaceAll(get[string](t, key, "fingerprint"), ":", ""); got != want {
		t.Errorf("fingerprint %s, want MD5 %s", got, want)
	}
	if get[string](t, key, "public_key") != testPublicKey {
		t.Errorf("public key changed: %v", key["public_key"])
	}
}

func TestLabelSelectors(t *testing.T) {
	_, c := newSim(t)
	keys := map[string]map[string]string{
		"prod-web": {"env": "prod", "tier": "web"},
		"prod-db":  {"env": "prod", "tier": "db"},
		"staging":  {"env": "staging"},
		"bare":     {},
	}
	i := 0
	for name, labels := range keys {
		blob := make([]byte, 0, 51)
		blob = append(blob, 0, 0, 0, 11)
		blob = append(blob, "ssh-ed25519"...)
		blob = append(blob, 0, 0, 0, 32)
		blob = append(blob, bytes.Repeat([]byte{byte(i)}, 32)...)
		i++
		pub := "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob)
		c.must(http.StatusCreated, "POST", "/ssh_keys", map[string]any{"name": name, "public_key": pub, "labels": labels})
	}
	for selector, want := range map[string][]string{
		"env=prod":               {"prod-db", "prod-web"},
		"env==prod":              {"prod-db", "prod-web"},
		"env!=prod":              {"bare", "staging"},
		"env":                    {"prod-db", "prod-web", "staging"},
		"!env":                   {"bare"},
		"env in (prod,staging)":  {"prod-db", "prod-web", "staging"},
		"env notin (prod)":       {"bare", "staging"},
		"env=prod,tier!=db":      {"prod-web"},
		"env in (prod),!tier":    nil,
		" env = staging , !tier": {"staging"},
	} {
		body := c.must(http.StatusOK, "GET", "/ssh_keys?label_selector="+url.QueryEscape(selector), nil)
		var got []string
		for _, k := range get[[]any](t, body, "ssh_keys") {
			got = append(got, k.(map[string]any)["name"].(string))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%q selected %v, want %v", selector, got, want)
		}
	}
	for _, bad := range []string{"env in prod", "=prod", "env=pr od", "a,,b", "x in (a", "!"} {
		c.fails(http.StatusUnprocessableEntity, "invalid_input", "GET", "/ssh_keys?label_selector="+url.QueryEscape(bad), nil)
	}
}

func TestPagination(t *testing.T) {
	_, c := newSim(t)
	for i := range 30 {
		c.must(http.StatusCreated, "POST", "/volumes", map[string]any{"name": fmt.Sprintf("v%02d", i), "size": 10, "location": "fsn1"})
	}
	check := func(query string, n, page, perPage int, prev, next, last any) {
		t.Helper()
		resp := c.do("GET", "/volumes"+query, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("%s: status %d", query, resp.status)
		}
		if got := len(get[[]any](t, resp.body, "volumes")); got != n {
			t.Errorf("%s: %d volumes, want %d", query, got, n)
		}
		p := get[map[string]any](t, resp.body, "meta", "pagination")
		want := map[string]any{"page": float64(page), "per_page": float64(perPage), "previous_page": prev, "next_page": next, "last_page": last, "total_entries": float64(30)}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s: %s = %v, want %v", query, k, p[k], v)
			}
		}
		if !strings.Contains(resp.header.Get("Link"), `rel="last"`) {
			t.Errorf("%s: Link header %q", query, resp.header.Get("Link"))
		}
	}
	check("", 25, 1, 25, nil, float64(2), float64(2))
	check("?page=2", 5, 2, 25, float64(1), nil, float64(2))
	check("?per_page=10&page=2", 10, 2, 10, float64(1), float64(3), float64(3))
	check("?per_page=100", 30, 1, 50, nil, nil, float64(1))
	check("?page=9", 0, 9, 25, float64(2), nil, float64(2))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "GET", "/volumes?page=0", nil)

	body := c.must(http.StatusOK, "GET", "/volumes?sort=name:desc&per_page=1", nil)
	if name := get[[]any](t, body, "volumes")[0].(map[string]any)["name"]; name != "v29" {
		t.Errorf("sort=name:desc starts with %v", name)
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "GET", "/volumes?sort=size", nil)
}

func TestActionsRunThenSucceed(t *testing.T) {
	sim, c := newSim(t)
	sim.SetActionDelay(300 * time.Millisecond)

	body := c.must(http.StatusCreated, "POST", "/volumes", map[string]any{"name": "data", "size": 10, "location": "nbg1"})
	action := get[map[string]any](t, body, "action")
	if action["status"] != "running" || action["command"] != "create_volume" || action["finished"] != nil {
		t.Fatalf("create action %v", action)
	}
	if get[string](t, body, "volume", "status") != "creating" {
		t.Errorf("new volume status %v", body["volume"])
	}
	actionID := id(t, body, "action")
	volumeID := id(t, body, "volume")

	c.fails(http.StatusLocked, "locked", "POST", fmt.Sprintf("/volumes/%d/actions/resize", volumeID), map[string]any{"size": 20})
	zoneAction := id(t, c.must(http.StatusCreated, "POST", "/zones", map[string]any{"name": "acme.example", "mode": "primary"}), "action")

	time.Sleep(100 * time.Millisecond)
	a := c.must(http.StatusOK, "GET", fmt.Sprintf("/actions/%d", actionID), nil)["action"].(map[string]any)
	if a["status"] != "running" || a["progress"].(float64) <= 0 || a["progress"].(float64) >= 100 {
		t.Errorf("action after 100ms: %v", a)
	}
	time.Sleep(300 * time.Millisecond)
	list := c.must(http.StatusOK, "GET", fmt.Sprintf("/actions?id=%d&id=%d&sort=status&sort=id", actionID, zoneAction), nil)
	actions := get[[]any](t, list, "actions")
	if len(actions) != 2 {
		t.Fatalf("listed %d actions", len(actions))
	}
	for _, x := range actions {
		a := x.(map[string]any)
		if a["status"] != "success" || a["progress"].(float64) != 100 || a["finished"] == nil {
			t.Errorf("action after 400ms: %v", a)
		}
	}
	v := c.must(http.StatusOK, "GET", fmt.Sprintf("/volumes/%d", volumeID), nil)["volume"].(map[string]any)
	if v["status"] != "available" {
		t.Errorf("volume after its action: %v", v)
	}
	resize := id(t, c.must(http.StatusCreated, "POST", fmt.Sprintf("/volumes/%d/actions/resize", volumeID), map[string]any{"size": 20}), "action")
	if size := c.must(http.StatusOK, "GET", fmt.Sprintf("/volumes/%d", volumeID), nil)["volume"].(map[string]any)["size"]; size != float64(10) {
		t.Errorf("size %v while resizing, want 10", size)
	}
	time.Sleep(350 * time.Millisecond)
	if a := c.must(http.StatusOK, "GET", fmt.Sprintf("/actions/%d", resize), nil)["action"].(map[string]any); a["status"] != "success" {
		t.Errorf("resize action %v", a)
	}
	if size := c.must(http.StatusOK, "GET", fmt.Sprintf("/volumes/%d", volumeID), nil)["volume"].(map[string]any)["size"]; size != float64(20) {
		t.Errorf("size %v after resizing, want 20", size)
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "GET", "/actions", nil)
	c.fails(http.StatusNotFound, "not_found", "GET", "/actions/999", nil)
}

func TestProtection(t *testing.T) {
	_, c := newSim(t)
	vol := id(t, c.must(http.StatusCreated, "POST", "/volumes", map[string]any{"name": "data", "size": 10, "location": "nbg1"}), "volume")
	ip := id(t, c.must(http.StatusCreated, "POST", "/primary_ips", map[string]any{"name": "ip", "type": "ipv4", "assignee_type": "server", "datacenter": "nbg1-dc3"}), "primary_ip")
	zoneBody := c.must(http.StatusCreated, "POST", "/zones", map[string]any{"name": "acme.example", "mode": "primary"})
	c.settle()

	c.must(http.StatusCreated, "POST", fmt.Sprintf("/volumes/%d/actions/change_protection", vol), map[string]any{"delete": true})
	c.must(http.StatusCreated, "POST", fmt.Sprintf("/primary_ips/%d/actions/change_protection", ip), map[string]any{"delete": true})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/actions/change_protection", map[string]any{"delete": true})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets", map[string]any{"name": "www", "type": "A", "records": []map[string]string{{"value": "192.0.2.1"}}})
	c.settle()
	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets/www/A/actions/change_protection", map[string]any{"change": true})
	c.settle()

	c.fails(http.StatusLocked, "protected", "DELETE", fmt.Sprintf("/volumes/%d", vol), nil)
	c.fails(http.StatusLocked, "protected", "DELETE", fmt.Sprintf("/primary_ips/%d", ip), nil)
	c.fails(http.StatusLocked, "protected", "DELETE", fmt.Sprintf("/zones/%d", id(t, zoneBody, "zone")), nil)
	c.fails(http.StatusLocked, "protected", "DELETE", "/zones/acme.example/rrsets/www/A", nil)
	c.fails(http.StatusLocked, "protected", "POST", "/zones/acme.example/rrsets/www/A/actions/set_records", map[string]any{"records": []map[string]string{{"value": "192.0.2.2"}}})

	c.must(http.StatusCreated, "POST", fmt.Sprintf("/volumes/%d/actions/change_protection", vol), map[string]any{"delete": false})
	c.must(http.StatusCreated, "POST", fmt.Sprintf("/primary_ips/%d/actions/change_protection", ip), map[string]any{"delete": false})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets/www/A/actions/change_protection", map[string]any{"change": false})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/actions/change_protection", map[string]any{"delete": false})
	c.settle()
	c.must(http.StatusNoContent, "DELETE", fmt.Sprintf("/volumes/%d", vol), nil)
	c.must(http.StatusNoContent, "DELETE", fmt.Sprintf("/primary_ips/%d", ip), nil)
	c.must(http.StatusOK, "DELETE", "/zones/acme.example/rrsets/www/A", nil)
	c.must(http.StatusOK, "DELETE", "/zones/acme.example", nil)
	c.fails(http.StatusNotFound, "not_found", "GET", fmt.Sprintf("/volumes/%d", vol), nil)
}

// createServer creates a server with two primary IPs and a firewall in nbg1-dc3.
func createServer(t *testing.T, sim *Server, c *client, name string, ipv4, ipv6 int64, extra map[string]any) int64 {
	t.Helper()
	image := sim.AddFlatcarSnapshot("stable")
	body := map[string]any{
		"name":        name,
		"server_type": "cx33",
		"image":       strconv.FormatInt(image, 10),
		"datacenter":  "nbg1-dc3",
		"user_data":   `{"ignition":{"version":"3.3.0"}}`,
		"public_net":  map[string]any{"enable_ipv4": true, "enable_ipv6": true, "ipv4": ipv4, "ipv6": ipv6},
	}
	for k, v := range extra {
		body[k] = v
	}
	resp := c.must(http.StatusCreated, "POST", "/servers", body)
	if resp["root_password"] != nil && extra["ssh_keys"] != nil {
		t.Errorf("root password with SSH keys: %v", resp["root_password"])
	}
	if n := len(get[[]any](t, resp, "next_actions")); n < 1 {
		t.Errorf("%d next actions, want start_server", n)
	}
	c.settle()
	return id(t, resp, "server")
}

func TestServerLifecycle(t *testing.T) {
	sim, c := newSim(t)
	ipv4 := id(t, c.must(http.StatusCreated, "POST", "/primary_ips", map[string]any{"name": "v4", "type": "ipv4", "assignee_type": "server", "datacenter": "nbg1-dc3", "auto_delete": false}), "primary_ip")
	ipv6 := id(t, c.must(http.StatusCreated, "POST", "/primary_ips", map[string]any{"name": "v6", "type": "ipv6", "assignee_type": "server", "datacenter": "nbg1-dc3"}), "primary_ip")
	other := id(t, c.must(http.StatusCreated, "POST", "/primary_ips", map[string]any{"name": "fsn", "type": "ipv4", "assignee_type": "server", "datacenter": "fsn1-dc14"}), "primary_ip")
	fw := id(t, c.must(http.StatusCreated, "POST", "/firewalls", map[string]any{
		"name":  "host",
		"rules": []map[string]any{{"direction": "in", "protocol": "tcp", "port": "22", "source_ips": []string{"0.0.0.0/0", "::/0"}}},
	}), "firewall")
	key := id(t, c.must(http.StatusCreated, "POST", "/ssh_keys", map[string]any{"name": "admin", "public_key": testPublicKey}), "ssh_key")
	vol := id(t, c.must(http.StatusCreated, "POST", "/volumes", map[string]any{"name": "data", "size": 50, "location": "nbg1"}), "volume")

	image := sim.AddFlatcarSnapshot("stable")
	base := map[string]any{"name": "acme", "server_type": "cx33", "image": image, "datacenter": "nbg1-dc3"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("name", "not a hostname"))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("server_type", "cx99"))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("image", 999))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("server_type", "cax11"))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("location", "nbg1"))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("user_data", strings.Repeat("x", 33000)))
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/servers", with("ssh_keys", []int64{1}))
	c.fails(http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", "POST", "/servers", with("public_net", map[string]any{"enable_ipv4": true, "ipv4": other}))
	c.fails(http.StatusUnprocessableEntity, "primary_ip_version_mismatch", "POST", "/servers", with("public_net", map[string]any{"enable_ipv4": true, "ipv4": ipv6}))

	srv := createServer(t, sim, c, "acme", ipv4, ipv6, map[string]any{"ssh_keys": []int64{key}, "firewalls": []map[string]any{{"firewall": fw}}, "labels": map[string]string{"nassella-site": "acme"}})
	s := c.must(http.StatusOK, "GET", fmt.Sprintf("/servers/%d", srv), nil)["server"].(map[string]any)
	if s["status"] != "running" || id(t, s, "public_net", "ipv4") != ipv4 || id(t, s, "public_net", "ipv6") != ipv6 {
		t.Errorf("server %v", s)
	}
	if ip := get[string](t, s, "public_net", "ipv6", "ip"); !strings.HasSuffix(ip, "::/64") {
		t.Errorf("ipv6 %s is not a /64", ip)
	}
	if fws := get[[]any](t, s, "public_net", "firewalls"); len(fws) != 1 || id(t, fws[0].(map[string]any)) != fw {
		t.Errorf("server firewalls %v", fws)
	}
	c.fails(http.StatusConflict, "uniqueness_error", "POST", "/servers", with())
	c.fails(http.StatusUnprocessableEntity, "primary_ip_assigned", "POST", "/servers", with("name", "other", "public_net", map[string]any{"enable_ipv4": true, "ipv4": ipv4, "enable_ipv6": false}))
	c.fails(http.StatusUnprocessableEntity, "resource_in_use", "DELETE", fmt.Sprintf("/firewalls/%d", fw), nil)
	c.fails(http.StatusUnprocessableEntity, "server_not_stopped", "DELETE", fmt.Sprintf("/primary_ips/%d", ipv4), nil)

	// Attach the volume; it shows the server once the action succeeded.
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", fmt.Sprintf("/volumes/%d/actions/attach", vol), map[string]any{"server": 100999})
	c.must(http.StatusCreated, "POST", fmt.Sprintf("/volumes/%d/actions/attach", vol), map[string]any{"server": srv, "automount": false})
	c.settle()
	v := c.must(http.StatusOK, "GET", fmt.Sprintf("/volumes/%d", vol), nil)["volume"].(map[string]any)
	if get[float64](t, v, "server") != float64(srv) || v["linux_device"] != fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", vol) {
		t.Errorf("attached volume %v", v)
	}
	c.fails(http.StatusUnprocessableEntity, "volume_already_attached", "POST", fmt.Sprintf("/volumes/%d/actions/attach", vol), map[string]any{"server": srv})
	c.fails(http.StatusUnprocessableEntity, "service_error", "DELETE", fmt.Sprintf("/volumes/%d", vol), nil)

	// Shut down, then delete: the volume is detached, the primary IPs unassigned.
	c.must(http.StatusCreated, "POST", fmt.Sprintf("/servers/%d/actions/shutdown", srv), nil)
	c.settle()
	if st := c.must(http.StatusOK, "GET", fmt.Sprintf("/servers/%d", srv), nil)["server"].(map[string]any)["status"]; st != "off" {
		t.Errorf("status after shutdown %v", st)
	}
	c.must(http.StatusOK, "DELETE", fmt.Sprintf("/servers/%d", srv), nil)
	c.settle()
	c.fails(http.StatusNotFound, "not_found", "GET", fmt.Sprintf("/servers/%d", srv), nil)
	for _, p := range sim.PrimaryIPs() {
		if p.AssigneeID != 0 {
			t.Errorf("primary IP %d still assigned to %d", p.ID, p.AssigneeID)
		}
	}
	if vols := sim.Volumes(); vols[0].ServerID != 0 {
		t.Errorf("volume still attached to %d", vols[0].ServerID)
	}
	if fws := sim.Firewalls(); len(fws[0].ServerIDs) != 0 {
		t.Errorf("firewall still applied to %v", fws[0].ServerIDs)
	}

	// A server without given primary IPs gets its own, deleted with it.
	auto := createServer(t, sim, c, "auto", 0, 0, nil)
	if ips := sim.PrimaryIPs(); len(ips) != 5 {
		t.Fatalf("%d primary IPs, want 5", len(ips))
	}
	c.must(http.StatusOK, "DELETE", fmt.Sprintf("/servers/%d", auto), nil)
	c.settle()
	if ips := sim.PrimaryIPs(); len(ips) != 3 {
		t.Errorf("%d primary IPs after deleting the server, want 3", len(ips))
	}

	// Assigning a primary IP needs a server that is off.
	srv = createServer(t, sim, c, "acme", 0, 0, nil)
	c.fails(http.StatusUnprocessableEntity, "server_not_stopped", "POST", fmt.Sprintf("/primary_ips/%d/actions/assign", ipv4), map[string]any{"assignee_id": srv, "assignee_type": "server"})
}

func TestFirewalls(t *testing.T) {
	sim, c := newSim(t)
	rule := func(kv ...any) map[string]any {
		r := map[string]any{"direction": "in", "protocol": "tcp", "port": "443", "source_ips": []string{"0.0.0.0/0", "::/0"}}
		for i := 0; i < len(kv); i += 2 {
			r[kv[i].(string)] = kv[i+1]
		}
		return r
	}
	for _, bad := range []map[string]any{
		rule("port", nil),
		rule("port", "0"),
		rule("port", "90-80"),
		rule("protocol", "icmp"),
		rule("protocol", "sctp"),
		rule("direction", "sideways"),
		rule("source_ips", []string{"10.0.0.1"}),
		rule("source_ips", []string{}),
	} {
		if bad["port"] == nil {
			delete(bad, "port")
		}
		c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/firewalls", map[string]any{"name": "fw", "rules": []map[string]any{bad}})
	}
	body := c.must(http.StatusCreated, "POST", "/firewalls", map[string]any{
		"name":     "web",
		"rules":    []map[string]any{rule("source_ips", []string{"10.1.2.3/8"}), rule("protocol", "icmp", "port", nil)},
		"apply_to": []map[string]any{{"type": "label_selector", "label_selector": map[string]string{"selector": "role=web"}}},
	})
	fw := id(t, body, "firewall")
	if n := len(get[[]any](t, body, "actions")); n != 1 {
		t.Errorf("%d actions for one apply_to resource", n)
	}
	rules := get[[]any](t, body, "firewall", "rules")
	if src := rules[0].(map[string]any)["source_ips"].([]any)[0]; src != "10.0.0.0/8" {
		t.Errorf("source IP %v, want the canonical 10.0.0.0/8", src)
	}
	if port := rules[1].(map[string]any)["port"]; port != nil {
		t.Errorf("icmp rule port %v", port)
	}
	c.fails(http.StatusUnprocessableEntity, "firewall_already_applied", "POST", fmt.Sprintf("/firewalls/%d/actions/apply_to_resources", fw),
		map[string]any{"apply_to": []map[string]any{{"type": "label_selector", "label_selector": map[string]string{"selector": "role=web"}}}})

	web := createServer(t, sim, c, "web", 0, 0, map[string]any{"labels": map[string]string{"role": "web"}})
	db := createServer(t, sim, c, "db", 0, 0, map[string]any{"labels": map[string]string{"role": "db"}})
	f := c.must(http.StatusOK, "GET", fmt.Sprintf("/firewalls/%d", fw), nil)["firewall"].(map[string]any)
	applied := get[[]any](t, f, "applied_to")[0].(map[string]any)
	if res := applied["applied_to_resources"].([]any); len(res) != 1 || id(t, res[0].(map[string]any), "server") != web {
		t.Errorf("applied to %v, want server %d", applied, web)
	}
	c.fails(http.StatusUnprocessableEntity, "firewall_managed_by_label_selector", "POST", fmt.Sprintf("/firewalls/%d/actions/remove_from_resources", fw),
		map[string]any{"remove_from": []map[string]any{{"type": "server", "server": map[string]any{"id": web}}}})

	c.must(http.StatusCreated, "POST", fmt.Sprintf("/firewalls/%d/actions/apply_to_resources", fw), map[string]any{"apply_to": []map[string]any{{"type": "server", "server": map[string]any{"id": db}}}})
	c.fails(http.StatusNotFound, "firewall_resource_not_found", "POST", fmt.Sprintf("/firewalls/%d/actions/apply_to_resources", fw), map[string]any{"apply_to": []map[string]any{{"type": "server", "server": map[string]any{"id": 100999}}}})
	set := c.must(http.StatusCreated, "POST", fmt.Sprintf("/firewalls/%d/actions/set_rules", fw), map[string]any{"rules": []map[string]any{rule()}})
	c.settle()
	if n := len(get[[]any](t, set, "actions")); n != 3 {
		t.Errorf("set_rules gave %d actions, want one for the rules and one per server", n)
	}
	if fws := sim.Firewalls(); fws[0].Rules != 1 || !slices.Equal(fws[0].ServerIDs, []int64{web, db}) {
		t.Errorf("firewall %+v", fws[0])
	}
	srv := c.must(http.StatusOK, "GET", fmt.Sprintf("/servers/%d", db), nil)["server"].(map[string]any)
	if fws := get[[]any](t, srv, "public_net", "firewalls"); len(fws) != 1 || fws[0].(map[string]any)["status"] != "applied" {
		t.Errorf("server firewalls %v", fws)
	}
	actions := c.must(http.StatusOK, "GET", fmt.Sprintf("/servers/%d/actions?sort=id:desc", db), nil)
	if list := get[[]any](t, actions, "actions"); len(list) < 3 || list[0].(map[string]any)["command"] != "apply_firewall" {
		t.Errorf("server actions %v", list)
	}

	c.must(http.StatusCreated, "POST", fmt.Sprintf("/firewalls/%d/actions/remove_from_resources", fw), map[string]any{"remove_from": []map[string]any{
		{"type": "server", "server": map[string]any{"id": db}},
		{"type": "label_selector", "label_selector": map[string]string{"selector": "role=web"}},
	}})
	c.settle()
	c.must(http.StatusNoContent, "DELETE", fmt.Sprintf("/firewalls/%d", fw), nil)
}

func TestZonesAndRRSets(t *testing.T) {
	sim, c := newSim(t)
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones", map[string]any{"name": "Acme.Example.", "mode": "primary"})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones", map[string]any{"name": "acme.example", "mode": "primary", "primary_nameservers": []map[string]any{{"address": "192.0.2.1"}}})
	z := c.must(http.StatusCreated, "POST", "/zones", map[string]any{"name": "acme.example", "mode": "primary", "labels": map[string]string{"nassella-site": "acme"}})
	c.fails(http.StatusConflict, "uniqueness_error", "POST", "/zones", map[string]any{"name": "acme.example", "mode": "primary"})
	zoneID := id(t, z, "zone")

	byName := c.must(http.StatusOK, "GET", "/zones/acme.example", nil)["zone"].(map[string]any)
	byID := c.must(http.StatusOK, "GET", fmt.Sprintf("/zones/%d", zoneID), nil)["zone"].(map[string]any)
	if byName["id"] != byID["id"] || byName["ttl"] != float64(3600) || byName["status"] != "ok" {
		t.Errorf("zone by name %v, by ID %v", byName, byID)
	}
	assigned := get[[]any](t, byName, "authoritative_nameservers", "assigned")
	if len(assigned) != 3 || assigned[0] != "hydrogen.ns.hetzner.com." {
		t.Errorf("assigned name servers %v", assigned)
	}

	rec := func(values ...string) []map[string]string {
		var out []map[string]string
		for _, v := range values {
			out = append(out, map[string]string{"value": v})
		}
		return out
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "A", "records": rec("2001:db8::1")})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "AAAA", "records": rec("192.0.2.1")})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "Vault", "type": "A", "records": rec("192.0.2.1")})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "A", "ttl": 10, "records": rec("192.0.2.1")})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "txt", "type": "TXT", "records": rec("unquoted")})
	rr := c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "A", "ttl": 300, "records": rec("192.0.2.1")})
	if get[string](t, rr, "rrset", "id") != "vault/A" || get[string](t, rr, "action", "command") != "create_rrset" {
		t.Errorf("created %v", rr)
	}
	c.fails(http.StatusConflict, "uniqueness_error", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "A", "records": rec("192.0.2.2")})
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "CNAME", "records": rec("other.example.")})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets", map[string]any{"name": "vault", "type": "AAAA", "records": rec("2001:db8:1::1")})

	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets/vault/A/actions/set_records", map[string]any{"records": rec("192.0.2.7", "192.0.2.8")})
	c.must(http.StatusCreated, "POST", "/zones/acme.example/rrsets/vault/A/actions/change_ttl", map[string]any{"ttl": 600})
	c.must(http.StatusOK, "PUT", "/zones/acme.example/rrsets/vault/A", map[string]any{"labels": map[string]string{"k": "v"}})
	c.settle()
	got := c.must(http.StatusOK, "GET", fmt.Sprintf("/zones/%d/rrsets/vault/A", zoneID), nil)["rrset"].(map[string]any)
	if got["ttl"] != float64(600) || len(get[[]any](t, got, "records")) != 2 || get[string](t, got, "labels", "k") != "v" {
		t.Errorf("rrset after actions %v", got)
	}
	list := c.must(http.StatusOK, "GET", "/zones/acme.example/rrsets?type=A&type=AAAA", nil)
	if n := len(get[[]any](t, list, "rrsets")); n != 2 {
		t.Errorf("listed %d A and AAAA RRSets, want 2", n)
	}
	if n := len(sim.RRSets("acme.example")); n != 4 {
		t.Errorf("%d RRSets with SOA and NS, want 4", n)
	}
	c.fails(http.StatusNotFound, "not_found", "GET", "/zones/acme.example/rrsets/vault/MX", nil)
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "DELETE", "/zones/acme.example/rrsets/@/NS", nil)
	c.must(http.StatusOK, "DELETE", "/zones/acme.example/rrsets/vault/A", nil)
	c.must(http.StatusOK, "DELETE", "/zones/acme.example", nil)
	if len(sim.Zones()) != 0 {
		t.Errorf("zone not deleted")
	}
}

func TestImagesList(t *testing.T) {
	sim, c := newSim(t)
	old := sim.AddImage(Image{Type: "snapshot", Labels: map[string]string{"os": "flatcar", "flatcar-channel": "stable"}, Created: time.Now().Add(-time.Hour)})
	newest := sim.AddFlatcarSnapshot("stable")
	sim.AddFlatcarSnapshot("beta")
	sim.AddImage(Image{Type: "snapshot", Architecture: "arm", Labels: map[string]string{"os": "flatcar", "flatcar-channel": "stable"}})
	body := c.must(http.StatusOK, "GET", "/images?label_selector="+url.QueryEscape("os=flatcar,flatcar-channel=stable")+"&architecture=x86&sort=created:desc", nil)
	images := get[[]any](t, body, "images")
	if len(images) != 2 || id(t, images[0].(map[string]any)) != newest || id(t, images[1].(map[string]any)) != old {
		t.Errorf("images %v", images)
	}
	img := images[0].(map[string]any)
	if img["name"] != nil || img["type"] != "snapshot" || img["architecture"] != "x86" {
		t.Errorf("snapshot %v", img)
	}
	body = c.must(http.StatusOK, "GET", "/images?name=debian-12&architecture=arm", nil)
	if n := len(get[[]any](t, body, "images")); n != 1 {
		t.Errorf("%d debian-12 arm images", n)
	}
	c.fails(http.StatusUnprocessableEntity, "invalid_input", "GET", "/images?architecture=sparc", nil)
}

// TestOpenTofuEndToEnd runs the real OpenTofu and the real hcloud provider with the
// project's Hetzner module against the simulator: apply, a plan without changes,
// a server replacement that keeps the volume, the IPs and the DNS records, and
// destroy.
func TestOpenTofuEndToEnd(t *testing.T) {
	tofuBin := testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	start := time.Now()

	sim := New()
	sim.AddImage(Image{Type: "snapshot", Labels: map[string]string{"os": "flatcar", "flatcar-channel": "stable"}, Created: time.Now().Add(-24 * time.Hour)})
	flatcar := sim.AddFlatcarSnapshot("stable")
	sim.AddFlatcarSnapshot("beta")
	// Actions outlive the provider's first poll (after 500 ms), so it sees them
	// running and has to poll again.
	sim.SetActionDelay(600 * time.Millisecond)
	sim.Start()
	defer sim.Close()

	dir := t.TempDir()
	module := filepath.Join(dir, "terraform")
	if err := os.MkdirAll(module, 0o755); err != nil {
		t.Fatal(err)
	}
	// A Hetzner site's module as the generator puts it together (render/terraform, Modules).
	var sources []string
	for _, part := range []string{"shared", "hetzner", "dns-hetzner"} {
		found, err := filepath.Glob(filepath.Join("..", "..", "..", "site-template", "terraform", part, "*.tf"))
		if err != nil || len(found) == 0 {
			t.Fatalf("no Terraform module found in %s: %v", part, err)
		}
		sources = append(sources, found...)
	}
	for _, src := range sources {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(module, filepath.Base(src)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(module, "site.auto.tfvars"), `site = "acme"
location = "nbg1"
datacenter = "nbg1-dc3"
server_type = "cx33"
volume_size = 50
flatcar_channel = "stable"
ssh_keys = { "admin-1" = "`+testPublicKey+`" }
zones = ["acme.example"]
records = { "vault.acme.example" = { zone = "acme.example", name = "vault" } }
`)
	ignition := filepath.Join(dir, "host", "ignition.json")
	writeFile(t, ignition, `{"ignition":{"version":"3.3.0"}}`)
	// The backup settings go next to the Ignition, changed on the running server.
	writeFile(t, filepath.Join(dir, "host", "backup-settings.env"), "NASSELLA_SCHEDULE=daily 03:00\n")

	tf := &tofu{t: t, bin: tofuBin, dir: module, env: append(os.Environ(),
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"TF_VAR_hcloud_endpoint="+sim.Endpoint(),
		"TF_VAR_hcloud_token="+DefaultToken,
		"TF_VAR_state_passphrase=correct horse battery staple",
	)}
	tf.run(0, "init", "-backend=false", "-input=false", "-no-color")

	// Apply creates everything.
	tf.run(0, "apply", "-auto-approve", "-input=false", "-no-color")
	first := checkSite(t, sim, flatcar, true)
	t.Run("networkd", func(t *testing.T) {
		checkNetworkd(t, userDataFile(t, first.server.UserData, publicNetworkPath), first.ipv6)
	})
	outputs := tf.outputs()
	if outputs["ipv4_address"] != first.ipv4.IP || outputs["ipv6_address"] != strings.TrimSuffix(first.ipv6.IP, "/64")+"1" {
		t.Errorf("outputs %v do not match the primary IPs %s and %s", outputs, first.ipv4.IP, first.ipv6.IP)
	}
	if ns := fmt.Sprint(outputs["name_servers"]); !strings.Contains(ns, "hydrogen.ns.hetzner.com.") {
		t.Errorf("name_servers output %s", ns)
	}
	if outputs["server_id"] != strconv.FormatInt(first.server.ID, 10) || outputs["volume_id"] != strconv.FormatInt(first.volume.ID, 10) {
		t.Errorf("outputs %v do not match server %d and volume %d", outputs, first.server.ID, first.volume.ID)
	}
	polls := map[string]int{}
	for _, r := range sim.Requests() {
		if r.Method == "GET" && r.Path == "/v1/actions" {
			q, _ := url.ParseQuery(r.Query)
			for _, id := range q["id"] {
				polls[id]++
			}
		}
	}
	repolled := 0
	for _, n := range polls {
		if n > 1 {
			repolled++
		}
	}
	if len(polls) == 0 || repolled == 0 {
		t.Errorf("the provider polled %d actions, %d of them more than once; want it to wait for running actions", len(polls), repolled)
	}

	// The simulator returns what the provider expects: nothing to change.
	tf.run(0, "plan", "-detailed-exitcode", "-input=false", "-no-color")

	// A new Ignition replaces the server (server.tf: the hash of the server's setup
	// triggers it); the volume, the IPs and the records stay.
	writeFile(t, ignition, `{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,v2"}}]}}`)
	plan := tf.run(2, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	for _, want := range []string{"hcloud_server.host will be replaced due to changes in replace_triggered_by", "terraform_data.server_setup will be updated in-place", "hcloud_volume_attachment.data must be replaced", "Plan: 2 to add, 1 to change, 2 to destroy."} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan for a new Ignition lacks %q:\n%s", want, plan)
		}
	}
	tf.run(0, "apply", "-auto-approve", "-input=false", "-no-color")
	second := checkSite(t, sim, flatcar, true)
	if second.server.ID == first.server.ID {
		t.Errorf("server %d was not replaced", first.server.ID)
	}
	if second.server.UserData == first.server.UserData {
		t.Error("the new server has the old user_data")
	}
	if second.volume.ID != first.volume.ID || second.ipv4.ID != first.ipv4.ID || second.ipv6.ID != first.ipv6.ID {
		t.Errorf("replacing the server replaced volume or IPs: %+v -> %+v", first, second)
	}
	if !slices.Equal(second.a.Values, first.a.Values) || !slices.Equal(second.aaaa.Values, first.aaaa.Values) {
		t.Errorf("records changed: %v %v -> %v %v", first.a.Values, first.aaaa.Values, second.a.Values, second.aaaa.Values)
	}
	tf.run(0, "plan", "-detailed-exitcode", "-input=false", "-no-color")

	// Deleting the site takes turning the protection off first.
	tf.env = append(tf.env, "TF_VAR_protect_data=false")
	tf.run(0, "apply", "-auto-approve", "-input=false", "-no-color")
	checkSite(t, sim, flatcar, false)
	tf.run(0, "destroy", "-auto-approve", "-input=false", "-no-color")
	if n := len(sim.Servers()) + len(sim.Volumes()) + len(sim.PrimaryIPs()) + len(sim.Firewalls()) + len(sim.SSHKeys()) + len(sim.Zones()); n != 0 {
		t.Errorf("%d resources left after destroy: %+v %+v %+v %+v %+v %+v", n, sim.Servers(), sim.Volumes(), sim.PrimaryIPs(), sim.Firewalls(), sim.SSHKeys(), sim.Zones())
	}
	for _, a := range sim.Actions() {
		if a.Status != "success" {
			t.Errorf("action %d %s ended %s", a.ID, a.Command, a.Status)
		}
	}
	t.Logf("end to end: %d API requests, %d actions, %s", len(sim.Requests()), len(sim.Actions()), time.Since(start).Round(time.Millisecond))
}

// site is what the module creates, as the simulator holds it.
type site struct {
	server     ServerInfo
	volume     VolumeInfo
	ipv4, ipv6 PrimaryIPInfo
	a, aaaa    RRSetInfo
}

// checkSite checks the simulated state after an apply of the module.
func checkSite(t *testing.T, sim *Server, image int64, protected bool) site {
	t.Helper()
	var out site
	servers, volumes, ips := sim.Servers(), sim.Volumes(), sim.PrimaryIPs()
	if len(servers) != 1 || len(volumes) != 1 || len(ips) != 2 {
		t.Fatalf("%d servers, %d volumes, %d primary IPs; want 1, 1, 2", len(servers), len(volumes), len(ips))
	}
	out.server, out.volume = servers[0], volumes[0]
	srv, vol := out.server, out.volume
	for _, ip := range ips {
		switch ip.Type {
		case "ipv4":
			out.ipv4 = ip
		case "ipv6":
			out.ipv6 = ip
		}
		if ip.AssigneeID != srv.ID || ip.AutoDelete || ip.DeleteProtection != protected || ip.Datacenter != "nbg1-dc3" {
			t.Errorf("primary IP %+v, want assigned to server %d, protected %v", ip, srv.ID, protected)
		}
	}
	if srv.Name != "acme" || srv.Status != "running" || srv.ServerType != "cx33" || srv.Datacenter != "nbg1-dc3" || srv.ImageID != image {
		t.Errorf("server %+v", srv)
	}
	if srv.IPv4ID != out.ipv4.ID || srv.IPv6ID != out.ipv6.ID || srv.Labels["nassella-site"] != "acme" {
		t.Errorf("server %+v does not have the primary IPs %d and %d", srv, out.ipv4.ID, out.ipv6.ID)
	}
	if len(srv.SSHKeyIDs) != 1 || len(srv.FirewallIDs) != 1 {
		t.Errorf("server %+v, want an SSH key and a firewall", srv)
	}
	if env := userDataFile(t, srv.UserData, "/etc/nassella/volume.env"); env != "NASSELLA_DATA_DEVICE="+vol.LinuxDevice+"\n" {
		t.Errorf("volume.env in user_data is %q, want the device %s", env, vol.LinuxDevice)
	}
	if vol.Name != "acme-data" || vol.Size != 50 || vol.Location != "nbg1" || vol.ServerID != srv.ID || vol.DeleteProtection != protected {
		t.Errorf("volume %+v, want attached to server %d, protected %v", vol, srv.ID, protected)
	}
	if fws := sim.Firewalls(); len(fws) != 1 || fws[0].Rules != 5 || !slices.Equal(fws[0].ServerIDs, []int64{srv.ID}) {
		t.Errorf("firewalls %+v", fws)
	}
	if keys := sim.SSHKeys(); len(keys) != 1 || keys[0].Name != "acme-admin-1" || keys[0].PublicKey != testPublicKey {
		t.Errorf("SSH keys %+v", keys)
	}
	zones := sim.Zones()
	if len(zones) != 1 || zones[0].Name != "acme.example" || zones[0].Mode != "primary" || len(zones[0].Nameservers) != 3 {
		t.Fatalf("zones %+v", zones)
	}
	for _, rr := range sim.RRSets("acme.example") {
		switch {
		case rr.Name == "vault" && rr.Type == "A":
			out.a = rr
		case rr.Name == "vault" && rr.Type == "AAAA":
			out.aaaa = rr
		}
	}
	if !slices.Equal(out.a.Values, []string{out.ipv4.IP}) || out.a.TTL == nil || *out.a.TTL != 300 {
		t.Errorf("A RRSet %+v, want %s with TTL 300", out.a, out.ipv4.IP)
	}
	if want := strings.TrimSuffix(out.ipv6.IP, "/64") + "1"; !slices.Equal(out.aaaa.Values, []string{want}) {
		t.Errorf("AAAA RRSet %+v, want %s", out.aaaa, want)
	}
	checkPublicIPv6(t, srv, out.ipv6, out.aaaa.Values)
	return out
}

// userDataFile returns the contents of a file the module's Ignition user_data
// writes from a base64 data URL.
func userDataFile(t *testing.T, userData, path string) string {
	t.Helper()
	var cfg struct {
		Storage struct {
			Files []struct {
				Path     string `json:"path"`
				Contents struct {
					Source string `json:"source"`
				} `json:"contents"`
			} `json:"files"`
		} `json:"storage"`
	}
	if err := json.Unmarshal([]byte(userData), &cfg); err != nil {
		t.Fatalf("user_data is not JSON: %v", err)
	}
	for _, f := range cfg.Storage.Files {
		if f.Path != path {
			continue
		}
		_, encoded, ok := strings.Cut(f.Contents.Source, ";base64,")
		data, err := base64.StdEncoding.DecodeString(encoded)
		if !ok || err != nil {
			t.Fatalf("%s: source %q is not a base64 data URL", path, f.Contents.Source)
		}
		return string(data)
	}
	t.Fatalf("user_data writes no %s", path)
	return ""
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tofu runs OpenTofu in a module directory.
type tofu struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

// run runs tofu and fails the test unless it exits with the wanted code.
func (tf *tofu) run(want int, args ...string) string {
	tf.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf.bin, args...)
	cmd.Dir = tf.dir
	cmd.Env = tf.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		tf.t.Fatalf("tofu %s: %v", strings.Join(args, " "), err)
	}
	tf.t.Logf("tofu %s: exit %d in %s", strings.Join(args, " "), code, time.Since(started).Round(time.Millisecond))
	if code != want {
		tf.t.Fatalf("tofu %s: exit code %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}

// outputs returns the module's outputs.
func (tf *tofu) outputs() map[string]any {
	tf.t.Helper()
	raw := tf.run(0, "output", "-json", "-no-color")
	var parsed map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		tf.t.Fatalf("tofu output -json: %v\n%s", err, raw)
	}
	out := map[string]any{}
	for k, v := range parsed {
		out[k] = v.Value
		if f, ok := v.Value.(float64); ok {
			out[k] = strconv.FormatInt(int64(f), 10)
		}
	}
	return out
}
