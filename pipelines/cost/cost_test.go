package cost_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/pipelines/cost"
)

func startSim(t *testing.T) *hcloudsim.Server {
	t.Helper()
	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	return sim
}

// The simulator's price list, read by hcloud-go: cx33 5.49, cx43 9.49, a volume 0.044 per
// GB, a primary IPv4 0.50 and IPv6 nothing, net EUR a month; gross adds 19 % VAT.
func TestMonthly(t *testing.T) {
	sim := startSim(t)
	ctx := context.Background()
	prices, err := cost.Fetch(ctx, cost.NewClient(sim.Endpoint(), hcloudsim.DefaultToken))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r          cost.Resources
		items      string // What net/gross, …
		net, gross string
		wantErr    string
	}{
		{r: cost.Resources{ServerType: "cx33", Location: "nbg1", VolumeGB: 50},
			items: "server cx33 in nbg1 5.49/6.53, data volume, 50 GB 2.20/2.62, IPv4 address 0.50/0.60, IPv6 addresses 0.00/0.00",
			net:   "8.19", gross: "9.75"},
		{r: cost.Resources{ServerType: "cx43", Location: "hel1", VolumeGB: 80},
			items: "server cx43 in hel1 9.49/11.29, data volume, 80 GB 3.52/4.19, IPv4 address 0.50/0.60, IPv6 addresses 0.00/0.00",
			net:   "13.51", gross: "16.08"},
		{r: cost.Resources{ServerType: "cx99", Location: "nbg1", VolumeGB: 10}, wantErr: "price list has no server type cx99"},
		{r: cost.Resources{ServerType: "cx33", Location: "ash", VolumeGB: 10}, wantErr: "does not sell server type cx33 in ash"},
	} {
		m, err := prices.Monthly(tc.r)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: %v, want an error saying %q", tc.r, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.r, err)
			continue
		}
		var items []string
		for _, it := range m.Items {
			items = append(items, it.What+" "+it.Net.String()+"/"+it.Gross.String())
		}
		if got := strings.Join(items, ", "); got != tc.items || m.Total.Net.String() != tc.net || m.Total.Gross.String() != tc.gross || m.Currency != "EUR" || m.VATRate != "19.00" {
			t.Errorf("%+v:\n got %s = %s/%s %s %s\nwant %s = %s/%s", tc.r, got, m.Total.Net, m.Total.Gross, m.Currency, m.VATRate, tc.items, tc.net, tc.gross)
		}
	}

	// A wrong token is Hetzner's refusal, said as such.
	if _, err := cost.Fetch(ctx, cost.NewClient(sim.Endpoint(), "wrong")); err == nil || !strings.Contains(err.Error(), "reading Hetzner's prices") {
		t.Errorf("a wrong token: %v", err)
	}
}

// Two versions of a site priced from one reading of the price list: a bigger server and
// volume, a smaller one, no change.
func TestSites(t *testing.T) {
	sim := startSim(t)
	c := cost.NewClient(sim.Endpoint(), hcloudsim.DefaultToken)
	load := func(hetzner string) *site.Loaded {
		data, _ := examples.Get("one-app")
		l, err := site.Load("site.yaml", []byte(strings.Replace(string(data), "hetzner: { location: hel1, server_type: cx23, volume_gb: 10 }", "hetzner: "+hetzner, 1)), catalog.Embedded())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	small := load("{ location: hel1, server_type: cx23, volume_gb: 10 }")
	big := load("{ location: hel1, server_type: cx43, volume_gb: 80 }")
	for _, tc := range []struct {
		before, after *site.Loaded
		want          string
		net           string
	}{
		// cx23 3.49 + 10 GB 0.44 + IPv4 0.50 = 4.43 net, 5.27 gross.
		{small, big, "€5.27 → €16.08 a month (+€10.81), VAT included", "9.08"},
		{big, small, "€16.08 → €5.27 a month (-€10.81), VAT included", "-9.08"},
		{small, small, "€5.27 a month, unchanged, VAT included", "0.00"},
	} {
		ch, err := cost.Sites(context.Background(), c, tc.before, tc.after)
		if err != nil {
			t.Fatal(err)
		}
		if ch.String() != tc.want || ch.Difference.Net.String() != tc.net {
			t.Errorf("got %q (net %s), want %q (net %s)", ch, ch.Difference.Net, tc.want, tc.net)
		}
	}
}
