// Package ciimages checks that the CI image, the tools script and the site workflows name
// the same versions, and builds and runs the console's image in a private Docker daemon.
package ciimages

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nassella/nassella/generator"
)

func TestVersionsAgree(t *testing.T) {
	docker, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tools, err := os.ReadFile("../.ci/tools.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TOFU_VERSION", "HCLOUD_VERSION", "LIBVIRT_VERSION", "OPENSTACK_VERSION"} {
		m := regexp.MustCompile(name + `=([0-9.]+)`).FindSubmatch(tools)
		if m == nil {
			t.Fatalf(".ci/tools.sh has no %s", name)
		}
		if !strings.Contains(string(docker), string(m[1])) {
			t.Errorf("the Dockerfile does not use %s %s from .ci/tools.sh", name, m[1])
		}
	}
	image := "ghcr.io/nassella/ci:" + generator.Version
	if !strings.Contains(string(docker), image) {
		t.Errorf("the Dockerfile's build line does not tag %s", image)
	}
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
