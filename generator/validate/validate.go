// Package validate checks a site repo with the real tools it will meet in production:
// site.yaml against the catalog, the generated files against a fresh generation (and no
// other file in the folders nassella owns), Butane
// strictly, every compose file with compose-go, the Caddyfile with Caddy's adapter, the
// Terraform with OpenTofu and the real hcloud provider, and the user_data size against
// Hetzner's limit.
package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/nassella/nassella/internal/inputfile"
	"io"
	"path/filepath"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/caddy"
	"github.com/nassella/nassella/generator/render/compose"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate/caddycheck"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Options configure a validation.
type Options struct {
	// Catalog is the release the site repo is pinned to, which it loaded against.
	Catalog *catalog.Release
	// Tofu is the OpenTofu binary; empty skips the Terraform check (reported as skipped).
	Tofu string
	// Log receives one line per check as it finishes; may be nil.
	Log io.Writer
	// ForApply fails what cannot be applied (placeholders, no backup key, no state);
	// otherwise those are warnings (applicable.go).
	ForApply bool
	// LiveDNS also compares the domain's live records with the zone (dns.go), asking
	// DNSResolver (host:port; the system's when empty).
	LiveDNS     bool
	DNSResolver string
}

// Check is the outcome of one check.
type Check struct {
	Name    string
	Err     error
	Skipped string // why it did not run
	Detail  string // a figure worth showing when it passed
	Warning string // passed, with something to fix before it is applied
}

// Report is every check's outcome.
type Report struct {
	Checks []Check
}

// OK reports whether no check failed (skipped checks do not fail).
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Err != nil {
			return false
		}
	}
	return true
}

// Err returns the failures as one error, or nil.
func (r *Report) Err() error {
	var msgs []string
	for _, c := range r.Checks {
		if c.Err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: %v", c.Name, c.Err))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// UserDataLimit is Hetzner Cloud's user_data limit, the smallest of the platforms' (Nova
// takes 65535 bytes base64-encoded, docs.openstack.org nova "Provide user data to
// instances"; libvirt's fw_cfg file has no such limit). Every site keeps to it, so it can
// move to any platform.
const UserDataLimit = 32 * 1024

// SiteCheck is the name of the first check: site.yaml loads against the catalog.
const SiteCheck = "site.yaml"

// Site validates the site repo in dir, whose site.yaml the caller loaded as s against
// opt.Catalog, the release the repo is pinned to (siterepo.Open does both).
func Site(ctx context.Context, dir string, s *site.Loaded, opt Options) *Report {
	r := &Report{}
	record := r.recorder(opt.Log)
	record(Check{Name: SiteCheck, Detail: fmt.Sprintf("%d apps, catalog %s", len(s.Apps), opt.Catalog.Release)})
	record(applicableCheck(dir, s, opt.ForApply))
	record(scheduleCheck(dir, s))

	t, err := generator.Generate(s, opt.Catalog)
	if err != nil {
		record(Check{Name: "generate", Err: err})
		return r
	}
	record(upToDate(dir, t.Paths(), func(p string) []byte { f, _ := t.Get(p); return f.Data }))
	record(extraCheck(dir, t.Paths()))

	// Reads stay inside the repo and are capped: a symlink in a customer repo must not show
	// another file's contents in a diff.
	read := func(p string) ([]byte, error) { return inputfile.ReadIn(dir, filepath.FromSlash(p)) }

	record(butaneCheck(read))
	record(sizeCheck(read))
	record(composeCheck(ctx, read, s))
	caddyfile, err := read(caddy.Path)
	if err == nil {
		err = caddycheck.Check(caddy.Path, caddyfile)
	}
	record(Check{Name: "caddy adapter", Err: err})
	record(actionlintCheck(dir))
	if opt.Tofu == "" {
		record(Check{Name: "opentofu validate", Skipped: "no tofu binary: set NASSELLA_TOFU or put tofu on PATH"})
	} else {
		record(tofuCheck(ctx, dir, opt.Tofu))
	}
	if opt.LiveDNS {
		record(LiveDNS(ctx, s, opt.DNSResolver))
	}
	return r
}

// NotLoaded is the report on a site repo whose site.yaml did not load: its first check
// failed with err, and the others cannot run.
func NotLoaded(err error, log io.Writer) *Report {
	r := &Report{}
	r.recorder(log)(Check{Name: SiteCheck, Err: err})
	return r
}

// recorder returns a function that records a check and, when log is not nil, prints it.
func (r *Report) recorder(log io.Writer) func(Check) {
	return func(c Check) {
		r.Checks = append(r.Checks, c)
		if log == nil {
			return
		}
		switch {
		case c.Err != nil:
			fmt.Fprintf(log, "FAIL  %s\n%s\n", c.Name, indent(c.Err.Error()))
		case c.Skipped != "":
			fmt.Fprintf(log, "skip  %s: %s\n", c.Name, c.Skipped)
		case c.Warning != "":
			fmt.Fprintf(log, "warn  %s\n%s\n", c.Name, indent(c.Warning))
		default:
			line := "ok    " + c.Name
			if c.Detail != "" {
				line += " (" + c.Detail + ")"
			}
			fmt.Fprintln(log, line)
		}
	}
}

// upToDate compares the repo with a fresh generation: a hand edit of a generated file or a
// forgotten `nassella generate` is caught before it reaches the server.
func upToDate(dir string, paths []string, want func(string) []byte) Check {
	var stale []string
	for _, p := range paths {
		got, err := inputfile.ReadIn(dir, filepath.FromSlash(p))
		if err != nil {
			stale = append(stale, p+" (missing)")
			continue
		}
		if !bytes.Equal(got, want(p)) {
			stale = append(stale, p)
		}
	}
	if len(stale) > 0 {
		return Check{Name: "generated files", Err: fmt.Errorf("out of date: %s; run nassella generate (generated files must not be edited by hand)", strings.Join(stale, ", "))}
	}
	return Check{Name: "generated files", Detail: fmt.Sprintf("%d files up to date", len(paths))}
}

func butaneCheck(read func(string) ([]byte, error)) Check {
	c := Check{Name: "butane (strict)"}
	src, err := read(butane.ButanePath)
	if err != nil {
		c.Err = err
		return c
	}
	ign, err := butane.Translate(src)
	if err != nil {
		c.Err = err
		return c
	}
	committed, err := read(butane.IgnitionPath)
	if err != nil {
		c.Err = err
		return c
	}
	if !bytes.Equal(ign, committed) {
		c.Err = fmt.Errorf("%s is not the translation of %s; run nassella generate", butane.IgnitionPath, butane.ButanePath)
		return c
	}
	c.Detail = fmt.Sprintf("Ignition %d bytes", len(committed))
	return c
}

func sizeCheck(read func(string) ([]byte, error)) Check {
	c := Check{Name: "user_data size"}
	ign, err := read(butane.IgnitionPath)
	if err != nil {
		c.Err = err
		return c
	}
	n, err := butane.UserDataSize(ign)
	if err != nil {
		c.Err = err
		return c
	}
	if n > UserDataLimit {
		c.Err = fmt.Errorf("the server's user_data would be %d bytes, over the limit of %d (Hetzner's, which every site keeps to so it can move there); remove an app or report it to the co-op", n, UserDataLimit)
		return c
	}
	c.Detail = fmt.Sprintf("%d of %d bytes", n, UserDataLimit)
	return c
}

func composeCheck(ctx context.Context, read func(string) ([]byte, error), s *site.Loaded) Check {
	c := Check{Name: "compose-go"}
	files := []string{compose.ProxyPath}
	secrets := map[string][]string{}
	for _, a := range s.Apps {
		p := compose.AppPath(a.Name)
		files = append(files, p)
		for _, sec := range a.Spec.Secrets {
			secrets[p] = append(secrets[p], sec.Name)
		}
		// The mail relay's password, which the host puts in the secrets of the apps that
		// log in to it.
		if render.MailPassword(render.Input{Site: s}, a) {
			secrets[p] = append(secrets[p], hostcontract.MailPasswordVar)
		}
	}
	var errs []string
	for _, f := range files {
		body, err := read(f)
		if err == nil {
			err = LoadCompose(ctx, f, body, secrets[f])
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		c.Err = errors.New(strings.Join(errs, "\n"))
		return c
	}
	c.Detail = fmt.Sprintf("%d files", len(files))
	return c
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}
