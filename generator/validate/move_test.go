package validate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/siterepo"
)

// The configuration of a move passes every check, OpenTofu's validate with the real
// providers included, from each platform to each other one, while the site moves and when
// it retires the old server, with the names at Hetzner DNS or kept elsewhere (records_only:
// then the Hetzner provider of a site leaving Hetzner is declared by previous.tf alone).
func TestMovesAreValid(t *testing.T) {
	bin := tofu(t)
	blocks := map[string]string{
		"hetzner":   `hetzner: { location: nbg1, server_type: cx33, volume_gb: 100 }`,
		"libvirt":   `libvirt: { host: box.office.example, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINsHxTVWPIGCyNQtca+mpBmYDUtR6FOC5Cr/mj7tIddI", ipv4_address: 203.0.113.7, memory_mb: 8192, volume_gb: 100 }`,
		"openstack": `openstack: { auth_url: "https://auth.cloud.ovh.net/v3", region: GRA11, flavor: b3-8, external_network: Ext-Net, volume_gb: 100 }`,
	}
	base, _ := examples.Get("moving-away")
	start, end := strings.Index(string(base), "provider:\n"), strings.Index(string(base), "dns:\n")
	cat := catalog.Embedded()
	for _, from := range []string{"hetzner", "libvirt", "openstack"} {
		for _, to := range []string{"hetzner", "libvirt", "openstack"} {
			for _, dns := range []string{"hetzner", "records_only"} {
				for _, retire := range []bool{false, true} {
					if from == to || (dns == "records_only" && from != "hetzner") {
						continue
					}
					name := from + "-to-" + to + "-dns-" + dns
					provider := "provider:\n  " + blocks[to] + "\n  previous:\n    " + blocks[from] + "\n"
					if retire {
						name += "-retire"
						provider += "    retire: true\n"
					}
					t.Run(name, func(t *testing.T) {
						text := string(base[:start]) + provider + strings.Replace(string(base[end:]), "dns:\n  hetzner: {}", "dns:\n  "+dns+": {}", 1)
						dir := t.TempDir()
						if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(text), 0o644); err != nil {
							t.Fatal(err)
						}
						l, err := site.Load("site.yaml", []byte(text), cat)
						if err != nil {
							t.Fatal(err)
						}
						tr, err := generator.Generate(l, cat)
						if err != nil {
							t.Fatal(err)
						}
						if _, err := tr.Write(dir, nil); err != nil {
							t.Fatal(err)
						}
						_, err = os.Stat(filepath.Join(dir, "terraform", "previous", "frozen_override.tf"))
						if retire != os.IsNotExist(err) {
							t.Errorf("the old platform's module is there: %v, want %v", err == nil, !retire)
						}
						r := validate.Repo(context.Background(), dir, siterepo.Options{Catalog: cat}, validate.Options{Tofu: bin})
						if err := r.Err(); err != nil {
							t.Fatal(err)
						}
						for _, c := range r.Checks {
							if c.Name == "opentofu validate" && (c.Skipped != "" || c.Detail == "") {
								t.Errorf("opentofu validate did not run: %+v", c)
							}
						}
					})
				}
			}
		}
	}
}
