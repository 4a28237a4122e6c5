// Package deploy is how a site repo reaches its server: plan a change and say in plain
// words what it does, apply exactly the reviewed plan, check every app from outside, and
// roll back to the last good configuration when a check fails. It drives OpenTofu through
// terraform-exec; the state is encrypted and, with state.s3 in site.yaml, locked in S3.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/terraform"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/siterepo"
)

// Env is a site repo and the tools to deploy it.
type Env struct {
	Dir  string // the site repo
	Tofu string // OpenTofu binary
	// Catalog or CatalogDir is the release given with --catalog; neither: the built-in one.
	// Either must be the release the repo's lock pins.
	Catalog    *catalog.Release
	CatalogDir string
	// BackendConfig are -backend-config values for init (files or key=value), e.g. a test's
	// local S3 endpoint.
	BackendConfig []string
	Log           io.Writer // progress; may be nil
}

func (e Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format, args...)
	}
}

// Change is one resource change of a plan.
type Change struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Action  string `json:"action"` // create, update, replace, delete
	// Detail is what the owner is told, e.g. the host name of a DNS record.
	Detail string `json:"detail,omitempty"`
}

// Plan is a saved plan and what it does.
type Plan struct {
	File    string   `json:"-"`
	Changes []Change `json:"changes"`
	// Digest identifies the change set: the same digest means the same changes, so a plan
	// made again at merge can be compared with the one reviewed on the pull request.
	Digest string `json:"digest"`
	// Inputs is the hash of the files the plan was made from; apply refuses a plan whose
	// inputs have changed since.
	Inputs string `json:"inputs"`
	// ReplacesServer says the running server is rebuilt: a backup is taken first.
	ReplacesServer bool `json:"replaces_server"`
}

// protected are the resources a plan may not destroy unless site.yaml allows it: losing
// them loses the customer's data or addresses.
var protected = map[string]string{
	"hcloud_volume":     "the data volume (all app data)",
	"hcloud_primary_ip": "an IP address of the site",
}

// ErrDestroysData is returned by MakePlan when a plan would delete protected resources.
var ErrDestroysData = errors.New("the plan would delete data or addresses")

func (e Env) tf(ctx context.Context, dir string) (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(dir, e.Tofu)
	if err != nil {
		return nil, err
	}
	var opts []tfexec.InitOption
	for _, bc := range e.BackendConfig {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	if err := tf.Init(ctx, opts...); err != nil {
		return nil, fmt.Errorf("tofu init: %w", err)
	}
	return tf, nil
}

// LoadSite opens the site repo: its site.yaml, loaded against the catalog release its lock
// pins, so the apps checked are the ones that release defines.
func (e Env) LoadSite() (*site.Loaded, error) {
	r, err := siterepo.Open(e.Dir, siterepo.Options{Catalog: e.Catalog, CatalogDir: e.CatalogDir})
	if err != nil {
		return nil, err
	}
	return r.Site, nil
}

// MakePlan runs init and plan, saves the plan to file and reads back what it does. A plan
// that would delete the data volume or an IP address is refused (and its file removed)
// unless site.yaml sets danger_zone.allow_destroying_data.
func MakePlan(ctx context.Context, e Env, file string) (*Plan, error) {
	s, err := e.LoadSite()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.Dir, terraform.Dir)
	file, err = filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	inputs, err := InputsHash(e.Dir)
	if err != nil {
		return nil, err
	}
	e.logf("planning %s\n", e.Dir)
	tf, err := e.tf(ctx, dir)
	if err != nil {
		return nil, err
	}
	if _, err := tf.Plan(ctx, tfexec.Out(file)); err != nil {
		return nil, fmt.Errorf("tofu plan: %w", err)
	}
	shown, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("tofu show: %w", err)
	}
	p := &Plan{File: file, Inputs: inputs, Changes: changes(shown)}
	p.Digest = digest(shown)
	var dangerous []string
	for _, c := range p.Changes {
		if c.Type == "hcloud_server" && c.Action == "replace" {
			p.ReplacesServer = true
		}
		if what, ok := protected[c.Type]; ok && (c.Action == "delete" || c.Action == "replace") {
			dangerous = append(dangerous, fmt.Sprintf("%s (%s)", what, c.Address))
		}
	}
	if len(dangerous) > 0 && !s.Danger.AllowDestroyingData {
		os.Remove(file)
		return p, fmt.Errorf("%w: %s; if that is really wanted (moving or deleting the site), set danger_zone: { allow_destroying_data: true } in site.yaml", ErrDestroysData, strings.Join(dangerous, ", "))
	}
	meta, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file+".json", meta, 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

// ReadPlan reads the description MakePlan saved next to a plan file.
func ReadPlan(file string) (*Plan, error) {
	data, err := os.ReadFile(file + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w (make the plan with nassella plan)", err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s.json: %w", file, err)
	}
	p.File, err = filepath.Abs(file)
	return &p, err
}

// InputsHash hashes the files a plan is made from: the Terraform and the Ignition.
func InputsHash(repo string) (string, error) {
	h := sha256.New()
	dir := filepath.Join(repo, terraform.Dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tfvars")) {
			files = append(files, filepath.Join(terraform.Dir, e.Name()))
		}
	}
	sort.Strings(files)
	files = append(files, filepath.FromSlash(butane.IgnitionPath))
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func action(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return "replace"
	case a.Create():
		return "create"
	case a.Update():
		return "update"
	case a.Delete():
		return "delete"
	}
	return ""
}

func changes(p *tfjson.Plan) []Change {
	var out []Change
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := action(rc.Change.Actions)
		if a == "" {
			continue
		}
		c := Change{Address: rc.Address, Type: rc.Type, Action: a}
		vals, _ := rc.Change.After.(map[string]any)
		if a == "delete" {
			vals, _ = rc.Change.Before.(map[string]any)
		}
		switch rc.Type {
		case "hcloud_zone_rrset":
			name, _ := vals["name"].(string)
			zone, _ := vals["zone"].(string)
			if name == "@" {
				c.Detail = zone
			} else if name != "" && zone != "" {
				c.Detail = name + "." + zone
			}
		case "hcloud_zone":
			c.Detail, _ = vals["name"].(string)
		case "hcloud_volume":
			if size, ok := vals["size"].(float64); ok {
				c.Detail = fmt.Sprintf("%.0f GB", size)
			}
		case "hcloud_primary_ip":
			c.Detail, _ = vals["type"].(string)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// digest hashes the planned changes (address, actions and the values after, sensitive
// values masked by tofu itself), independent of when or where the plan was made.
func digest(p *tfjson.Plan) string {
	type entry struct {
		Address string
		Actions tfjson.Actions
		After   any
	}
	var es []entry
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Change.Actions.NoOp() || rc.Change.Actions.Read() {
			continue
		}
		es = append(es, entry{rc.Address, rc.Change.Actions, rc.Change.After})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Address < es[j].Address })
	data, _ := json.Marshal(es)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
