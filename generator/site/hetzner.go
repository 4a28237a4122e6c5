package site

// Facts about Hetzner Cloud that a site.yaml is checked against.

// hetznerDatacenters maps each location to the datacenter primary IPs are created in
// (provider v1.57 places primary IPs by datacenter, not location).
var hetznerDatacenters = map[string]string{
	"fsn1": "fsn1-dc14",
	"nbg1": "nbg1-dc3",
	"hel1": "hel1-dc2",
	"ash":  "ash-dc1",
	"hil":  "hil-dc1",
	"sin":  "sin-dc1",
}

// HetznerDatacenter returns the datacenter of a location.
func HetznerDatacenter(location string) string { return hetznerDatacenters[location] }

// ServerType is a Hetzner server type a site may use (x86 only: the Flatcar snapshot is
// built for x86).
type ServerType struct {
	Name     string
	MemoryMB int
}

// hetznerServerTypes, smallest first within each family.
var hetznerServerTypes = []ServerType{
	{"cx22", 4096}, {"cx32", 8192}, {"cx42", 16384}, {"cx52", 32768},
	{"cx23", 4096}, {"cx33", 8192}, {"cx43", 16384}, {"cx53", 32768},
	{"cpx11", 2048}, {"cpx21", 4096}, {"cpx31", 8192}, {"cpx41", 16384}, {"cpx51", 32768},
	{"ccx13", 8192}, {"ccx23", 16384}, {"ccx33", 32768}, {"ccx43", 65536}, {"ccx53", 131072}, {"ccx63", 196608},
}

// HostReserveMB is the memory the host itself needs besides the apps: Flatcar, Docker,
// Caddy and the backup jobs.
const HostReserveMB = 1024

func serverType(name string) (ServerType, bool) {
	for _, t := range hetznerServerTypes {
		if t.Name == name {
			return t, true
		}
	}
	return ServerType{}, false
}

func serverTypeNames() []string {
	names := make([]string, len(hetznerServerTypes))
	for i, t := range hetznerServerTypes {
		names[i] = t.Name
	}
	return names
}

// family is the letters of a type name: cx, cpx, ccx.
func family(name string) string {
	for i, r := range name {
		if r >= '0' && r <= '9' {
			return name[:i]
		}
	}
	return name
}

// smallestFitting returns the smallest type of the same family (and generation digit)
// with at least needMB of memory.
func smallestFitting(current string, needMB int) (ServerType, bool) {
	gen := current[len(current)-1]
	for _, t := range hetznerServerTypes {
		if family(t.Name) == family(current) && t.Name[len(t.Name)-1] == gen && t.MemoryMB >= needMB {
			return t, true
		}
	}
	for _, t := range hetznerServerTypes {
		if family(t.Name) == family(current) && t.MemoryMB >= needMB {
			return t, true
		}
	}
	return ServerType{}, false
}
