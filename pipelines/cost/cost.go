// Package cost says what a site costs a month at Hetzner, from Hetzner's own price list
// (GET /pricing of the Cloud API, read with hcloud-go), and how a change moves it. The
// console shows it beside every change of resources; the CLI can too.
package cost

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
)

// Resources are what a site rents, as site-template/terraform/hetzner creates them: one
// server, one data volume, and (network.tf) a primary IPv4 address and a primary IPv6
// network. Firewalls, SSH keys and DNS zones have no entry in Hetzner's price list.
type Resources struct {
	ServerType string // cx33
	Location   string // nbg1
	VolumeGB   int
}

// ForSite is what s rents.
func ForSite(s *site.Loaded) (Resources, error) {
	h := s.Provider.Hetzner
	if h == nil {
		return Resources{}, errors.New("the site is not at Hetzner, so nassella cannot read its prices")
	}
	return Resources{ServerType: h.ServerType, Location: h.Location, VolumeGB: h.VolumeGB}, nil
}

// Money is an amount in millionths of the currency's unit, exact for Hetzner's prices.
type Money int64

// String is the amount rounded to cents, like 12.34 or -0.50.
func (m Money) String() string {
	sign, v := "", int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	cents := (v + 5000) / 10000
	if cents == 0 {
		sign = ""
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// parseMoney reads one of the API's decimal strings ("5.4900000000").
func parseMoney(s string) (Money, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("%q is not a price", s)
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	n, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if new(big.Int).Mul(rem, big.NewInt(2)).CmpAbs(r.Denom()) >= 0 {
		n.Add(n, big.NewInt(int64(rem.Sign())))
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%q is too large a price", s)
	}
	return Money(n.Int64()), nil
}

// Price is net (before VAT) and gross (with the project owner's VAT).
type Price struct{ Net, Gross Money }

func (p Price) add(q Price) Price   { return Price{p.Net + q.Net, p.Gross + q.Gross} }
func (p Price) times(n int) Price   { return Price{p.Net * Money(n), p.Gross * Money(n)} }
func (p Price) minus(q Price) Price { return Price{p.Net - q.Net, p.Gross - q.Gross} }

func parsePrice(net, gross string) (Price, error) {
	n, err := parseMoney(net)
	if err != nil {
		return Price{}, err
	}
	g, err := parseMoney(gross)
	return Price{n, g}, err
}

// Item is one thing the site pays for each month.
type Item struct {
	What string // in the owner's words: "server cx33 in nbg1"
	Price
}

// Monthly is what a site costs a month, item by item.
type Monthly struct {
	Currency string // EUR
	VATRate  string // the project owner's, in percent: "19.00"
	Items    []Item
	Total    Price
}

// Prices is Hetzner's price list for the project of the API token: its currency and VAT
// are the project owner's (Hetzner Cloud API reference, "Get all prices": "VAT and
// currency of the Project owner are used for calculations").
type Prices struct{ list hcloud.Pricing }

// NewClient is a client of the Hetzner Cloud API at endpoint (Hetzner's own when empty),
// as the hcloud provider uses it (TF_VAR_hcloud_endpoint, TF_VAR_hcloud_token). The price
// list is a GET, so a read-only token does.
func NewClient(endpoint, token string) *hcloud.Client {
	opts := []hcloud.ClientOption{hcloud.WithToken(token), hcloud.WithApplication("nassella-cost", generator.Version)}
	if endpoint != "" {
		opts = append(opts, hcloud.WithEndpoint(endpoint))
	}
	return hcloud.NewClient(opts...)
}

// Fetch reads the price list (GET /pricing, one request), to price any number of sites.
func Fetch(ctx context.Context, c *hcloud.Client) (*Prices, error) {
	list, _, err := c.Pricing.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading Hetzner's prices: %w", err)
	}
	return &Prices{list}, nil
}

// Monthly is what r costs a month. Hetzner bills by the hour up to these monthly prices
// (hcloud-go hcloud/schema/pricing.go: price_monthly beside price_hourly); traffic
// beyond what the server type includes is not counted.
func (p *Prices) Monthly(r Resources) (Monthly, error) {
	m := Monthly{Currency: p.list.Currency, VATRate: p.list.VATRate}
	server, err := p.server(r)
	if err != nil {
		return Monthly{}, err
	}
	perGB, err := parsePrice(p.list.Volume.PerGBMonthly.Net, p.list.Volume.PerGBMonthly.Gross)
	if err != nil {
		return Monthly{}, fmt.Errorf("Hetzner's volume price: %w", err)
	}
	m.Items = append(m.Items, Item{"server " + r.ServerType + " in " + r.Location, server},
		Item{fmt.Sprintf("data volume, %d GB", r.VolumeGB), perGB.times(r.VolumeGB)})
	for _, ip := range []struct{ kind, what string }{{"ipv4", "IPv4 address"}, {"ipv6", "IPv6 addresses"}} {
		price, err := p.primaryIP(ip.kind, r.Location)
		if err != nil {
			return Monthly{}, err
		}
		m.Items = append(m.Items, Item{ip.what, price})
	}
	for _, it := range m.Items {
		m.Total = m.Total.add(it.Price)
	}
	return m, nil
}

func (p *Prices) server(r Resources) (Price, error) {
	for _, st := range p.list.ServerTypes {
		if st.ServerType == nil || !strings.EqualFold(st.ServerType.Name, r.ServerType) {
			continue
		}
		for _, l := range st.Pricings {
			if l.Location != nil && l.Location.Name == r.Location {
				price, err := parsePrice(l.Monthly.Net, l.Monthly.Gross)
				if err != nil {
					return Price{}, fmt.Errorf("Hetzner's price of server type %s: %w", r.ServerType, err)
				}
				return price, nil
			}
		}
		return Price{}, fmt.Errorf("Hetzner does not sell server type %s in %s; choose another server_type or location in your site.yaml", r.ServerType, r.Location)
	}
	return Price{}, fmt.Errorf("Hetzner's price list has no server type %s; choose another server_type in your site.yaml", r.ServerType)
}

func (p *Prices) primaryIP(kind, location string) (Price, error) {
	for _, ip := range p.list.PrimaryIPs {
		if ip.Type != kind {
			continue
		}
		for _, l := range ip.Pricings {
			if l.Location == location {
				price, err := parsePrice(l.Monthly.Net, l.Monthly.Gross)
				if err != nil {
					return Price{}, fmt.Errorf("Hetzner's price of a primary %s address: %w", kind, err)
				}
				return price, nil
			}
		}
	}
	return Price{}, fmt.Errorf("Hetzner's price list has no primary %s address in %s", kind, location)
}

// Change is what a change of resources does to the monthly cost.
type Change struct {
	Before, After Monthly
	Difference    Price // After minus Before
}

// Compare says how the monthly cost moves from before to after.
func Compare(before, after Monthly) Change {
	return Change{Before: before, After: after, Difference: after.Total.minus(before.Total)}
}

// String is the change in one line, VAT included, as the owner pays it:
// "€10.57 → €15.33 a month (+€4.76), VAT included".
func (c Change) String() string {
	cur := c.After.Currency
	diff := c.Difference.Gross
	sign := "+"
	if diff < 0 {
		sign, diff = "-", -diff
	}
	if diff.String() == "0.00" {
		return fmt.Sprintf("%s a month, unchanged, VAT included", amount(cur, c.After.Total.Gross))
	}
	return fmt.Sprintf("%s → %s a month (%s%s), VAT included", amount(cur, c.Before.Total.Gross), amount(cur, c.After.Total.Gross), sign, amount(cur, diff))
}

// amount writes m in its currency: €5.49, or 5.49 USD for a currency without a sign here.
func amount(currency string, m Money) string {
	if currency == "EUR" {
		return "€" + m.String()
	}
	return m.String() + " " + currency
}

// Sites prices the resources of two versions of a site (the site repo's main branch and
// a pull request, say) from one reading of the price list.
func Sites(ctx context.Context, c *hcloud.Client, before, after *site.Loaded) (Change, error) {
	p, err := Fetch(ctx, c)
	if err != nil {
		return Change{}, err
	}
	var m [2]Monthly
	for i, s := range []*site.Loaded{before, after} {
		r, err := ForSite(s)
		if err == nil {
			m[i], err = p.Monthly(r)
		}
		if err != nil {
			return Change{}, err
		}
	}
	return Compare(m[0], m[1]), nil
}
