package hcloudsim

import (
	"fmt"
	"slices"
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
	out.ServerTypes.Supported = types
	out.ServerTypes.Available = types
	out.ServerTypes.AvailableForMigration = types
	return out
}

func (t *serverType) soldIn(location string) bool {
	return len(t.Locations) == 0 || slices.Contains(t.Locations, location)
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
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Deprecation any    `json:"deprecation"`
	Available   bool   `json:"available"`
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
	Deprecation     any                      `json:"deprecation"`
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
		out.Locations = append(out.Locations, serverTypeLocationJSON{ID: l.id, Name: l.Name, Available: true})
		out.Prices = append(out.Prices, serverTypePriceJSON{
			Location:          l.Name,
			PriceHourly:       price(t.MonthlyPrice / 730),
			PriceMonthly:      price(t.MonthlyPrice),
			IncludedTraffic:   20 << 40,
			PricePerTBTraffic: price(1),
		})
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
	types := []ServerType{
		{"cx22", "CX22", "cost_optimized", 2, 4, 40, "local", "shared", "x86", eu, 3.79},
		{"cx32", "CX32", "cost_optimized", 4, 8, 80, "local", "shared", "x86", eu, 6.80},
		{"cx42", "CX42", "cost_optimized", 8, 16, 160, "local", "shared", "x86", eu, 16.40},
		{"cx52", "CX52", "cost_optimized", 16, 32, 320, "local", "shared", "x86", eu, 32.40},
		{"cpx11", "CPX 11", "regular_purpose", 2, 2, 40, "local", "shared", "x86", nil, 4.35},
		{"cpx21", "CPX 21", "regular_purpose", 3, 4, 80, "local", "shared", "x86", nil, 7.55},
		{"cpx31", "CPX 31", "regular_purpose", 4, 8, 160, "local", "shared", "x86", nil, 13.60},
		{"cax11", "CAX11", "cost_optimized", 2, 4, 40, "local", "shared", "arm", eu, 3.79},
		{"cax21", "CAX21", "cost_optimized", 4, 8, 80, "local", "shared", "arm", eu, 6.49},
		{"ccx13", "CCX13 Dedicated CPU", "general_purpose", 2, 8, 80, "local", "dedicated", "x86", nil, 12.49},
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
