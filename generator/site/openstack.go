package site

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// OpenStack is a server in a project of an OpenStack cloud (OVHcloud Public Cloud,
// Infomaniak, Open Telekom Cloud, a co-op's own): site-template/terraform/openstack. The
// project's application credential is a CI secret, never in site.yaml.
type OpenStack struct {
	AuthURL          string `yaml:"auth_url" jsonschema:"required,maxLength=512" jsonschema_description:"The cloud's identity (Keystone v3) address, as its OpenStack RC file gives it in OS_AUTH_URL. Example: https://auth.cloud.ovh.net/v3"`
	Region           string `yaml:"region" jsonschema:"required,maxLength=64" jsonschema_description:"The region of the server and its volume (OS_REGION_NAME in the RC file). Example: GRA11"`
	Flavor           string `yaml:"flavor" jsonschema:"required,maxLength=64" jsonschema_description:"The server's size as the cloud names it (openstack flavor list); its memory must fit the apps, which the plan checks. Example: b3-8"`
	ExternalNetwork  string `yaml:"external_network" jsonschema:"required,maxLength=64" jsonschema_description:"The cloud's public network the site's floating IP comes from (openstack network list --external). Example: Ext-Net"`
	VolumeGB         int    `yaml:"volume_gb" jsonschema:"required,minimum=10,maximum=10240" jsonschema_description:"Size of the data volume in GB; it holds all app data and can grow later. Example: 50"`
	VolumeType       string `yaml:"volume_type" jsonschema:"maxLength=64" jsonschema_description:"The data volume's type as the cloud names it (openstack volume type list). Default: the cloud's default type. Example: classic"`
	AvailabilityZone string `yaml:"availability_zone" jsonschema:"maxLength=64" jsonschema_description:"Availability zone of the server and its volume. Default: the cloud's choice. Example: nova"`
	Image            string `yaml:"image" jsonschema:"maxLength=128" jsonschema_description:"Name of the Flatcar image in the project, when you uploaded one yourself. Default: flatcar-CHANNEL, which nassella bootstrap uploads."`
}

// openstackName is what clouds call regions, flavors, networks, zones and types: the
// cloud's own words, which the module only passes on, but never quotes or template
// characters.
var openstackName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// glanceName is an image name as Glance lists it: a few more characters than other names.
var glanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_. :()-]{0,127}$`)

// openstack checks provider.openstack; the memory check runs at plan time against the
// flavor's own memory (openstack/server.tf), which only the cloud knows.
func (c *checker) openstack(path string, o *OpenStack) {
	p := path + ".openstack"
	if c.required(p+".auth_url", "https://auth.cloud.ovh.net/v3") {
		u, err := url.Parse(o.AuthURL)
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o.AuthURL, "\"\\ $%{}"):
			c.add(p+".auth_url", fmt.Sprintf("%q is not a web address", o.AuthURL), "copy OS_AUTH_URL from the cloud's OpenStack RC file, like https://auth.cloud.ovh.net/v3")
		case u.Scheme != "https":
			c.add(p+".auth_url", "the identity address is not https", "use the https:// address: the application credential must not travel in clear")
		case !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v3"):
			c.add(p+".auth_url", "the identity address does not end in /v3", fmt.Sprintf("use Keystone's v3 address, like %s://%s/v3", u.Scheme, u.Host))
		}
	}
	names := []struct {
		key, value, example, what string
		required                  bool
	}{
		{"region", o.Region, "GRA11", "a region name (OS_REGION_NAME)", true},
		{"flavor", o.Flavor, "b3-8", "a flavor name (openstack flavor list)", true},
		{"external_network", o.ExternalNetwork, "Ext-Net", "a network name (openstack network list --external)", true},
		{"volume_type", o.VolumeType, "classic", "a volume type (openstack volume type list)", false},
		{"availability_zone", o.AvailabilityZone, "nova", "an availability zone (openstack availability zone list)", false},
	}
	for _, n := range names {
		if n.required && !c.required(p+"."+n.key, n.example) || n.value == "" {
			continue
		}
		if !openstackName.MatchString(n.value) {
			c.add(p+"."+n.key, fmt.Sprintf("%q is not %s", n.value, n.what), fmt.Sprintf("write the name the cloud shows, letters, digits, . _ : and -, like %s", n.example))
		}
	}
	if o.Image != "" && !glanceName.MatchString(o.Image) {
		c.add(p+".image", fmt.Sprintf("%q is not an image name", o.Image), "write the name openstack image list shows, or remove image to let nassella bootstrap upload Flatcar")
	}
	if c.required(p+".volume_gb", "50") && (o.VolumeGB < 10 || o.VolumeGB > 10240) {
		c.add(p+".volume_gb", fmt.Sprintf("volume_gb %d is out of range", o.VolumeGB), "use 10 to 10240 GB, like volume_gb: 50")
	}
}

// ImageOrDefault is the Glance image the server boots from.
func (o *OpenStack) ImageOrDefault(channel string) string {
	if o.Image != "" {
		return o.Image
	}
	return "flatcar-" + channel
}
