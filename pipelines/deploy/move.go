package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/nassella/nassella/generator/render/terraform"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/siterepo"
)

// dnsRecord is the resource type of the site's names (site-template/terraform/dns-hetzner):
// a move changes them last. A site with dns: records_only has none; its owner points the
// names at the new address after the move (the plan comment's records_to_add).
const dnsRecord = "hcloud_zone_rrset"

// applyMove applies a change of a moving site (provider.previous in site.yaml), the move
// itself or one after it, in two steps, each planned
// again and applied only when its changes are within the reviewed plan's: first
// everything but the site's DNS records, so the new server is made and restores the backup
// while the names still point at the old one; then, once every app answers over HTTPS at
// the new server's own address, the records. A new server that is not healthy leaves the
// names where they were: the site keeps working on the old server, which the move never
// touches, and nothing is rolled back (the last good commit has the old server at the
// root, where the state no longer keeps it).
func (e Env) applyMove(ctx context.Context, tf *tfexec.Terraform, opt ApplyOptions, p *Plan, s *site.Loaded) (*Outcome, error) {
	step := p.File + ".step"
	defer os.Remove(step)
	servers, err := e.allBut(ctx, tf, step, dnsRecord)
	if err != nil {
		return nil, err
	}
	e.logf("moving %s (digest %s): the new server first, the names after its health check\n", e.Dir, p.Digest)
	if len(servers) > 0 { // with no target, applyWithin would apply everything
		if err := e.applyWithin(ctx, tf, p, step, servers); err != nil {
			return nil, fmt.Errorf("making the new server: %w; the names still point at the old server, which is untouched", err)
		}
	}
	out := &Outcome{}
	ip, _ := outputString(ctx, tf, "ipv4_address")
	e.logf("checking %d apps on the new server (%s)\n", len(s.Apps), ip)
	out.Health = health.Check(ctx, siterepo.Targets(s), e.healthOptions(ctx, tf, opt.Health))
	if failed := health.Failed(out.Health); len(failed) > 0 {
		var names []string
		for _, f := range failed {
			names = append(names, fmt.Sprintf("%s (%s: %s)", f.App, f.URL(), f.Last))
		}
		return out, fmt.Errorf("the new server is unhealthy: %s; the site's names still point at the old server, which is untouched (%s) and keeps serving the site: nothing was switched. The new server's log tells whether restoring the backup failed", strings.Join(names, "; "), terraform.PreviousModule)
	}
	e.logf("the new server is healthy: pointing the names at it\n")
	if err := e.applyWithin(ctx, tf, p, step, nil); err != nil {
		return out, fmt.Errorf("pointing the names at the new server: %w; the new server runs and is healthy, the names may still point at the old one", err)
	}
	if err := markGood(e.Dir); err != nil {
		return out, fmt.Errorf("moved and healthy, but marking it good failed: %w", err)
	}
	e.logf("moved; every app is healthy on the new server\n")
	return out, nil
}

// allBut lists the resources of the configuration except those of type skip, as targets:
// every one a full plan has, changed or not, and the old address of each the moved blocks
// hand on (OpenTofu refuses a targeted plan that leaves out either side of a move).
func (e Env) allBut(ctx context.Context, tf *tfexec.Terraform, file, skip string) ([]string, error) {
	if _, err := tf.Plan(ctx, e.planOptions(file)...); err != nil {
		return nil, fmt.Errorf("tofu plan: %w", err)
	}
	shown, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("tofu show: %w", err)
	}
	var out []string
	for _, rc := range shown.ResourceChanges {
		if rc.Mode != tfjson.ManagedResourceMode || rc.Type == skip {
			continue
		}
		out = append(out, rc.Address)
		if rc.PreviousAddress != "" {
			out = append(out, rc.PreviousAddress)
		}
	}
	return out, nil
}

// applyWithin plans the configuration again, limited to targets when given, and applies
// that plan only when each of its changes is one the reviewed plan p has: a step of a
// reviewed change never does what the review did not see.
func (e Env) applyWithin(ctx context.Context, tf *tfexec.Terraform, p *Plan, file string, targets []string) error {
	opts := e.planOptions(file)
	for _, t := range targets {
		opts = append(opts, tfexec.Target(t))
	}
	if _, err := tf.Plan(ctx, opts...); err != nil {
		return fmt.Errorf("tofu plan: %w", err)
	}
	shown, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		return fmt.Errorf("tofu show: %w", err)
	}
	reviewed := map[string]string{}
	for _, c := range p.Changes {
		reviewed[c.Address] = c.Action
	}
	for _, c := range changes(shown) {
		if reviewed[c.Address] != c.Action {
			return fmt.Errorf("the step would %s %s, which the reviewed plan does not (the infrastructure changed since review): nothing of it was applied; review a new plan", c.Action, c.Address)
		}
	}
	if err := tf.Apply(ctx, tfexec.DirOrPlan(file)); err != nil {
		return fmt.Errorf("tofu apply: %w", err)
	}
	return nil
}

// unprotectPrevious lifts Hetzner's delete protection (protect_data) of the old server's
// volume and primary IPs that a retire plan deletes: the hcloud provider deletes a
// protected volume or IP without lifting it first, and Hetzner refuses ("protected"). The
// other platforms keep their data with prevent_destroy, which the retire configuration
// no longer has. Hetzner Cloud API: POST /volumes/{id}/actions/change_protection and
// /primary_ips/{id}/actions/change_protection (docs.hetzner.cloud), through hcloud-go.
func (e Env) unprotectPrevious(ctx context.Context, tf *tfexec.Terraform, p *Plan) error {
	deleted := map[string]bool{}
	for _, c := range p.Changes {
		if c.Action == "delete" && (c.Type == "hcloud_volume" || c.Type == "hcloud_primary_ip") && strings.HasPrefix(c.Address, terraform.PreviousModule+".") {
			deleted[c.Address] = true
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	state, err := tf.Show(ctx)
	if err != nil {
		return fmt.Errorf("reading the state for the old server's volume and addresses: %w", err)
	}
	token := os.Getenv("TF_VAR_hcloud_token")
	if token == "" {
		return errors.New("the old server's volume and addresses at Hetzner are protected from deletion, and no Hetzner API token (TF_VAR_hcloud_token, the CI secret HCLOUD_TOKEN) is given to lift that")
	}
	hc := hcloud.NewClient(hcloud.WithToken(token), hcloud.WithEndpoint(cmp.Or(os.Getenv("TF_VAR_hcloud_endpoint"), "https://api.hetzner.cloud/v1")),
		hcloud.WithApplication("nassella", ""))
	var modules []*tfjson.StateModule
	if state.Values != nil && state.Values.RootModule != nil {
		modules = state.Values.RootModule.ChildModules
	}
	for _, m := range modules {
		for _, r := range m.Resources {
			if !deleted[r.Address] || r.AttributeValues["delete_protection"] != true {
				continue
			}
			id, err := strconv.ParseInt(fmt.Sprint(r.AttributeValues["id"]), 10, 64)
			if err != nil {
				return fmt.Errorf("%s has no numeric id in the state: %v", r.Address, r.AttributeValues["id"])
			}
			e.logf("lifting the delete protection of %s (id %d): the site has moved and retires it\n", r.Address, id)
			var action *hcloud.Action
			if r.Type == "hcloud_volume" {
				action, _, err = hc.Volume.ChangeProtection(ctx, &hcloud.Volume{ID: id}, hcloud.VolumeChangeProtectionOpts{Delete: hcloud.Ptr(false)})
			} else {
				action, _, err = hc.PrimaryIP.ChangeProtection(ctx, hcloud.PrimaryIPChangeProtectionOpts{ID: id, Delete: false})
			}
			if err == nil {
				err = hc.Action.WaitFor(ctx, action)
			}
			if err != nil {
				return fmt.Errorf("lifting the delete protection of %s at Hetzner: %w; nothing was deleted", r.Address, err)
			}
		}
	}
	return nil
}
