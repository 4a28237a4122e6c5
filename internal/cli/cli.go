// Package cli is the nassella command line. Run takes its streams and arguments and
// returns the exit code, so the whole CLI runs inside tests (see cmd/nassella's scripts).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/cmdline"
	"github.com/nassella/nassella/internal/siterepo"
)

// Streams are where a command reads and writes.
type Streams = cmdline.Streams

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// UsageMistake makes cmdline.ExitCode answer 2.
func (usageError) UsageMistake() {}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, s Streams, args []string) error
}

func commands() []command {
	return []command{
		{"init", "make a new site repo: init DIR", runInit},
		{"bootstrap", "run the onboarding checklist for a new site: Hetzner project, buckets, secrets, first pull request: bootstrap [DIR]", runBootstrap},
		{"generate", "write the site repo's files from site.yaml", runGenerate},
		{"validate", "check a site repo with the real tools", runValidate},
		{"plan", "plan a site repo's change and say what it does: plan [DIR]", runPlan},
		{"apply", "apply a reviewed plan, check the apps, roll back on failure: apply [DIR]", runApply},
		{"restore", "bring a site's data back from a backup into a folder: restore [DIR] --target F [--app A]", runRestore},
		{"logs", "print the server's logs, every app's or one's: logs [APP] [--since W] [--follow] [--json]", runLogs},
		{"credentials", "print how to sign in to each app the first time (its administrator and password, from the server): credentials [APP] [--json]", runCredentials},
		{"console", "the web console where owners add apps and merge changes: console --forge URL --client-id ID [--listen 127.0.0.1:8470]", runConsole},
		{"doctor", "check a running site from outside and say what to do: doctor [DIR]", runDoctor},
		{"review", "for the site workflows: the reviewed plan digest, the plan comment, the doctor issue, the failed-apply issue, the pull request's generated files: review digest|plan-comment|doctor-issue|apply-failed|regenerate", runReview},
		{"demo", "generate and validate a built-in example site: demo [DIR]", runDemo},
		{"update", "open catalog update pull requests in the fleet's site repos: update --fleet F --release R", runUpdate},
		{"catalog", "the catalog: list | show APP; for maintainers: check-updates | lock | release | promote", runCatalog},
		{"schema", "print the JSON Schema of site.yaml", runSchema},
		{"vmtest", "boot a catalog release in throwaway VMs and test it: vmtest --image PATH|URL", runVMTest},
		{"version", "print nassella's version", runVersion},
	}
}

// Run runs the CLI with args (without the program name) and returns the exit code.
func Run(ctx context.Context, s Streams, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.Out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		return cmdline.ExitCode(s, "nassella "+c.name, c.run(ctx, s, args[1:]))
	}
	fmt.Fprintf(s.Err, "nassella: unknown command %q; run nassella help\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "nassella: self-hosting for anyone. Usage: nassella COMMAND [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun nassella COMMAND -h for a command's flags.")
}

// flags returns a flag set that reports errors instead of exiting.
func flags(s Streams, name, args string) *flag.FlagSet {
	return cmdline.Flags(s, "nassella "+name, args)
}

// parse parses flags and returns the positional arguments, which may come before or
// after the flags.
func parse(fs *flag.FlagSet, args []string, maxPositional int) ([]string, error) {
	return cmdline.Parse(fs, args, maxPositional)
}

// dirArg is the site repo a command was given, or the current folder.
func dirArg(pos []string) string {
	if len(pos) == 1 {
		return pos[0]
	}
	return "."
}

// loadCatalog returns the built-in catalog, or the one in dir.
func loadCatalog(dir string) (*catalog.Release, error) { return siterepo.LoadCatalog(dir) }

// findTofu locates OpenTofu: NASSELLA_TOFU, then tofu on PATH.
func findTofu() string {
	if p := os.Getenv("NASSELLA_TOFU"); p != "" {
		return p
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		return p
	}
	return ""
}

func runVersion(_ context.Context, s Streams, args []string) error {
	if len(args) > 0 {
		return usageError{"version takes no arguments"}
	}
	fmt.Fprintf(s.Out, "nassella %s (catalog %s)\n", generator.Version, catalog.Embedded().Release)
	return nil
}

func runCatalog(ctx context.Context, s Streams, args []string) error {
	if len(args) > 0 && catalogOps[args[0]] != nil {
		return catalogOps[args[0]](ctx, s, args[1:])
	}
	fs := flags(s, "catalog", "list | show APP [--catalog DIR]")
	dir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	pos, err := parse(fs, args, 2)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(*dir)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		printCatalog(s.Out, cat)
		return nil
	case len(pos) == 2 && pos[0] == "show":
		return printApp(s.Out, cat, pos[1])
	}
	return usageError{"use: nassella catalog list, nassella catalog show APP, or (maintainers) catalog check-updates, lock, release, promote"}
}

func printCatalog(w io.Writer, cat *catalog.Release) {
	fmt.Fprintf(w, "catalog %s (%s)\n", cat.Release, cat.Channel)
	for _, n := range cat.Names() {
		a := cat.Apps[n]
		fmt.Fprintf(w, "  %-15s %-10s %5d MB  %s\n", n, a.Version, a.MemoryMB, a.Summary)
	}
}

func printApp(w io.Writer, cat *catalog.Release, name string) error {
	a, ok := cat.Apps[name]
	if !ok {
		msg := fmt.Sprintf("there is no app %q in catalog %s", name, cat.Release)
		if c := closest(name, cat.Names()); c != "" {
			msg += fmt.Sprintf("; did you mean %q?", c)
		}
		return errors.New(msg)
	}
	fmt.Fprintf(w, "%s %s: %s\n", a.Title, a.Version, a.Summary)
	fmt.Fprintf(w, "homepage:  %s\nchangelog: %s\nsubdomain: %s\nmemory:    %d MB\nhealth:    GET %s → %d\n",
		a.Homepage, a.Changelog, a.Subdomain, a.MemoryMB, a.Health.Path, a.Health.Status)
	fmt.Fprintln(w, "images:")
	for _, n := range a.ServiceNames() {
		img := a.Services[n].Image
		pin := "not pinned by digest yet"
		if img.Digest != "" {
			pin = "pinned"
		}
		fmt.Fprintf(w, "  %-16s %s (%s)\n", n, img.Image+":"+img.Tag, pin)
	}
	if len(a.Secrets) > 0 {
		var names []string
		for _, sec := range a.Secrets {
			names = append(names, sec.Name)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "secrets generated on the server: %s\n", strings.Join(names, ", "))
	}
	return nil
}

func runSchema(_ context.Context, s Streams, args []string) error {
	if len(args) > 0 {
		return usageError{"schema takes no arguments"}
	}
	data, err := schema()
	if err != nil {
		return err
	}
	_, err = s.Out.Write(data)
	return err
}
