package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/internal/testenv/hcloudsim"
)

// The temporary server's type is chosen per location from the simulator's catalogue (the
// types, their disks, prices and per-location withdrawal as Hetzner's API gives them).
func TestBuildServerType(t *testing.T) {
	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	// A cheaper x86 type with a bigger disk, and an arm type with a smaller one: neither
	// may be picked.
	sim.AddServerType(hcloudsim.ServerType{Name: "cheap80", Category: "cost_optimized", Cores: 2, Memory: 4, Disk: 80,
		StorageType: "local", CPUType: "shared", Architecture: "x86", Locations: []string{"fsn1"}, MonthlyPrice: 1})
	sim.AddServerType(hcloudsim.ServerType{Name: "arm20", Category: "cost_optimized", Cores: 2, Memory: 4, Disk: 20,
		StorageType: "local", CPUType: "shared", Architecture: "arm", Locations: []string{"fsn1"}, MonthlyPrice: 1})
	hc := hcloud.NewClient(hcloud.WithEndpoint(sim.Endpoint()), hcloud.WithToken(hcloudsim.DefaultToken))
	today := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		location string
		now      time.Time
		want     string // or the error's start
	}{
		{"fsn1", today, "cx23"}, // cx22 and cpx11 withdrawn there
		{"hel1", today, "cx23"},
		{"ash", today, "cpx11"}, // cx23 is sold in Europe only; cpx11 stays on sale here
		{"sin", today, "cpx11"},
		// Before the withdrawal: cx22 and cpx11 are still sold but leaving; the same disk
		// not leaving comes first.
		{"nbg1", time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), "cx23"},
		{"xyz1", today, "Hetzner sells no x86 server type in xyz1"},
	} {
		got, err := buildServerType(context.Background(), hc, c.location, c.now)
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s at %s: got %q, want %q", c.location, c.now.Format(time.DateOnly), got, c.want)
		}
	}
}
