package console

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/cost"
)

// What a site costs a month, before and after a change, from Hetzner's own price list
// (pipelines/cost). The list is the same for every site of the token's project, so it is
// read once and kept for priceTTL.

const priceTTL = 10 * time.Minute

// errNoPrices is the reason without a token: the console does not guess prices.
var errNoPrices = errors.New("the console has no Hetzner API token to read prices with")

type priceCache struct {
	client *hcloud.Client // nil without a token
	now    func() time.Time

	mu      sync.Mutex
	prices  *cost.Prices
	fetched time.Time
}

func newPriceCache(endpoint, token string, now func() time.Time) *priceCache {
	c := &priceCache{now: now}
	if token != "" {
		c.client = cost.NewClient(endpoint, token)
	}
	return c
}

// get is the price list, read again when older than priceTTL.
func (c *priceCache) get(ctx context.Context) (*cost.Prices, error) {
	if c.client == nil {
		return nil, errNoPrices
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prices != nil && c.now().Sub(c.fetched) < priceTTL {
		return c.prices, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := cost.Fetch(ctx, c.client)
	if err != nil {
		return nil, err
	}
	c.prices, c.fetched = p, c.now()
	return p, nil
}

// costs is what a page says about prices.
type costs struct {
	Now         string            // what the site costs a month now: "€5.27"
	Change      string            // before and after a change, cost.Change.String()
	ByType      map[string]string // the site's monthly cost with each server type
	Per10GB     string            // what 10 GB more of data volume add a month
	Unavailable string            // why there are no prices ("" when there are)
}

// money is a month's total as the owner pays it, VAT included.
func money(m cost.Monthly) string { return amount(m.Currency, m.Total.Gross) }

func amount(currency string, v cost.Money) string {
	if currency == "EUR" {
		return "€" + v.String()
	}
	return v.String() + " " + currency
}

// costsOf prices the site's resources now and, when after is not nil, after a change; with
// types, the site with each of them.
func (s *Server) costsOf(ctx context.Context, l *site.Loaded, after *cost.Resources, types []site.ServerType) costs {
	var c costs
	before, err := cost.ForSite(l)
	if err != nil {
		switch {
		case l.Provider.Libvirt != nil:
			c.Unavailable = "Your server runs on your own machine: no provider bills you for it (its power and internet connection are yours)"
		case l.Provider.OpenStack != nil:
			// OpenStack has no price API of its own; each cloud publishes its prices.
			c.Unavailable = "Prices are not shown for OpenStack clouds, which have no common price list: your cloud's price page lists its flavors and volumes"
		default:
			c.Unavailable = "Prices are only known for servers at Hetzner"
		}
		return c
	}
	p, err := s.prices.get(ctx)
	var now cost.Monthly
	if err == nil {
		now, err = p.Monthly(before)
	}
	switch {
	case errors.Is(err, errNoPrices):
		c.Unavailable = "Prices are unavailable here (the console was started without access to Hetzner's price list)"
		return c
	case err != nil:
		s.log.Warn("reading prices failed", "error", err)
		c.Unavailable = "Prices are unavailable right now (Hetzner's price list could not be read, or does not list your server)"
		return c
	}
	c.Now = money(now)
	if after != nil {
		if m, err := p.Monthly(*after); err == nil {
			c.Change = cost.Compare(now, m).String()
		}
	}
	if len(types) > 0 {
		c.ByType = map[string]string{}
		for _, t := range types {
			r := before
			r.ServerType = t.Name
			if m, err := p.Monthly(r); err == nil {
				c.ByType[t.Name] = money(m)
			}
		}
		more := before
		more.VolumeGB += 10
		if m, err := p.Monthly(more); err == nil {
			c.Per10GB = amount(m.Currency, m.Total.Gross-now.Total.Gross)
		}
	}
	return c
}

// costLine is the pull request's sentence about the cost of a change, or "" without prices.
func costLine(c costs) string {
	if c.Change == "" {
		return ""
	}
	return "**What your site costs**: " + c.Change + " (Hetzner's prices today; traffic beyond what the server includes is not counted).\n\n"
}
