// Package sitetemplate holds the files every site repo starts from: the Terraform module
// for each provider, the site.yaml skeleton `nassella init` writes, the site repo's README
// and .gitignore, and the scripts the host runs (host/*.sh, written into the Ignition).
// They are real files (tofu fmt checks the Terraform, bash -n and shellcheck the scripts)
// embedded in the binary.
package sitetemplate

import "embed"

// FS holds the template files.
//
//go:embed terraform/*/*.tf workflows/*/*.yml site.yaml README.md.tmpl GUIDE.md.tmpl gitignore host/*.sh
var FS embed.FS
