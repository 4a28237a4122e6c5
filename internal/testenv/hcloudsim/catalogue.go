package hcloudsim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
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

type location struct {
	id int64
	Location
}

type datacenter struct {
	id       int64
	name     string
	desc     string
	location *location
}

type serverType struct {
	id int64
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
	for _, t := range sortedValues(s.serverTypes, func(t *serverType) int64 { return t.id }) {
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
	for _, l := range sortedValues(s.locations, func(l *location) int64 { return l.id }) {
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
	loc := &location{id: s.newID("location"), Location: l}
	s.locations[loc.id] = loc
	return loc.id
}

// AddDatacenter adds a datacenter in an existing location and returns its ID.
func (s *Server) AddDatacenter(d Datacenter) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	loc := s.locationByName(d.Location)
	if loc == nil {
		panic(fmt.Sprintf("hcloudsim: datacenter %s in unknown location %s", d.Name, d.Location))
	}
	dc := &datacenter{id: s.newID("datacenter"), name: d.Name, desc: d.Description, location: loc}
	s.datacenters[dc.id] = dc
	return dc.id
}

// AddServerType adds a server type and returns its ID.
func (s *Server) AddServerType(t ServerType) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &serverType{id: s.newID("server_type"), ServerType: t}
	st.Locations = slices.Clone(t.Locations)
	s.serverTypes[st.id] = st
	return st.id
}

func (s *Server) locationByName(name string) *location {
	for _, l := range s.locations {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// lookupLocation finds a location by ID or name.
func (s *Server) lookupLocation(idOrName string) *location {
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		return s.locations[id]
	}
	return s.locationByName(idOrName)
}

// lookupDatacenter finds a datacenter by ID or name.
func (s *Server) lookupDatacenter(idOrName string) *datacenter {
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		return s.datacenters[id]
	}
	for _, d := range s.datacenters {
		if d.name == idOrName {
			return d
		}
	}
	return nil
}

// lookupServerType finds a server type by ID or name.
func (s *Server) lookupServerType(ref idOrName) *serverType {
	if ref.id != 0 {
		return s.serverTypes[ref.id]
	}
	for _, t := range s.serverTypes {
		if t.Name == ref.name {
			return t
		}
	}
	return nil
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
		loc := &location{id: s.newID("location"), Location: l}
		s.locations[loc.id] = loc
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
		dc := &datacenter{id: s.newID("datacenter"), name: d.Name, desc: d.Description, location: s.locationByName(d.Location)}
		s.datacenters[dc.id] = dc
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
		st := &serverType{id: s.newID("server_type"), ServerType: t}
		s.serverTypes[st.id] = st
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
	s.handle("GET /v1/locations", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		var list []*location
		for _, l := range s.locations {
			if f.name == "" || f.name == l.Name {
				list = append(list, l)
			}
		}
		if err := sortList(q, list, sortKeys[*location]{
			"id":   byID(func(l *location) int64 { return l.id }),
			"name": byString(func(l *location) string { return l.Name }),
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]locationJSON, 0, len(page))
		for _, l := range page {
			out = append(out, l.json())
		}
		return http.StatusOK, map[string]any{"locations": out, "meta": meta}, nil
	})
	s.handle("GET /v1/locations/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := pathID(r, "location")
		if err != nil {
			return 0, nil, err
		}
		l, ok := s.locations[id]
		if !ok {
			return 0, nil, errNotFound("location", id)
		}
		return http.StatusOK, map[string]any{"location": l.json()}, nil
	})

	s.handle("GET /v1/datacenters", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		var list []*datacenter
		for _, d := range s.datacenters {
			if f.name == "" || f.name == d.name {
				list = append(list, d)
			}
		}
		if err := sortList(q, list, sortKeys[*datacenter]{
			"id":   byID(func(d *datacenter) int64 { return d.id }),
			"name": byString(func(d *datacenter) string { return d.name }),
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]datacenterJSON, 0, len(page))
		for _, d := range page {
			out = append(out, s.renderDatacenter(d))
		}
		var recommendation int64
		if len(list) > 0 {
			recommendation = list[0].id
		}
		return http.StatusOK, map[string]any{"datacenters": out, "recommendation": recommendation, "meta": meta}, nil
	})
	s.handle("GET /v1/datacenters/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := pathID(r, "datacenter")
		if err != nil {
			return 0, nil, err
		}
		d, ok := s.datacenters[id]
		if !ok {
			return 0, nil, errNotFound("datacenter", id)
		}
		return http.StatusOK, map[string]any{"datacenter": s.renderDatacenter(d)}, nil
	})

	s.handle("GET /v1/server_types", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		var list []*serverType
		for _, t := range s.serverTypes {
			if f.name == "" || f.name == t.Name {
				list = append(list, t)
			}
		}
		if err := sortList(q, list, sortKeys[*serverType]{
			"id":   byID(func(t *serverType) int64 { return t.id }),
			"name": byString(func(t *serverType) string { return t.Name }),
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]serverTypeJSON, 0, len(page))
		for _, t := range page {
			out = append(out, s.renderServerType(t))
		}
		return http.StatusOK, map[string]any{"server_types": out, "meta": meta}, nil
	})
	s.handle("GET /v1/server_types/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		id, err := pathID(r, "server type")
		if err != nil {
			return 0, nil, err
		}
		t, ok := s.serverTypes[id]
		if !ok {
			return 0, nil, errNotFound("server type", id)
		}
		return http.StatusOK, map[string]any{"server_type": s.renderServerType(t)}, nil
	})
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
