// Package generator turns a site.yaml and a catalog release into the site repo's files.
// It is a pure function of its inputs and its version: same inputs, byte-identical tree,
// which is what keeps the update bot from opening empty pull requests.
package generator

import (
	"fmt"
	"path"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/caddy"
	"github.com/nassella/nassella/generator/render/compose"
	"github.com/nassella/nassella/generator/render/readme"
	"github.com/nassella/nassella/generator/render/terraform"
	"github.com/nassella/nassella/generator/render/workflows"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Version is the generator's version; it is part of every generated file's header and the
// lock file, so output changes only when it or the inputs change.
const Version = "0.1.0"

// SchemaPath is where the site repo keeps site.yaml's JSON Schema for editors.
const SchemaPath = ".nassella/site.schema.json"

// Generate renders the whole site repo (all but site.yaml and the owner's own files).
func Generate(s *site.Loaded, cat *catalog.Release) (*tree.Tree, error) {
	in := render.Input{Site: s, Catalog: cat, Version: Version}
	t := tree.New()

	// Compose files and the Caddyfile go both into the repo (readable in a PR) and, through
	// the Ignition, onto the host.
	var hostFiles []butane.File
	addBoth := func(repoPath, hostPath string, data []byte) {
		t.Add(repoPath, data, 0o644)
		hostFiles = append(hostFiles, butane.File{Path: hostPath, Contents: string(data), Mode: 0o644})
	}
	for _, app := range s.Apps {
		data, err := compose.App(in, app)
		if err != nil {
			return nil, err
		}
		addBoth(compose.AppPath(app.Name), path.Join(hostcontract.AppsConfig, app.Name, hostcontract.ComposeYML), data)
	}
	proxy, err := compose.Proxy(in)
	if err != nil {
		return nil, err
	}
	addBoth(compose.ProxyPath, path.Join(hostcontract.ProxyDir, hostcontract.ComposeYML), proxy)
	addBoth(caddy.Path, path.Join(hostcontract.ProxyDir, hostcontract.Caddyfile), caddy.Render(in))

	butaneYAML, ign, err := butane.Render(in, butane.Inputs{Files: hostFiles})
	if err != nil {
		return nil, fmt.Errorf("host config: %w", err)
	}
	t.Add(butane.ButanePath, butaneYAML, 0o644)
	t.Add(butane.IgnitionPath, ign, 0o644)
	t.Add(butane.SettingsPath, []byte(butane.BackupSettingsFile(in)), 0o644)

	tf, err := terraform.Render(in)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	for name, data := range tf {
		t.Add(path.Join(terraform.Dir, name), data, 0o644)
	}

	wf, err := workflows.Render(in)
	if err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	for p, data := range wf {
		t.Add(p, data, 0o644)
	}

	md, err := readme.Render(in)
	if err != nil {
		return nil, fmt.Errorf("readme: %w", err)
	}
	t.Add(readme.Path, md, 0o644)
	guide, err := readme.Guide(in)
	if err != nil {
		return nil, fmt.Errorf("guide: %w", err)
	}
	t.Add(readme.GuidePath, guide, 0o644)

	schema, err := site.Schema()
	if err != nil {
		return nil, err
	}
	t.Add(SchemaPath, schema, 0o644)

	lock, err := renderLock(in, t)
	if err != nil {
		return nil, err
	}
	t.Add(LockPath, lock, 0o644)
	t.SetLast(LockPath)
	return t, nil
}
