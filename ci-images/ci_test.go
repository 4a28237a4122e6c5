// Package ciimages checks that the CI image, the tools scripts and the site workflows name
// the same versions, and builds the CI image and the console's image in a private Docker
// daemon and runs what each is for.
package ciimages

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nassella/nassella/generator"
)

func TestVersionsAgree(t *testing.T) {
	var tools []byte
	for _, script := range []string{"../.ci/tools.sh", "../.ci/tools-platforms.sh"} {
		data, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		tools = append(tools, data...)
	}
	version := func(name string) string {
		m := regexp.MustCompile(name + `=([0-9.]+)`).FindSubmatch(tools)
		if m == nil {
			t.Fatalf(".ci/tools.sh and tools-platforms.sh have no %s", name)
		}
		return string(m[1])
	}
	// The providers the image's mirror holds are the ones each platform's module asks for
	// (an exact version: the mirror has no other).
	for _, p := range []struct{ dir, source, name string }{
		{"hetzner", "hetznercloud/hcloud", "HCLOUD_VERSION"},
		{"libvirt", "dmacvicar/libvirt", "LIBVIRT_VERSION"},
		{"openstack", "terraform-provider-openstack/openstack", "OPENSTACK_VERSION"},
	} {
		data, err := os.ReadFile(filepath.Join("../site-template/terraform", p.dir, "versions.tf"))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("source  = %q\n      version = %q", p.source, version(p.name))
		if !strings.Contains(string(data), want) {
			t.Errorf("site-template/terraform/%s/versions.tf does not ask for %s %s, which the tools scripts build", p.dir, p.source, version(p.name))
		}
	}
	version("TOFU_VERSION")
	image := "ghcr.io/nassella/ci:" + generator.Version
	workflows, _ := filepath.Glob("../site-template/workflows/*/*.yml")
	if len(workflows) == 0 {
		t.Fatal("no workflows found")
	}
	for _, w := range workflows {
		data, _ := os.ReadFile(w)
		if !strings.Contains(string(data), "image: "+image) {
			t.Errorf("%s does not run in %s", w, image)
		}
	}
}
