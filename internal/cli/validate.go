package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/siterepo"
)

// validateOptions are nassella validate's flags.
type validateOptions struct {
	dir, catalogDir, tofu string
	noTofu, annotate      bool
	forApply              bool
	liveDNS               bool
	dnsResolver           string
}

func runValidate(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "validate", "[DIR] [--catalog DIR] [--tofu PATH] [--no-tofu] [--for-apply] [--live-dns] [--dns-resolver ADDR]")
	var opt validateOptions
	fs.StringVar(&opt.catalogDir, "catalog", "", "use the catalog in `DIR` instead of the built-in one")
	fs.StringVar(&opt.tofu, "tofu", "", "OpenTofu binary (default: $NASSELLA_TOFU, then tofu on PATH)")
	fs.BoolVar(&opt.noTofu, "no-tofu", false, "skip the OpenTofu check")
	fs.BoolVar(&opt.liveDNS, "live-dns", false, "also compare the domain's live DNS records with the zone (a whole-domain zone must keep them)")
	fs.StringVar(&opt.dnsResolver, "dns-resolver", "", "ask the resolver at `ADDR` (host:port) for --live-dns, which it turns on (default: the system's)")
	fs.BoolVar(&opt.forApply, "for-apply", os.Getenv("CI") != "", "fail what cannot be applied: the template's placeholder domain and buckets, no admin.backup_key, no state "+
		"(default on when the CI environment variable is set, as in GitHub and Forgejo Actions; otherwise these are warnings)")
	annotations := fs.String("annotations", "", "also print "+siterepo.SiteFile+" errors as CI annotations: github (GitHub and Forgejo Actions)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	opt.dir = dirArg(pos)
	if *annotations != "" && *annotations != "github" {
		return usageError{fmt.Sprintf("--annotations %q: only github is known", *annotations)}
	}
	opt.annotate = *annotations == "github"
	opt.liveDNS = opt.liveDNS || opt.dnsResolver != ""
	return validateDir(ctx, s, opt)
}

// validateDir runs every check on a site repo and prints one line per check.
func validateDir(ctx context.Context, s Streams, opt validateOptions) error {
	tofu := opt.tofu
	if tofu == "" {
		tofu = findTofu()
	}
	if tofu == "" && !opt.noTofu {
		return fmt.Errorf("OpenTofu was not found: install OpenTofu 1.10, set NASSELLA_TOFU to its path, or pass --no-tofu to skip that check")
	}
	if opt.noTofu {
		tofu = ""
	}
	fmt.Fprintf(s.Out, "validating %s\n", opt.dir)
	r := validate.Repo(ctx, opt.dir, siterepo.Options{CatalogDir: opt.catalogDir}, validate.Options{Tofu: tofu, Log: s.Out, ForApply: opt.forApply, LiveDNS: opt.liveDNS, DNSResolver: opt.dnsResolver})
	if !r.OK() {
		failed := 0
		for _, c := range r.Checks {
			if c.Err != nil {
				failed++
			}
			if opt.annotate {
				annotate(s, c.Err)
			}
		}
		return fmt.Errorf("%s is not valid: %d of %d checks failed (see above)", opt.dir, failed, len(r.Checks))
	}
	fmt.Fprintf(s.Out, "%s is valid\n", opt.dir)
	noteUnpinnedIn(s.Out, opt.dir)
	return nil
}

// annotate prints site.yaml errors as workflow commands: the forge shows each on the line
// it names.
func annotate(s Streams, err error) {
	var diags diag.List
	if !errors.As(err, &diags) {
		return
	}
	for _, d := range diags {
		fmt.Fprintf(s.Out, "::error file=%s,line=%d,col=%d::%s\n", d.File, d.Line, d.Column, escapeAnnotation(strings.TrimPrefix(d.Error(), d.File+":")))
	}
}

// escapeAnnotation escapes a message for a workflow command.
func escapeAnnotation(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
