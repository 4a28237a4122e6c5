package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/pipelines/deploy"
)

// multi is a flag that may be given many times.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// resolveFlag collects --resolve host=ip:port.
type resolveFlag map[string]string

func (r resolveFlag) String() string { return "" }
func (r resolveFlag) Set(v string) error {
	host, addr, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("%q must be host=ip:port", v)
	}
	r[host] = addr
	return nil
}

// deployFlags are the flags plan and apply share.
type deployFlags struct {
	catalogDir, tofu string
	backend          multi
	hostKey          hostKeyFlag
}

func (d *deployFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&d.catalogDir, "catalog", "", "use the catalog in `DIR` instead of the built-in one")
	fs.StringVar(&d.tofu, "tofu", "", "OpenTofu binary (default: $NASSELLA_TOFU, then tofu on PATH)")
	fs.Var(&d.backend, "backend-config", "passed to tofu init -backend-config (repeatable)")
	d.hostKey.add(fs)
}

func (d deployFlags) env(s Streams, dir string) (deploy.Env, error) {
	tofu := d.tofu
	if tofu == "" {
		tofu = findTofu()
	}
	if tofu == "" {
		return deploy.Env{}, errors.New("OpenTofu was not found: install OpenTofu 1.10 or set NASSELLA_TOFU to its path")
	}
	hostKey, err := d.hostKey.key()
	if err != nil {
		return deploy.Env{}, err
	}
	return deploy.Env{Dir: dir, Tofu: tofu, CatalogDir: d.catalogDir, BackendConfig: d.backend, Log: s.Err, CI: deploy.InCI(os.Getenv), HostKey: hostKey}, nil
}

// libvirtKey writes the CI secret LIBVIRT_SSH_KEY, the key that logs in to a libvirt
// site's machine, to a private file for the libvirt provider (it takes a key file, the URI's
// keyfile: site-template/terraform/libvirt/versions.tf) and points
// TF_VAR_libvirt_ssh_key_file at it. The returned func removes it. Nothing to do without
// the secret, or when the variable is set already.
func libvirtKey() (func(), error) {
	key := os.Getenv("LIBVIRT_SSH_KEY")
	if key == "" || os.Getenv("TF_VAR_libvirt_ssh_key_file") != "" {
		return func() {}, nil
	}
	f, err := os.CreateTemp("", "nassella-libvirt-key-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("writing LIBVIRT_SSH_KEY to a file: %w", err)
	}
	done := func() { os.Remove(f.Name()) }
	if _, err := f.WriteString(strings.TrimSpace(key) + "\n"); err != nil {
		f.Close()
		done()
		return nil, fmt.Errorf("writing LIBVIRT_SSH_KEY to a file: %w", err)
	}
	if err := f.Close(); err != nil {
		done()
		return nil, err
	}
	os.Setenv("TF_VAR_libvirt_ssh_key_file", f.Name())
	return func() { os.Unsetenv("TF_VAR_libvirt_ssh_key_file"); done() }, nil
}

func runPlan(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "plan", "[DIR] [--out FILE] [--markdown FILE] [--backend-config V]...")
	out := fs.String("out", "tfplan", "where to save the plan")
	md := fs.String("markdown", "", "also write the summary as a pull-request comment to `FILE`")
	allow := fs.Bool("allow-unverified", false, "plan even though the catalog release has images without a digest or the compose sysext without its hash (a test project only; the plan comment says so)")
	var d deployFlags
	d.add(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	env, err := d.env(s, dirArg(pos))
	if err != nil {
		return err
	}
	env.AllowUnverified = *allow
	cleanup, err := libvirtKey()
	if err != nil {
		return err
	}
	defer cleanup()
	p, err := deploy.MakePlan(ctx, env, *out)
	if err != nil {
		return err
	}
	sum := deploy.Summarize(p)
	fmt.Fprint(s.Out, sum.Text())
	fmt.Fprintf(s.Out, "plan saved to %s (digest %s)\n", *out, p.Digest)
	if *md != "" {
		return os.WriteFile(*md, []byte(sum.Markdown(p)), 0o644)
	}
	return nil
}

func runApply(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "apply", "[DIR] [--plan FILE] [--expect-digest D | --no-pr] [--commit SHA --forge K --api URL] [flags]")
	opt := deploy.ApplyOptions{Health: health.Options{Progress: s.Out}}
	fs.StringVar(&opt.Plan, "plan", "tfplan", "the plan made by nassella plan")
	fs.StringVar(&opt.ExpectDigest, "expect-digest", "", "refuse unless the plan's digest is this reviewed one (nassella review digest); an empty one is refused")
	fs.BoolVar(&opt.NoPR, "no-pr", false, "the commit came without a pull request (a direct push): there is no reviewed digest to check")
	fs.DurationVar(&opt.Health.Timeout, "health-timeout", 15*time.Minute, "how long the apps have to become healthy")
	fs.StringVar(&opt.CAFile, "ca-file", "", "trust this CA for the health checks instead of the system's (tests, internal CAs)")
	fs.StringVar(&opt.BackupKeyFile, "backup-key", os.Getenv("NASSELLA_BACKUP_SSH_KEY_FILE"), "private SSH key allowed to run the host's backup command")
	fs.StringVar(&opt.BackupAddr, "backup-addr", "", "SSH address for the backup instead of the server's IP:22 (tests)")
	fs.BoolVar(&opt.SkipBackup, "skip-backup", false, "rebuild the server without a backup first (only when the host is broken)")
	fs.StringVar(&opt.LastGood, "last-good", "", "revision to roll back to (default: the "+deploy.LastGoodTag+" tag, then HEAD~1)")
	resolve := resolveFlag{}
	fs.Var(resolve, "resolve", "send a host's health check to another address: host=ip:port (repeatable)")
	var d deployFlags
	d.add(fs)
	var m mergeFlags
	m.add(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(resolve) > 0 {
		opt.Health.Resolve = resolve
	}
	// Giving either flag, as the workflows do, makes the review check mandatory: an
	// --expect-digest "" from a missing plan comment no longer passes as "nothing to check".
	fs.Visit(func(f *flag.Flag) {
		opt.RequireReview = opt.RequireReview || f.Name == "expect-digest" || f.Name == "no-pr"
	})
	if err := opt.CheckReview(); err != nil {
		return err
	}
	env, err := d.env(s, dirArg(pos))
	if err != nil {
		return err
	}
	if opt.Merge, err = m.merge(ctx); err != nil {
		return err
	}
	cleanup, err := libvirtKey()
	if err != nil {
		return err
	}
	defer cleanup()
	out, err := deploy.Apply(ctx, env, opt)
	if err != nil {
		return err
	}
	if out.Waiting != "" {
		fmt.Fprintln(s.Out, out.Waiting)
		return nil
	}
	fmt.Fprintln(s.Out, "applied; every app is healthy")
	return nil
}
