package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/diag"
)

func runValidate(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "validate", "[DIR] [--catalog DIR] [--tofu PATH] [--no-tofu]")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	tofu := fs.String("tofu", "", "OpenTofu binary (default: $NASSELLA_TOFU, then tofu on PATH)")
	noTofu := fs.Bool("no-tofu", false, "skip the OpenTofu check")
	annotations := fs.String("annotations", "", "also print site.yaml errors as CI annotations: github (GitHub and Forgejo Actions)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	cat, err := loadCatalog(*catDir)
	if err != nil {
		return err
	}
	if *annotations != "" && *annotations != "github" {
		return usageError{fmt.Sprintf("--annotations %q: only github is known", *annotations)}
	}
	err = validateDir(ctx, s, dir, cat, *tofu, *noTofu, *annotations == "github")
	return err
}

// validateDir runs every check on a site repo and prints one line per check.
func validateDir(ctx context.Context, s Streams, dir string, cat *catalog.Release, tofu string, noTofu, annotate bool) error {
	if tofu == "" {
		tofu = findTofu()
	}
	if tofu == "" && !noTofu {
		return fmt.Errorf("OpenTofu was not found: install OpenTofu 1.10, set NASSELLA_TOFU to its path, or pass --no-tofu to skip that check")
	}
	if noTofu {
		tofu = ""
	}
	fmt.Fprintf(s.Out, "validating %s\n", dir)
	r := validate.Dir(ctx, dir, validate.Options{Catalog: cat, Tofu: tofu, Log: s.Out})
	if !r.OK() {
		failed := 0
		for _, c := range r.Checks {
			if c.Err != nil {
				failed++
			}
			var diags diag.List
			if annotate && errors.As(c.Err, &diags) {
				// Workflow commands: the forge shows each on the line of site.yaml it names.
				for _, d := range diags {
					fmt.Fprintf(s.Out, "::error file=%s,line=%d,col=%d::%s\n", d.File, d.Line, d.Column, escapeAnnotation(strings.TrimPrefix(d.Error(), d.File+":")))
				}
			}
		}
		return fmt.Errorf("%s is not valid: %d of %d checks failed (see above)", dir, failed, len(r.Checks))
	}
	fmt.Fprintf(s.Out, "%s is valid\n", dir)
	return nil
}

// escapeAnnotation escapes a message for a workflow command.
func escapeAnnotation(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
