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
	// Gone is set on a type Hetzner no longer sells in its European locations: new
	// servers cannot be created on it there, and a running one can never be rebuilt.
	Gone bool
}

// hetznerServerTypes, smallest first within each family. The list is only a hint for
// validate: nassella plan asks the live API (pipelines/deploy/servertype.go).
//
// Hetzner deprecated cx22–cx52 and cpx11–cpx51 on 2025-10-16 with unavailable_after
// 2025-12-31T23:59:59Z (the API's deprecation object as recorded in hetznercloud/hcloud-go
// hcloud/server_test.go, TestServerClientGetByID, for cx22 in fsn1, nbg1 and hel1); their
// successors are cx23–cx53 and cpx12–cpx62 (the provider's own examples moved to cx23 and
// cpx22: hetznercloud/terraform-provider-hcloud docs/resources/server.md). Their memory is
// Hetzner's price list (hetzner.com/cloud) as quoted in public code, not an API answer;
// plan reads the API's own figures. The ccx family was not withdrawn. The old cpx types are deprecated per location: where
// Hetzner still sells them outside Europe, the live check in plan lets them through.
var hetznerServerTypes = []ServerType{
	{"cx23", 4096, false}, {"cx33", 8192, false}, {"cx43", 16384, false}, {"cx53", 32768, false},
	{"cpx12", 2048, false}, {"cpx22", 4096, false}, {"cpx32", 8192, false}, {"cpx42", 16384, false}, {"cpx52", 24576, false}, {"cpx62", 32768, false},
	{"ccx13", 8192, false}, {"ccx23", 16384, false}, {"ccx33", 32768, false}, {"ccx43", 65536, false}, {"ccx53", 131072, false}, {"ccx63", 196608, false},
	{"cx22", 4096, true}, {"cx32", 8192, true}, {"cx42", 16384, true}, {"cx52", 32768, true},
	{"cpx11", 2048, true}, {"cpx21", 4096, true}, {"cpx31", 8192, true}, {"cpx41", 16384, true}, {"cpx51", 32768, true},
}

// europe are the locations where the old types are gone and their successors sold.
var europe = map[string]bool{"fsn1": true, "nbg1": true, "hel1": true}

// GoneIn says whether Hetzner no longer creates servers of the named type in location,
// as far as the built-in list knows.
func GoneIn(name, location string) bool {
	t, ok := serverType(name)
	return ok && t.Gone && europe[location]
}

// CurrentServerType says whether nassella supports the named type and it is not one the
// built-in list knows to be gone.
func CurrentServerType(name string) bool {
	t, ok := serverType(name)
	return ok && !t.Gone
}

// successor is the current type of the same family with at least the memory of the
// named type and needMB, smallest first.
func successor(name string, needMB int) (ServerType, bool) {
	t, _ := serverType(name)
	return smallestCurrent(family(name), max(t.MemoryMB, needMB))
}

func smallestCurrent(fam string, needMB int) (ServerType, bool) {
	for _, t := range hetznerServerTypes {
		if !t.Gone && family(t.Name) == fam && t.MemoryMB >= needMB {
			return t, true
		}
	}
	return ServerType{}, false
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

// serverTypeNames are the current types: what the schema offers and suggestions name.
func serverTypeNames() []string {
	var names []string
	for _, t := range hetznerServerTypes {
		if !t.Gone {
			names = append(names, t.Name)
		}
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
