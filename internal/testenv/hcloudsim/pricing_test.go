package hcloudsim_test

import (
	"context"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/internal/testenv/hcloudsim"
)

// GET /pricing reads through hcloud-go's own client: every price the client knows is
// there, net and gross, per location where the API gives it per location.
func TestPricingThroughHcloudGo(t *testing.T) {
	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	sim.SetPrices(hcloudsim.Prices{VolumePerGB: 0.05, PrimaryIPv4: 0.6, ImagePerGB: 0.01, BackupShare: "20.00"})
	c := hcloud.NewClient(hcloud.WithEndpoint(sim.Endpoint()), hcloud.WithToken(hcloudsim.DefaultToken))
	p, _, err := c.Pricing.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Currency != "EUR" || p.VATRate != "19.00" || p.ServerBackup.Percentage != "20.00" {
		t.Errorf("currency %q, VAT %q, backups %q", p.Currency, p.VATRate, p.ServerBackup.Percentage)
	}
	if v := p.Volume.PerGBMonthly; v.Net != "0.0500000000" || v.Gross != "0.0595000000" {
		t.Errorf("volume per GB: %+v", v)
	}
	ips := map[string]hcloud.PrimaryIPTypePricing{}
	for _, ip := range p.PrimaryIPs {
		for _, l := range ip.Pricings {
			if l.Location == "nbg1" {
				ips[ip.Type] = l
			}
		}
	}
	if ips["ipv4"].Monthly.Net != "0.6000000000" || ips["ipv6"].Monthly.Net != "0.0000000000" || ips["ipv4"].Datacenter != "" {
		t.Errorf("primary IPs in nbg1: %+v", ips)
	}
	var cx33 string
	for _, st := range p.ServerTypes {
		if st.ServerType.Name != "cx33" {
			continue
		}
		for _, l := range st.Pricings {
			if l.Location.Name == "hel1" {
				cx33 = l.Monthly.Net + " " + l.Monthly.Gross
			}
		}
		if st.ServerType.ID == 0 {
			t.Error("cx33 is priced without its ID")
		}
	}
	if cx33 != "5.4900000000 6.5331000000" {
		t.Errorf("cx33 in hel1 costs %q a month", cx33)
	}
}
