package bootstrap

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/openstacksim"
)

// openstackRunner is a bootstrap run of the openstack-cloud example against the OpenStack
// simulator, with site.yaml's provider fields replaced as given ("old" → "new").
func openstackRunner(t *testing.T, sim *openstacksim.Server, secrets map[string]string, img Image, replace ...string) *runner {
	t.Helper()
	y, _ := examples.Get("openstack-cloud")
	data := strings.Replace(string(y), "https://auth.cloud.ovh.net/v3", sim.AuthURL(), 1)
	data = strings.Replace(data, "region: GRA11", "region: "+sim.Region(), 1)
	for i := 0; i+1 < len(replace); i += 2 {
		data = strings.Replace(data, replace[i], replace[i+1], 1)
	}
	l, err := site.Load("site.yaml", []byte(data), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: Config{Site: l, Flatcar: catalog.Embedded().Flatcar, Secrets: secrets, Image: img, HTTPClient: sim.Client(),
		Hetzner: Hetzner{PollInterval: time.Millisecond, Timeout: time.Minute}}, rep: &Report{}}
	r.defaults()
	return r
}

var simCredential = map[string]string{
	"OPENSTACK_APPLICATION_CREDENTIAL_ID":     openstacksim.DefaultApplicationCredentialID,
	"OPENSTACK_APPLICATION_CREDENTIAL_SECRET": openstacksim.DefaultApplicationCredentialSecret,
}

// Bootstrap of a site at an OpenStack cloud: the credential, the flavor against the apps'
// memory, the external network, and Flatcar's OpenStack image uploaded once, verified,
// decompressed, under the name the module looks up.
func TestOpenStackProject(t *testing.T) {
	sim := openstacksim.New()
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	path, raw, sum := makeImage(t)
	good := Image{Path: path, Checksum: "sha512:" + sum, Version: "4230.2.3"}
	ctx := context.Background()

	steps := func(r *runner) map[string]Step {
		out := map[string]Step{}
		for _, name := range []string{stepOpenStack, stepOpenStackFlavor, stepOpenStackNetwork, stepOpenStackImage} {
			out[name] = r.rep.Step(name)
		}
		return out
	}

	// No credential, then a wrong one: nothing else is tried.
	for _, tc := range []struct {
		name    string
		secrets map[string]string
		detail  string
	}{
		{"no credential", map[string]string{}, "are not both given"},
		{"wrong secret", map[string]string{"OPENSTACK_APPLICATION_CREDENTIAL_ID": openstacksim.DefaultApplicationCredentialID, "OPENSTACK_APPLICATION_CREDENTIAL_SECRET": "wrong"}, "does not accept the application credential (401)"},
	} {
		r := openstackRunner(t, sim, tc.secrets, good)
		r.openstackProject(ctx)
		st := steps(r)
		if s := st[stepOpenStack]; s.Status != Failed || !strings.Contains(s.Detail, tc.detail) || s.Fix == "" {
			t.Errorf("%s: credential step %+v", tc.name, s)
		}
		if s := st[stepOpenStackImage]; s.Status != Skipped {
			t.Errorf("%s: image step %+v, want skipped", tc.name, s)
		}
	}

	// A wrong checksum: refused before anything is created.
	r := openstackRunner(t, sim, simCredential, Image{Path: path, Checksum: "sha512:" + strings.Repeat("0", 128), Version: "4230.2.3"})
	r.openstackProject(ctx)
	if s := r.rep.Step(stepOpenStackImage); s.Status != Failed || !strings.Contains(s.Fix, "flatcar_production_openstack_image.img.bz2") {
		t.Errorf("image step with a wrong checksum: %+v", s)
	}
	if n := len(sim.Images()); n != 0 {
		t.Fatalf("a wrong checksum left %d images", n)
	}

	// The good run: everything checks out and the image is uploaded.
	r = openstackRunner(t, sim, simCredential, good)
	r.openstackProject(ctx)
	st := steps(r)
	if s := st[stepOpenStack]; s.Status != AlreadyThere {
		t.Errorf("credential step %+v", s)
	}
	if s := st[stepOpenStackFlavor]; s.Status != AlreadyThere || !strings.Contains(s.Detail, "b3-8: 8192 MiB") {
		t.Errorf("flavor step %+v", s)
	}
	if s := st[stepOpenStackNetwork]; s.Status != AlreadyThere || !strings.HasPrefix(s.Detail, "Ext-Net") {
		t.Errorf("network step %+v", s)
	}
	if s := st[stepOpenStackImage]; s.Status != Done || !strings.Contains(s.Detail, "as flatcar-stable") {
		t.Fatalf("image step %+v", s)
	}
	ims := sim.Images()
	want := md5.Sum(raw)
	if len(ims) != 1 || ims[0].Name != "flatcar-stable" || ims[0].Status != "active" || ims[0].Visibility != "private" ||
		ims[0].Size != int64(len(raw)) || ims[0].Checksum != hex.EncodeToString(want[:]) ||
		ims[0].Properties[imageVersionProperty] != "4230.2.3" || ims[0].Properties["os_distro"] != "flatcar" {
		t.Fatalf("images after the upload: %+v", ims)
	}

	// A second run finds it and uploads nothing.
	r = openstackRunner(t, sim, simCredential, Image{})
	r.openstackProject(ctx)
	if s := r.rep.Step(stepOpenStackImage); s.Status != AlreadyThere || !strings.Contains(s.Detail, "Flatcar stable 4230.2.3") {
		t.Errorf("second run's image step %+v", s)
	}
	if n := len(sim.Images()); n != 1 {
		t.Errorf("a second run left %d images", n)
	}

	// A flavor too small for the apps, an unknown one, an unknown network.
	for _, tc := range []struct {
		name, old, new, step, detail, fix string
	}{
		{"small flavor", "flavor: b3-8", "flavor: d2-2", stepOpenStackFlavor, "d2-2 has 2048 MiB of memory, the apps need", "like d2-4 (4096 MiB, the smallest that holds the apps)"},
		{"unknown flavor", "flavor: b3-8", "flavor: b9-99", stepOpenStackFlavor, `no flavor "b9-99"`, "like d2-4"},
		{"unknown network", "external_network: Ext-Net", "external_network: Public", stepOpenStackNetwork, `no external network "Public"`, ": Ext-Net"},
	} {
		r := openstackRunner(t, sim, simCredential, Image{}, tc.old, tc.new)
		r.openstackProject(ctx)
		if s := r.rep.Step(tc.step); s.Status != Failed || !strings.Contains(s.Detail, tc.detail) || !strings.Contains(s.Fix, tc.fix) {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}

	// The owner's own image, named in site.yaml, must exist.
	r = openstackRunner(t, sim, simCredential, Image{}, "volume_gb: 100", "volume_gb: 100\n    image: my-flatcar")
	r.openstackProject(ctx)
	if s := r.rep.Step(stepOpenStackImage); s.Status != Failed || !strings.Contains(s.Detail, `no active image named "my-flatcar"`) {
		t.Errorf("own image missing: %+v", s)
	}
	sim.AddImage("my-flatcar")
	r = openstackRunner(t, sim, simCredential, Image{}, "volume_gb: 100", "volume_gb: 100\n    image: my-flatcar")
	r.openstackProject(ctx)
	if s := r.rep.Step(stepOpenStackImage); s.Status != AlreadyThere || !strings.Contains(s.Detail, "uploaded by you") {
		t.Errorf("own image: %+v", s)
	}
}
