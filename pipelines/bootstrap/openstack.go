package bootstrap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/nassella/nassella/generator/site"
)

const (
	stepOpenStack        = "OpenStack credential"
	stepOpenStackFlavor  = "OpenStack flavor"
	stepOpenStackNetwork = "OpenStack external network"
	stepOpenStackImage   = "Flatcar image in OpenStack"
)

// imageVersionProperty is the Glance property bootstrap labels its Flatcar upload with,
// so a later run knows the image's version without booting it.
const imageVersionProperty = "nassella_flatcar_version"

// openstackProject checks what a site at an OpenStack cloud needs before its first plan:
// the application credential works, the flavor exists and holds the apps, the external
// network exists, and the project has the Flatcar image (uploaded when missing).
func (r *runner) openstackProject(ctx context.Context) {
	o := r.cfg.Site.Provider.OpenStack
	if o == nil {
		return
	}
	pc, err := r.openstackClient(ctx, o)
	if err != nil {
		r.report(openstackFailure(err))
		for _, name := range []string{stepOpenStackFlavor, stepOpenStackNetwork, stepOpenStackImage} {
			r.report(Step{Name: name, Status: Skipped, Detail: "needs a working OpenStack credential (see above)"})
		}
		return
	}
	r.report(Step{Name: stepOpenStack, Status: AlreadyThere, Detail: fmt.Sprintf("the application credential reaches the project in region %s", o.Region)})
	eo := gophercloud.EndpointOpts{Region: o.Region}
	r.checkFlavor(ctx, pc, eo, o)
	r.checkExternalNetwork(ctx, pc, eo, o)
	r.ensureOpenStackImage(ctx, pc, eo, o)
}

// openstackClient signs in with the site's application credential (the CI secrets).
func (r *runner) openstackClient(ctx context.Context, o *site.OpenStack) (*gophercloud.ProviderClient, error) {
	id, secret := r.cfg.Secrets["OPENSTACK_APPLICATION_CREDENTIAL_ID"], r.cfg.Secrets["OPENSTACK_APPLICATION_CREDENTIAL_SECRET"]
	if id == "" || secret == "" {
		return nil, errNoCredential
	}
	pc, err := openstack.NewClient(o.AuthURL)
	if err != nil {
		return nil, err
	}
	if r.cfg.HTTPClient != nil {
		pc.HTTPClient = *r.cfg.HTTPClient
	}
	pc.UserAgent.Prepend("nassella-bootstrap")
	err = openstack.Authenticate(ctx, pc, gophercloud.AuthOptions{
		IdentityEndpoint:            o.AuthURL,
		ApplicationCredentialID:     id,
		ApplicationCredentialSecret: secret,
	})
	return pc, err
}

var errNoCredential = errors.New("no application credential given")

func openstackFailure(err error) Step {
	s := Step{Name: stepOpenStack, Status: Failed}
	switch {
	case errors.Is(err, errNoCredential):
		s.Detail = "OPENSTACK_APPLICATION_CREDENTIAL_ID and OPENSTACK_APPLICATION_CREDENTIAL_SECRET are not both given"
		s.Fix = "create one in the project (openstack application credential create nassella, or Identity → Application Credentials in the dashboard) and give its id and secret"
	case gophercloud.ResponseCodeIs(err, http.StatusUnauthorized):
		s.Detail = "the cloud's identity service does not accept the application credential (401): it is wrong, expired or was deleted"
		s.Fix = "create a new application credential in the project and give its id and secret; the secret is shown only once"
	default:
		s.Detail = "the cloud's identity service did not answer as expected: " + err.Error()
		s.Fix = "check provider.openstack.auth_url in site.yaml (OS_AUTH_URL in the project's OpenStack RC file) and the network, then run again"
	}
	return s
}

// checkFlavor is the memory check against the cloud's own flavors: the one site.yaml
// names must exist and hold the apps; else the smallest that does is suggested.
func (r *runner) checkFlavor(ctx context.Context, pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts, o *site.OpenStack) {
	fail := func(detail, fix string) {
		r.report(Step{Name: stepOpenStackFlavor, Status: Failed, Detail: detail, Fix: fix})
	}
	cc, err := openstack.NewComputeV2(pc, eo)
	if err != nil {
		fail("the project has no compute service in region "+o.Region+": "+err.Error(), "check provider.openstack.region in site.yaml (OS_REGION_NAME in the RC file)")
		return
	}
	var all []flavors.Flavor
	err = flavors.ListDetail(cc, flavors.ListOpts{AccessType: flavors.AllAccess}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		fs, err := flavors.ExtractFlavors(p)
		all = append(all, fs...)
		return true, err
	})
	if err != nil {
		fail("listing the flavors: "+err.Error(), "run again; if it persists, check the cloud's status page")
		return
	}
	need := r.cfg.Site.MemoryMB()
	var fits *flavors.Flavor
	sort.Slice(all, func(i, j int) bool {
		return all[i].RAM < all[j].RAM || all[i].RAM == all[j].RAM && all[i].Name < all[j].Name
	})
	for i, f := range all {
		if f.Name == o.Flavor {
			if f.RAM >= need {
				r.report(Step{Name: stepOpenStackFlavor, Status: AlreadyThere, Detail: fmt.Sprintf("%s: %d MiB of memory, %d vCPUs; the apps need %d MiB", f.Name, f.RAM, f.VCPUs, need)})
				return
			}
			fail(fmt.Sprintf("%s has %d MiB of memory, the apps need %d MiB", f.Name, f.RAM, need), "choose a larger flavor in provider.openstack.flavor"+smallestFit(all[i:], need))
			return
		}
		if fits == nil && f.RAM >= need {
			fits = &all[i]
		}
	}
	fail(fmt.Sprintf("the cloud has no flavor %q in region %s", o.Flavor, o.Region), "set provider.openstack.flavor to one of openstack flavor list"+smallestFit(all, need))
}

func smallestFit(sorted []flavors.Flavor, need int) string {
	for _, f := range sorted {
		if f.RAM >= need {
			return fmt.Sprintf(", like %s (%d MiB, the smallest that holds the apps)", f.Name, f.RAM)
		}
	}
	return ""
}

func (r *runner) checkExternalNetwork(ctx context.Context, pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts, o *site.OpenStack) {
	nc, err := openstack.NewNetworkV2(pc, eo)
	if err != nil {
		r.report(Step{Name: stepOpenStackNetwork, Status: Failed, Detail: "the project has no network service in region " + o.Region + ": " + err.Error(), Fix: "check provider.openstack.region in site.yaml"})
		return
	}
	yes := true
	var names []string
	err = networks.List(nc, external.ListOptsExt{ListOptsBuilder: networks.ListOpts{}, External: &yes}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		ns, err := networks.ExtractNetworks(p)
		for _, n := range ns {
			names = append(names, n.Name)
		}
		return true, err
	})
	if err != nil {
		r.report(Step{Name: stepOpenStackNetwork, Status: Failed, Detail: "listing the external networks: " + err.Error(), Fix: "run again; if it persists, check the cloud's status page"})
		return
	}
	for _, n := range names {
		if n == o.ExternalNetwork {
			r.report(Step{Name: stepOpenStackNetwork, Status: AlreadyThere, Detail: n + ": the site's floating IP comes from it"})
			return
		}
	}
	fix := "set provider.openstack.external_network to the cloud's public network"
	if len(names) > 0 {
		sort.Strings(names)
		fix += ": " + strings.Join(names, ", ")
	}
	r.report(Step{Name: stepOpenStackNetwork, Status: Failed, Detail: fmt.Sprintf("the project sees no external network %q", o.ExternalNetwork), Fix: fix})
}

// ensureOpenStackImage makes sure the project has the Flatcar image the site boots
// (site-template/terraform/openstack/server.tf looks it up by name), uploading Flatcar's
// OpenStack image when missing: flatcar_production_openstack_image.img, qcow2 in a bare
// container, as Flatcar's docs upload it (installing/community-platforms/ovhcloud).
func (r *runner) ensureOpenStackImage(ctx context.Context, pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts, o *site.OpenStack) {
	fc := r.cfg.Flatcar
	name := o.ImageOrDefault(fc.Channel)
	fail := func(detail, fix string) {
		r.report(Step{Name: stepOpenStackImage, Status: Failed, Detail: detail, Fix: fix})
	}
	ic, err := openstack.NewImageV2(pc, eo)
	if err != nil {
		fail("the project has no image service in region "+o.Region+": "+err.Error(), "check provider.openstack.region in site.yaml")
		return
	}
	var found []images.Image
	err = images.List(ic, images.ListOpts{Name: name}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		is, err := images.ExtractImages(p)
		found = append(found, is...)
		return true, err
	})
	if err != nil {
		fail("listing the images: "+err.Error(), "run again; if it persists, check the cloud's status page")
		return
	}
	var older []string
	for _, im := range found {
		if im.Status != images.ImageStatusActive {
			continue
		}
		v, _ := im.Properties[imageVersionProperty].(string)
		switch {
		case v == "" && o.Image != "":
			// The owner's own upload: trusted as named.
			r.report(Step{Name: stepOpenStackImage, Status: AlreadyThere, Detail: fmt.Sprintf("%s (%s), uploaded by you", name, im.ID)})
			return
		case v != "" && compareVersions(v, fc.MinVersion) >= 0:
			r.report(Step{Name: stepOpenStackImage, Status: AlreadyThere, Detail: fmt.Sprintf("%s (%s), Flatcar %s %s", name, im.ID, fc.Channel, v)})
			return
		}
		older = append(older, fmt.Sprintf("%s (Flatcar %s)", im.ID, cmp.Or(v, "unknown version")))
	}
	if o.Image != "" {
		fail(fmt.Sprintf("the project has no active image named %q", name), "upload it, or remove provider.openstack.image from site.yaml so nassella bootstrap uploads Flatcar as flatcar-"+fc.Channel)
		return
	}
	why := "the project has no image " + name
	if len(older) > 0 {
		why = fmt.Sprintf("the project's %s images are older than Flatcar %s: %s", name, fc.MinVersion, strings.Join(older, ", "))
	}
	src, err := r.prepareImage(ctx)
	if err != nil {
		fail(why+"; "+err.Error(), openstackImageFix(fc.Channel, fc.MinVersion))
		return
	}
	defer src.close()
	id, err := r.uploadImage(ctx, ic, name, src)
	if err != nil {
		fail("uploading it: "+err.Error(), "run again: the half-made image was deleted and the next run starts over")
		return
	}
	r.report(Step{Name: stepOpenStackImage, Status: Done, Detail: fmt.Sprintf("uploaded Flatcar %s %s as %s (%s, %s)", fc.Channel, src.version, name, id, humanBytes(src.written))})
}

func openstackImageFix(channel, minVersion string) string {
	return fmt.Sprintf("give Flatcar's OpenStack image (%s channel, version %s or newer) with --flatcar-image FILE or --flatcar-image-url URL, "+
		"its checksum from the release's DIGESTS with --flatcar-sha512 HEX, and its version with --flatcar-version V; "+
		"it is flatcar_production_openstack_image.img.bz2 at https://%s.release.flatcar-linux.net/amd64-usr/<version>/", channel, minVersion, channel)
}

// uploadImage creates the Glance image, streams the verified file into it (decompressed
// when bzip2) and waits until it is active. A failed upload deletes the image, so no
// half-made image is ever booted.
func (r *runner) uploadImage(ctx context.Context, ic *gophercloud.ServiceClient, name string, src *imageSource) (id string, err error) {
	private := images.ImageVisibilityPrivate
	im, err := images.Create(ctx, ic, images.CreateOpts{
		Name:            name,
		ContainerFormat: "bare",
		DiskFormat:      "qcow2",
		Visibility:      &private,
		Tags:            []string{"nassella"},
		// image_original_user and hw_qemu_guest_agent as Flatcar's docs set them
		// (installing/community-platforms/ovhcloud); os_distro is the standard Glance
		// property (glance "Useful image properties").
		Properties: map[string]string{
			imageVersionProperty:  src.version,
			"os_distro":           "flatcar",
			"image_original_user": "core",
			"hw_qemu_guest_agent": "yes",
		},
	}).Extract()
	if err != nil {
		return "", fmt.Errorf("creating the image: %w", err)
	}
	defer func() {
		if err != nil {
			_ = images.Delete(context.WithoutCancel(ctx), ic, im.ID).ExtractErr()
		}
	}()
	body, closer, err := src.raw()
	if err != nil {
		return "", err
	}
	defer closer.Close()
	counter := &countingReader{r: body}
	if err := imagedata.Upload(ctx, ic, im.ID, counter).ExtractErr(); err != nil {
		return "", fmt.Errorf("sending the file: %w", err)
	}
	src.written = counter.n
	every := r.cfg.Hetzner.PollInterval
	deadline := time.Now().Add(r.cfg.Hetzner.Timeout)
	for {
		got, err := images.Get(ctx, ic, im.ID).Extract()
		if err != nil {
			return "", err
		}
		switch got.Status {
		case images.ImageStatusActive:
			return im.ID, nil
		case images.ImageStatusKilled, images.ImageStatusDeleted, images.ImageStatusPendingDelete:
			return "", fmt.Errorf("the image service marked it %s", got.Status)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("it was not active after %s (status %s)", r.cfg.Hetzner.Timeout, got.Status)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(every):
		}
	}
}
