package hcloudsim

import (
	"fmt"
	"slices"
	"time"
)

// Location is a location to seed, such as nbg1.
type Location struct {
	Name        string
	Description string
	Country     string
	City        string
	Latitude    float64
	Longitude   float64
	NetworkZone string
}

// Datacenter is a datacenter to seed, such as nbg1-dc3, in the named location.
type Datacenter struct {
	Name        string
	Description string
	Location    string
}

// ServerType is a server type to seed, such as cx32.
type ServerType struct {
	Name         string
	Description  string
	Category     string
	Cores        int
	Memory       float64 // GB
	Disk         int     // GB
	StorageType  string  // local or network
	CPUType      string  // shared or dedicated
	Architecture string  // x86 or arm
	// Locations are the names of the locations the type is sold in; empty means all.
	Locations []string
	// MonthlyPrice is the net monthly price in EUR.
	MonthlyPrice float64
	// Deprecation, when set, is announced for the type in DeprecatedIn (empty: every
	// location it is sold in). The API keeps listing a deprecated type, with a deprecation
	// object per location, and refuses new servers of it after UnavailableAfter.
	Deprecation  *Deprecation
	DeprecatedIn []string
}

// Deprecation is the API's deprecation object (hcloud-go hcloud/schema/deprecation.go).
type Deprecation struct {
	Announced        time.Time
	UnavailableAfter time.Time
}

func (d *Deprecation) json() *deprecationJSON {
	if d == nil {
		return nil
	}
	return &deprecationJSON{d.Announced.UTC().Format(time.RFC3339), d.UnavailableAfter.UTC().Format(time.RFC3339)}
}

type deprecationJSON struct {
	Announced        string `json:"announced"`
	UnavailableAfter string `json:"unavailable_after"`
}

// The catalogue keeps the names of its entries in meta too, for lookups.
type location struct {
	meta
	Location
}

type datacenter struct {
	meta
	desc     string
	location *location
}

type serverType struct {
	meta
	ServerType
}

type locationJSON struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Country     string  `json:"country"`
	City        string  `json:"city"`
	Latitude    float64 `json:"latitude"`
	Longitude   float64 `json:"longitude"`
	NetworkZone string  `json:"network_zone"`
}

func (l *location) json() locationJSON {
	return locationJSON{l.id, l.Name, l.Description, l.Country, l.City, l.Latitude, l.Longitude, l.NetworkZone}
}

type datacenterJSON struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Location    locationJSON `json:"location"`
	ServerTypes struct {
		Supported             []int64 `json:"supported"`
		Available             []int64 `json:"available"`
		AvailableForMigration []int64 `json:"available_for_migration"`
	} `json:"server_types"`
}

func (s *Server) renderDatacenter(d *datacenter) datacenterJSON {
	out := datacenterJSON{ID: d.id, Name: d.name, Description: d.desc, Location: d.location.json()}
	types := []int64{}
	for _, t := range s.serverTypes.sorted() {
		if t.soldIn(d.location.Name) {
			types = append(types, t.id)
		}
	}
	available := []int64{}
	for _, t := range s.serverTypes.sorted() {
		if t.orderable(d.location.Name, s.now()) {
			available = append(available, t.id)
		}
	}
	out.ServerTypes.Supported = types
	out.ServerTypes.Available = available
	out.ServerTypes.AvailableForMigration = available
	return out
}

func (t *serverType) soldIn(location string) bool {
	return len(t.Locations) == 0 || slices.Contains(t.Locations, location)
}

// deprecatedIn returns the type's deprecation in a location, or nil.
func (t *serverType) deprecatedIn(location string) *Deprecation {
	if t.Deprecation == nil || (len(t.DeprecatedIn) > 0 && !slices.Contains(t.DeprecatedIn, location)) {
		return nil
	}
	return t.Deprecation
}

// gone says whether no new server of the type can be created in location at now.
func (t *serverType) gone(location string, now time.Time) bool {
	d := t.deprecatedIn(location)
	return d != nil && now.After(d.UnavailableAfter)
}

func (t *serverType) orderable(location string, now time.Time) bool {
	return t.soldIn(location) && !t.gone(location, now)
}

type priceJSON struct {
	Net   string `json:"net"`
	Gross string `json:"gross"`
}

type serverTypePriceJSON struct {
	Location          string    `json:"location"`
	PriceHourly       priceJSON `json:"price_hourly"`
	PriceMonthly      priceJSON `json:"price_monthly"`
	IncludedTraffic   int64     `json:"included_traffic"`
	PricePerTBTraffic priceJSON `json:"price_per_tb_traffic"`
}

type serverTypeLocationJSON struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Deprecation *deprecationJSON `json:"deprecation"`
	Available   bool             `json:"available"`
	Recommended bool             `json:"recommended"`
}

type serverTypeJSON struct {
	ID              int64                    `json:"id"`
	Name            string                   `json:"name"`
	Description     string                   `json:"description"`
	Category        string                   `json:"category"`
	Cores           int                      `json:"cores"`
	Memory          float64                  `json:"memory"`
	Disk            int                      `json:"disk"`
	Deprecated      bool                     `json:"deprecated"`
	Deprecation     *deprecationJSON         `json:"deprecation"`
	Prices          []serverTypePriceJSON    `json:"prices"`
	StorageType     string                   `json:"storage_type"`
	CPUType         string                   `json:"cpu_type"`
	Architecture    string                   `json:"architecture"`
	IncludedTraffic int64                    `json:"included_traffic"`
	Locations       []serverTypeLocationJSON `json:"locations"`
}

func price(eur float64) priceJSON {
	return priceJSON{Net: fmt.Sprintf("%.10f", eur), Gross: fmt.Sprintf("%.10f", eur*1.19)}
}

func (s *Server) renderServerType(t *serverType) serverTypeJSON {
	out := serverTypeJSON{
		ID:           t.id,
		Name:         t.Name,
		Description:  t.Description,
		Category:     t.Category,
		Cores:        t.Cores,
		Memory:       t.Memory,
		Disk:         t.Disk,
		StorageType:  t.StorageType,
		CPUType:      t.CPUType,
		Architecture: t.Architecture,
		Prices:       []serverTypePriceJSON{},
		Locations:    []serverTypeLocationJSON{},
	}
	for _, l := range s.locations.sorted() {
		if !t.soldIn(l.Name) {
			continue
		}
		out.Locations = append(out.Locations, serverTypeLocationJSON{
			ID: l.id, Name: l.Name, Deprecation: t.deprecatedIn(l.Name).json(), Available: t.orderable(l.Name, s.now()),
		})
		out.Prices = append(out.Prices, serverTypePriceJSON{
			Location:          l.Name,
			PriceHourly:       price(t.MonthlyPrice / 730),
			PriceMonthly:      price(t.MonthlyPrice),
			IncludedTraffic:   20 << 40,
			PricePerTBTraffic: price(1),
		})
	}
	// The type-wide fields, kept by the API for older clients, say deprecated only when
	// every location is (hcloud-go hcloud/schema/server_type.go).
	if t.Deprecation != nil && len(t.DeprecatedIn) == 0 {
		out.Deprecated, out.Deprecation = true, t.Deprecation.json()
	}
	return out
}

// AddLocation adds a location and returns its ID.
func (s *Server) AddLocation(l Location) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocation(l)
}

// AddDatacenter adds a datacenter in an existing location and returns its ID.
func (s *Server) AddDatacenter(d Datacenter) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDatacenter(d)
}

// AddServerType adds a server type and returns its ID.
func (s *Server) AddServerType(t ServerType) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addServerType(t)
}

// DeprecateServerType announces the deprecation of a seeded server type in locations
// (none: everywhere it is sold), as Hetzner does before withdrawing one.
func (s *Server) DeprecateServerType(name string, d Deprecation, locations ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupServerType(idOrName{name: name, set: true})
	if t == nil {
		panic("hcloudsim: no server type " + name)
	}
	t.Deprecation, t.DeprecatedIn = &d, slices.Clone(locations)
}

func (s *Server) addLocation(l Location) int64 {
	return s.locations.put(&location{meta: s.locations.newMeta(l.Name, nil), Location: l}).id
}

func (s *Server) addDatacenter(d Datacenter) int64 {
	loc := s.lookupLocation(d.Location)
	if loc == nil {
		panic(fmt.Sprintf("hcloudsim: datacenter %s in unknown location %s", d.Name, d.Location))
	}
	return s.datacenters.put(&datacenter{meta: s.datacenters.newMeta(d.Name, nil), desc: d.Description, location: loc}).id
}

func (s *Server) addServerType(t ServerType) int64 {
	t.Locations = slices.Clone(t.Locations)
	t.DeprecatedIn = slices.Clone(t.DeprecatedIn)
	return s.serverTypes.put(&serverType{meta: s.serverTypes.newMeta(t.Name, nil), ServerType: t}).id
}

// lookupLocation finds a location by ID or name.
func (s *Server) lookupLocation(idOrName string) *location {
	l, _ := s.locations.lookup(idOrName)
	return l
}

// lookupDatacenter finds a datacenter by ID or name.
func (s *Server) lookupDatacenter(idOrName string) *datacenter {
	d, _ := s.datacenters.lookup(idOrName)
	return d
}

// lookupServerType finds a server type by ID or name.
func (s *Server) lookupServerType(ref idOrName) *serverType {
	t, _ := s.serverTypes.lookup(ref.String())
	return t
}

func (s *Server) seedCatalogue() {
	locations := []Location{
		{"fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central"},
		{"nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central"},
		{"hel1", "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central"},
		{"ash", "Ashburn, VA", "US", "Ashburn, VA", 39.043757, -77.487442, "us-east"},
		{"hil", "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.95028, "us-west"},
		{"sin", "Singapore", "SG", "Singapore", 1.283333, 103.833333, "ap-southeast"},
	}
	for _, l := range locations {
		s.addLocation(l)
	}
	datacenters := []Datacenter{
		{"fsn1-dc14", "Falkenstein 1 virtual DC 14", "fsn1"},
		{"nbg1-dc3", "Nuremberg 1 virtual DC 3", "nbg1"},
		{"hel1-dc2", "Helsinki 1 virtual DC 2", "hel1"},
		{"ash-dc1", "Ashburn virtual DC 1", "ash"},
		{"hil-dc1", "Hillsboro virtual DC 1", "hil"},
		{"sin-dc1", "Singapore virtual DC 1", "sin"},
	}
	for _, d := range datacenters {
		s.addDatacenter(d)
	}
	eu := []string{"fsn1", "nbg1", "hel1"}
	// Hetzner withdrew cx22–cx52 and cpx11–cpx51 in its European locations: announced
	// 2025-10-16, unavailable after 2025-12-31 (the API's answer for cx22 recorded in
	// hcloud-go hcloud/server_test.go); their successors are sold there instead. The old
	// cpx types stay on sale elsewhere, so they are deprecated per location.
	gone := &Deprecation{
		Announced:        time.Date(2025, 10, 16, 6, 0, 0, 0, time.UTC),
		UnavailableAfter: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	types := []ServerType{
		{"cx22", "CX22", "cost_optimized", 2, 4, 40, "local", "shared", "x86", eu, 3.79, gone, nil},
		{"cx32", "CX32", "cost_optimized", 4, 8, 80, "local", "shared", "x86", eu, 6.80, gone, nil},
		{"cx42", "CX42", "cost_optimized", 8, 16, 160, "local", "shared", "x86", eu, 16.40, gone, nil},
		{"cx52", "CX52", "cost_optimized", 16, 32, 320, "local", "shared", "x86", eu, 32.40, gone, nil},
		{"cpx11", "CPX 11", "regular_purpose", 2, 2, 40, "local", "shared", "x86", nil, 4.35, gone, eu},
		{"cpx21", "CPX 21", "regular_purpose", 3, 4, 80, "local", "shared", "x86", nil, 7.55, gone, eu},
		{"cpx31", "CPX 31", "regular_purpose", 4, 8, 160, "local", "shared", "x86", nil, 13.60, gone, eu},
		{"cax11", "CAX11", "cost_optimized", 2, 4, 40, "local", "shared", "arm", eu, 3.79, nil, nil},
		{"cax21", "CAX21", "cost_optimized", 4, 8, 80, "local", "shared", "arm", eu, 6.49, nil, nil},
		{"ccx13", "CCX13 Dedicated CPU", "general_purpose", 2, 8, 80, "local", "dedicated", "x86", nil, 12.49, nil, nil},
		// The successors, after the older types so that their IDs stay.
		{"cx23", "CX23", "cost_optimized", 2, 4, 40, "local", "shared", "x86", eu, 3.49, nil, nil},
		{"cx33", "CX33", "cost_optimized", 4, 8, 80, "local", "shared", "x86", eu, 5.49, nil, nil},
		{"cx43", "CX43", "cost_optimized", 8, 16, 160, "local", "shared", "x86", eu, 9.49, nil, nil},
		{"cx53", "CX53", "cost_optimized", 16, 32, 320, "local", "shared", "x86", eu, 17.49, nil, nil},
		{"cpx12", "CPX12", "regular_purpose", 1, 2, 40, "local", "shared", "x86", eu, 6.49, nil, nil},
		{"cpx22", "CPX22", "regular_purpose", 2, 4, 80, "local", "shared", "x86", eu, 7.99, nil, nil},
		{"cpx32", "CPX32", "regular_purpose", 4, 8, 160, "local", "shared", "x86", eu, 13.99, nil, nil},
	}
	for _, t := range types {
		s.addServerType(t)
	}
	for _, img := range []Image{
		{Name: "ubuntu-24.04", Description: "Ubuntu 24.04", Type: "system", Architecture: "x86", OSFlavor: "ubuntu", OSVersion: "24.04", DiskSize: 5},
		{Name: "ubuntu-24.04", Description: "Ubuntu 24.04", Type: "system", Architecture: "arm", OSFlavor: "ubuntu", OSVersion: "24.04", DiskSize: 5},
		{Name: "debian-12", Description: "Debian 12", Type: "system", Architecture: "x86", OSFlavor: "debian", OSVersion: "12", DiskSize: 5},
		{Name: "debian-12", Description: "Debian 12", Type: "system", Architecture: "arm", OSFlavor: "debian", OSVersion: "12", DiskSize: 5},
	} {
		s.addImage(img)
	}
}

func (s *Server) catalogueRoutes() {
	s.locations = catalogue(s, "location", "location", "locations", func(l *location) any { return l.json() })
	s.datacenters = catalogue(s, "datacenter", "datacenter", "datacenters", func(d *datacenter) any { return s.renderDatacenter(d) })
	s.datacenters.listExtra = func(list []*datacenter, body map[string]any) {
		var recommendation int64
		if len(list) > 0 {
			recommendation = list[0].id
		}
		body["recommendation"] = recommendation
	}
	s.serverTypes = catalogue(s, "server_type", "server type", "server_types", func(t *serverType) any { return s.renderServerType(t) })
}

// catalogue returns the store of a kind of catalogue entry, which clients can
// only list and get.
func catalogue[T resource](s *Server, kind, noun, collection string, render func(T) any) *store[T] {
	st := &store[T]{
		sim: s, kind: kind, noun: noun, collection: collection, items: map[int64]T{},
		render: render, sort: []string{"name"}, unlabelled: true, readOnly: true,
	}
	st.routes()
	return st
}

// sortedValues returns the values of a map ordered by ID.
func sortedValues[T any](m map[int64]T, id func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, byID(id))
	return out
}
