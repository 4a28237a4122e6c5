package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
)

// example is a built-in example site with the given replacements made, each of which must
// apply.
func example(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	data, ok := examples.Get(name)
	if !ok {
		t.Fatalf("no example %s", name)
	}
	out := string(data)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(out, replace[i]) {
			t.Fatalf("the example %s has no %q; update the test", name, replace[i])
		}
		out = strings.Replace(out, replace[i], replace[i+1], 1)
	}
	return []byte(out)
}

// pullRequest reads pull request n's title and body from the forge.
func (e *consoleEnv) pullRequest(t *testing.T, n int) (title, body string) {
	t.Helper()
	var pr struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	if err := e.g.API(context.Background(), "GET", fmt.Sprintf("/repos/%s/pulls/%d", e.repo, n), nil, &pr); err != nil {
		t.Fatal(err)
	}
	return pr.Title, pr.Body
}

// A site on the owner's own machine (libvirt): sized by its memory, which an app that
// does not fit raises, with memory and CPUs on the resources form and no volume there
// (the provider cannot grow it), and no price.
func TestConsoleOwnMachine(t *testing.T) {
	yaml := example(t, "own-hardware", "  immich: {}\n", "", "memory_mb: 6144", "memory_mb: 2048", "    vcpus: 4\n", "")
	e := startConsoleEnv(t, consoleSetup{site: func([]byte) []byte { return yaml }})
	owner := e.signIn(t, e.ownerLogin)
	page := e.console.URL + "/site/" + e.repo
	owner.get(page)
	for _, want := range []string{"2 GB of memory, 2 virtual CPUs, at your own machine box.home.example", "no provider bills you", `id="change-resources"`} {
		if !strings.Contains(owner.body, want) {
			t.Errorf("the site page lacks %q:\n%s", want, owner.body)
		}
	}

	// Immich (4 GB) does not fit 2 GB with Vaultwarden and the system.
	owner.get(page + "/add")
	if st := owner.submit("add-app-form", url.Values{"app": {"immich"}}); st != http.StatusOK || !strings.Contains(owner.body, `id="fit-suggestion"`) {
		t.Fatalf("adding immich: %d, no suggestion:\n%s", st, owner.body)
	}
	l, err := site.Load("site.yaml", yaml, catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	wantMB := site.RoundUpMB(l.MemoryMB() + 4096)
	if !strings.Contains(owner.body, fmt.Sprintf(`name="memory_mb" value="%d"`, wantMB)) || !strings.Contains(owner.body, "box.home.example must have that much free") {
		t.Fatalf("the suggestion is not %d MiB on box.home.example:\n%s", wantMB, owner.body)
	}
	if st := owner.submit("accept-form", nil); st != http.StatusOK || !strings.HasSuffix(owner.last.Path, "/pr/1") {
		t.Fatalf("accepting: %d at %s\n%s", st, owner.last, owner.body)
	}
	want := strings.Replace(string(yaml), "memory_mb: 2048", fmt.Sprintf("memory_mb: %d", wantMB), 1)
	want = strings.Replace(want, "  vaultwarden: {}\n", "  vaultwarden: {}\n  immich: {}\n", 1)
	e.checkChange(t, 1, "add-immich-", want)
	if title, body := e.pullRequest(t, 1); !strings.Contains(title, "with "+gb(wantMB)+" of memory") || !strings.Contains(body, "Merging rebuilds the server") {
		t.Errorf("pull request 1: %q\n%s", title, body)
	}

	owner.get(page + "/resources")
	if strings.Contains(owner.body, `name="volume_gb"`) || strings.Contains(owner.body, `name="server_type"`) || !strings.Contains(owner.body, `id="volume-on-machine"`) {
		t.Errorf("the resources form of a site on its own machine:\n%s", owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"memory_mb": {"512"}}); st != http.StatusUnprocessableEntity || !strings.Contains(owner.body, `id="memory_mb-problem"`) {
		t.Fatalf("512 MiB: %d\n%s", st, owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"memory_mb": {"2048"}, "vcpus": {"3"}}); st != http.StatusOK || !strings.HasSuffix(owner.last.Path, "/pr/2") {
		t.Fatalf("saving 3 CPUs: %d at %s\n%s", st, owner.last, owner.body)
	}
	// vcpus was not in site.yaml: it is added as the last entry of provider.libvirt.
	e.checkChange(t, 2, "resources-", strings.Replace(string(yaml), "    volume_gb: 200\n", "    volume_gb: 200\n    vcpus: 3\n", 1))
	if title, _ := e.pullRequest(t, 2); title != "Change 3 virtual CPUs" {
		t.Errorf("pull request 2 is titled %q", title)
	}
}

// A site in an OpenStack cloud: only the cloud knows its flavor's memory, so an app is
// added at once and the plan checks it; the flavor is a field checked by site.yaml's
// rules, the volume only grows, and no price is guessed.
func TestConsoleOpenStack(t *testing.T) {
	yaml := example(t, "openstack-cloud")
	e := startConsoleEnv(t, consoleSetup{site: func([]byte) []byte { return yaml }})
	owner := e.signIn(t, e.ownerLogin)
	page := e.console.URL + "/site/" + e.repo
	owner.get(page)
	for _, want := range []string{"flavor b3-8, at the OpenStack cloud at auth.cloud.ovh.net, region GRA11", "no common price list"} {
		if !strings.Contains(owner.body, want) {
			t.Errorf("the site page lacks %q:\n%s", want, owner.body)
		}
	}
	owner.get(page + "/add")
	if st := owner.submit("add-app-form", url.Values{"app": {"immich"}}); st != http.StatusOK || !strings.HasSuffix(owner.last.Path, "/pr/1") {
		t.Fatalf("adding immich: %d at %s\n%s", st, owner.last, owner.body)
	}
	e.checkChange(t, 1, "add-immich-", strings.Replace(string(yaml), "  vaultwarden: { subdomain: vault }\n", "  vaultwarden: { subdomain: vault }\n  immich: {}\n", 1))
	if _, body := e.pullRequest(t, 1); !strings.Contains(body, "The plan checks that your server's flavor (b3-8) has it") {
		t.Errorf("pull request 1 does not say the plan checks the flavor:\n%s", body)
	}

	owner.get(page + "/resources")
	if strings.Contains(owner.body, `name="server_type"`) || !strings.Contains(owner.body, `id="flavor" value="b3-8"`) {
		t.Errorf("the resources form of an OpenStack site:\n%s", owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"flavor": {"b3 16"}}); st != http.StatusUnprocessableEntity || !strings.Contains(owner.body, `id="flavor-problem"`) {
		t.Fatalf("a flavor with a space: %d\n%s", st, owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"flavor": {"b3-16"}, "volume_gb": {"50"}}); st != http.StatusUnprocessableEntity || !strings.Contains(owner.body, "can only grow") {
		t.Fatalf("a smaller volume: %d\n%s", st, owner.body)
	}
	if st := owner.submit("resources-form", url.Values{"flavor": {"b3-16"}, "volume_gb": {"150"}}); st != http.StatusOK || !strings.HasSuffix(owner.last.Path, "/pr/2") {
		t.Fatalf("saving: %d at %s\n%s", st, owner.last, owner.body)
	}
	want := strings.Replace(string(yaml), "flavor: b3-8", "flavor: b3-16", 1)
	e.checkChange(t, 2, "resources-", strings.Replace(want, "volume_gb: 100", "volume_gb: 150", 1))
	if title, body := e.pullRequest(t, 2); title != "Change flavor b3-16, data volume 150 GB" || !strings.Contains(body, "Merging resizes the server") {
		t.Errorf("pull request 2: %q\n%s", title, body)
	}
}
