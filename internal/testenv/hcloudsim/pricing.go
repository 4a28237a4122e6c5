package hcloudsim

import "net/http"

// Prices are what GET /pricing lists besides the server types' own prices (ServerType
// MonthlyPrice), net EUR a month. Like the server types' figures they are the
// simulator's, not Hetzner's prices of the day.
type Prices struct {
	VolumePerGB float64 // a volume, per GB
	PrimaryIPv4 float64 // one primary IPv4 address, in every location
	PrimaryIPv6 float64 // one primary IPv6 network
	ImagePerGB  float64 // snapshots, per GB
	BackupShare string  // server backups, percent of the server's price
}

// DefaultPrices are the prices a new simulator lists.
var DefaultPrices = Prices{VolumePerGB: 0.044, PrimaryIPv4: 0.50, PrimaryIPv6: 0, ImagePerGB: 0.011, BackupShare: "20.00"}

// SetPrices changes what GET /pricing lists.
func (s *Server) SetPrices(p Prices) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices = p
}

// The answer of GET /pricing (hcloud-go hcloud/schema/pricing.go: Pricing,
// PricingGetResponse). The deprecated single floating_ip and traffic prices are still
// listed, as the API keeps them for older clients.
type pricingJSON struct {
	Currency          string                  `json:"currency"`
	VATRate           string                  `json:"vat_rate"`
	Image             map[string]priceJSON    `json:"image"`
	FloatingIP        map[string]priceJSON    `json:"floating_ip"`
	FloatingIPs       []ipPricingJSON         `json:"floating_ips"`
	PrimaryIPs        []ipPricingJSON         `json:"primary_ips"`
	Traffic           map[string]priceJSON    `json:"traffic"`
	ServerBackup      map[string]string       `json:"server_backup"`
	ServerTypes       []serverTypePricingJSON `json:"server_types"`
	LoadBalancerTypes []serverTypePricingJSON `json:"load_balancer_types"`
	Volume            map[string]priceJSON    `json:"volume"`
}

type ipPricingJSON struct {
	Type   string             `json:"type"`
	Prices []ipLocationPrices `json:"prices"`
}

type ipLocationPrices struct {
	Location     string    `json:"location"`
	PriceHourly  priceJSON `json:"price_hourly"`
	PriceMonthly priceJSON `json:"price_monthly"`
}

type serverTypePricingJSON struct {
	ID     int64                 `json:"id"`
	Name   string                `json:"name"`
	Prices []serverTypePriceJSON `json:"prices"`
}

func (s *Server) renderPricing() pricingJSON {
	p := s.prices
	out := pricingJSON{
		Currency:          "EUR",
		VATRate:           "19.00", // the gross prices of price()
		Image:             map[string]priceJSON{"price_per_gb_month": price(p.ImagePerGB)},
		FloatingIP:        map[string]priceJSON{"price_monthly": price(p.PrimaryIPv4)},
		FloatingIPs:       []ipPricingJSON{},
		Traffic:           map[string]priceJSON{"price_per_tb": price(0)},
		ServerBackup:      map[string]string{"percentage": p.BackupShare},
		ServerTypes:       []serverTypePricingJSON{},
		LoadBalancerTypes: []serverTypePricingJSON{},
		Volume:            map[string]priceJSON{"price_per_gb_month": price(p.VolumePerGB)},
	}
	for _, ip := range []struct {
		kind  string
		price float64
	}{{"ipv4", p.PrimaryIPv4}, {"ipv6", p.PrimaryIPv6}} {
		t := ipPricingJSON{Type: ip.kind, Prices: []ipLocationPrices{}}
		for _, l := range s.locations.sorted() {
			t.Prices = append(t.Prices, ipLocationPrices{Location: l.Name, PriceHourly: price(ip.price / 730), PriceMonthly: price(ip.price)})
		}
		out.PrimaryIPs = append(out.PrimaryIPs, t)
		out.FloatingIPs = append(out.FloatingIPs, t)
	}
	for _, t := range s.serverTypes.sorted() {
		out.ServerTypes = append(out.ServerTypes, serverTypePricingJSON{ID: t.id, Name: t.Name, Prices: s.renderServerType(t).Prices})
	}
	return out
}

func (s *Server) pricingRoutes() {
	s.handle("GET /v1/pricing", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, map[string]any{"pricing": s.renderPricing()}, nil
	})
}
