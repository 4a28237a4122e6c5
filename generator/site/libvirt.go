package site

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Libvirt is a server on the owner's own hardware, run by libvirt and QEMU
// (site-template/terraform/libvirt).
type Libvirt struct {
	Host         string `yaml:"host" jsonschema:"required,maxLength=253" jsonschema_description:"The machine running libvirt, as nassella reaches it over SSH: a host name or an IP address. Example: box.office.example"`
	HostKey      string `yaml:"host_key" jsonschema:"required" jsonschema_description:"That machine's SSH host key, so nassella talks to it and nothing else (ssh-keyscan -t ed25519 HOST, or /etc/ssh/ssh_host_ed25519_key.pub on it). Example: ssh-ed25519 AAAA…"`
	User         string `yaml:"user" jsonschema:"pattern=^[a-z_][a-z0-9_-]*$,maxLength=32" jsonschema_description:"The user nassella logs in as; it must be in the libvirt group. The CI secret LIBVIRT_SSH_KEY is its key. Default: nassella"`
	Pool         string `yaml:"pool" jsonschema:"pattern=^[A-Za-z0-9_.-]+$,maxLength=64" jsonschema_description:"The libvirt storage pool for the server's disks. Default: default"`
	Bridge       string `yaml:"bridge" jsonschema:"pattern=^[A-Za-z0-9_.-]+$,maxLength=15" jsonschema_description:"A bridge on that machine that puts the server on your network, so it gets an address there. Without it the server is on the libvirt network in network. Example: br0"`
	Network      string `yaml:"network" jsonschema:"pattern=^[A-Za-z0-9_.-]+$,maxLength=64" jsonschema_description:"The libvirt network of the server when there is no bridge. Default: default"`
	IPv4         string `yaml:"ipv4_address" jsonschema:"required" jsonschema_description:"The IPv4 address your app names point at: the server's own, or your router's public address when it forwards ports 80 and 443 to the server. Example: 203.0.113.7"`
	IPv6         string `yaml:"ipv6_address" jsonschema_description:"The IPv6 address your app names point at, if the server has one. Example: 2001:db8::7"`
	MemoryMB     int    `yaml:"memory_mb" jsonschema:"required,minimum=1024" jsonschema_description:"Memory of the server in MiB; it must fit the apps. Example: 4096"`
	VCPUs        int    `yaml:"vcpus" jsonschema:"minimum=1,maximum=64" jsonschema_description:"Virtual CPUs of the server. Default: 2"`
	VolumeGB     int    `yaml:"volume_gb" jsonschema:"required,minimum=10,maximum=10240" jsonschema_description:"Size of the data volume in GB; it holds all app data. Grow it later on the machine itself (virsh vol-resize). Example: 50"`
	FlatcarImage string `yaml:"flatcar_image" jsonschema_description:"Where the machine finds Flatcar's QEMU image, a path on it or an https URL. Default: the current image of the catalog's channel from Flatcar's release server."`
}

var (
	unixUserRe  = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	libvirtName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	bridgeRe    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)
)

// libvirt checks provider.libvirt; the memory check is memoryLibvirt.
func (c *checker) libvirt(path string, v *Libvirt) {
	p := path + ".libvirt"
	if c.required(p+".host", "box.office.example") {
		if _, err := netip.ParseAddr(v.Host); err != nil && !c.hostName(v.Host) {
			c.add(p+".host", fmt.Sprintf("%q is not a host name or IP address", v.Host), "write the machine's name or address alone, like box.office.example (no user@, no port, no qemu+ssh://)")
		}
	}
	if c.required(p+".host_key", "ssh-ed25519 AAAA…") {
		pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(v.HostKey))
		switch {
		case strings.Contains(v.HostKey, "PRIVATE KEY"):
			c.add(p+".host_key", "this is a PRIVATE key", "remove it now and paste the machine's public host key (ssh-keyscan -t ed25519 HOST)")
		case err != nil || len(rest) > 0:
			c.add(p+".host_key", "this is not one public SSH key", "paste the machine's host key as one line, like \"ssh-ed25519 AAAA…\" (ssh-keyscan -t ed25519 HOST prints it after the host name)")
		case pub.Type() != ssh.KeyAlgoED25519:
			c.add(p+".host_key", fmt.Sprintf("this is a %s key", pub.Type()), "use the machine's ed25519 host key: ssh-keyscan -t ed25519 HOST")
		}
	}
	if v.User != "" && !unixUserRe.MatchString(v.User) {
		c.add(p+".user", fmt.Sprintf("%q is not a user name", v.User), "use lowercase letters, digits, _ and -, like nassella")
	}
	if v.Pool != "" && !libvirtName.MatchString(v.Pool) {
		c.add(p+".pool", fmt.Sprintf("%q is not a libvirt pool name", v.Pool), "use the name virsh pool-list shows, like default")
	}
	if v.Network != "" && !libvirtName.MatchString(v.Network) {
		c.add(p+".network", fmt.Sprintf("%q is not a libvirt network name", v.Network), "use the name virsh net-list shows, like default")
	}
	if v.Bridge != "" && !bridgeRe.MatchString(v.Bridge) {
		c.add(p+".bridge", fmt.Sprintf("%q is not a network interface name", v.Bridge), "use the bridge's name as ip link shows it, like br0")
	}
	if v.Bridge != "" && v.Network != "" {
		c.add(p+".network", "both bridge and network are set", "keep one: bridge puts the server on your network, network on a libvirt network")
	}
	if c.required(p+".ipv4_address", "203.0.113.7") {
		if a, err := netip.ParseAddr(v.IPv4); err != nil || !a.Is4() {
			c.add(p+".ipv4_address", fmt.Sprintf("%q is not an IPv4 address", v.IPv4), "write four numbers with dots, like 203.0.113.7")
		}
	}
	if v.IPv6 != "" {
		if a, err := netip.ParseAddr(v.IPv6); err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			c.add(p+".ipv6_address", fmt.Sprintf("%q is not an IPv6 address", v.IPv6), "write it like 2001:db8::7, or remove ipv6_address")
		}
	}
	if c.required(p+".memory_mb", "4096") && v.MemoryMB < 1024 {
		c.add(p+".memory_mb", fmt.Sprintf("memory_mb %d is too little", v.MemoryMB), "give the server at least 1024 MiB (Flatcar and the proxy need it), like memory_mb: 4096")
	}
	if v.VCPUs < 0 || v.VCPUs > 64 {
		c.add(p+".vcpus", fmt.Sprintf("vcpus %d is out of range", v.VCPUs), "use 1 to 64, like vcpus: 2")
	}
	if c.required(p+".volume_gb", "50") && (v.VolumeGB < 10 || v.VolumeGB > 10240) {
		c.add(p+".volume_gb", fmt.Sprintf("volume_gb %d is out of range", v.VolumeGB), "use 10 to 10240 GB, like volume_gb: 50")
	}
	if img := v.FlatcarImage; img != "" && !strings.HasPrefix(img, "https://") && !strings.HasPrefix(img, "/") {
		c.add(p+".flatcar_image", fmt.Sprintf("%q is neither an https URL nor an absolute path", img), "write the image's path on the machine, like /var/lib/libvirt/images/flatcar_production_qemu_image.img, or remove flatcar_image")
	}
	if strings.ContainsAny(v.FlatcarImage, "\"\\ \n$%{}") {
		c.add(p+".flatcar_image", "the image's path has spaces, quotes or template characters", "rename the file on the machine to plain letters, digits, dots, dashes and slashes")
	}
}

// hostName reports whether h is a DNS host name (one label is allowed: box on the LAN).
func (c *checker) hostName(h string) bool {
	if h == "" || len(h) > 253 || h != strings.ToLower(h) {
		return false
	}
	for _, lb := range strings.Split(h, ".") {
		if !labelRe.MatchString(lb) {
			return false
		}
	}
	return true
}

// memoryLibvirt checks the apps fit the memory the site gives its server.
func (c *checker) memoryLibvirt(l *Loaded) {
	v := l.Provider.Libvirt
	if v == nil || v.MemoryMB < 1024 {
		return
	}
	need := l.MemoryMB()
	if need <= v.MemoryMB {
		return
	}
	c.add("provider.libvirt.memory_mb", fmt.Sprintf("the apps need %s of memory (with %s for the system) but the server has %s",
		gb(need), gb(HostReserveMB), gb(v.MemoryMB)), fmt.Sprintf("set memory_mb: %d or more (if the machine has it), or remove an app", RoundUpMB(need)))
}

// RoundUpMB rounds up to a whole 512 MiB, as one would size a VM: the memory the loader
// and the console suggest for a server on one's own machine.
func RoundUpMB(mb int) int { return (mb + 511) / 512 * 512 }

// UserOrDefault is the user nassella logs in to the machine as, "nassella" unless set.
func (v *Libvirt) UserOrDefault() string { return cmp.Or(v.User, "nassella") }

// PoolOrDefault is the storage pool, "default" unless set.
func (v *Libvirt) PoolOrDefault() string { return cmp.Or(v.Pool, "default") }

// NetworkOrDefault is the libvirt network when there is no bridge.
func (v *Libvirt) NetworkOrDefault() string { return cmp.Or(v.Network, "default") }

// VCPUsOrDefault is the number of virtual CPUs, 2 unless set.
func (v *Libvirt) VCPUsOrDefault() int {
	if v.VCPUs == 0 {
		return 2
	}
	return v.VCPUs
}
