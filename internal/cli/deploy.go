package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/pipelines/deploy"
)

// multi is a flag that may be given many times.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func deployEnv(s Streams, dir, catDir, tofu string, backend []string) (deploy.Env, error) {
	cat, err := loadCatalog(catDir)
	if err != nil {
		return deploy.Env{}, err
	}
	if tofu == "" {
		tofu = findTofu()
	}
	if tofu == "" {
		return deploy.Env{}, errors.New("OpenTofu was not found: install OpenTofu 1.10 or set NASSELLA_TOFU to its path")
	}
	return deploy.Env{Dir: dir, Tofu: tofu, Catalog: cat, BackendConfig: backend, Log: s.Err}, nil
}

func runPlan(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "plan", "[DIR] [--out FILE] [--markdown FILE] [--backend-config V]...")
	out := fs.String("out", "tfplan", "where to save the plan")
	md := fs.String("markdown", "", "also write the summary as a pull-request comment to `FILE`")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	tofu := fs.String("tofu", "", "OpenTofu binary (default: $NASSELLA_TOFU, then tofu on PATH)")
	var backend multi
	fs.Var(&backend, "backend-config", "passed to tofu init -backend-config (repeatable)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	env, err := deployEnv(s, dir, *catDir, *tofu, backend)
	if err != nil {
		return err
	}
	p, err := deploy.MakePlan(ctx, env, *out)
	if err != nil {
		return err
	}
	sum := deploy.Summarize(p)
	fmt.Fprint(s.Out, sum.Text())
	fmt.Fprintf(s.Out, "plan saved to %s (digest %s)\n", *out, p.Digest)
	if *md != "" {
		if err := os.WriteFile(*md, []byte(sum.Markdown(p)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func runApply(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "apply", "[DIR] [--plan FILE] [--expect-digest D] [flags]")
	planFile := fs.String("plan", "tfplan", "the plan made by nassella plan")
	expect := fs.String("expect-digest", "", "refuse unless the plan's digest is this reviewed one")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	tofu := fs.String("tofu", "", "OpenTofu binary (default: $NASSELLA_TOFU, then tofu on PATH)")
	timeout := fs.Duration("health-timeout", 15*time.Minute, "how long the apps have to become healthy")
	caFile := fs.String("ca-file", "", "trust this CA for the health checks instead of the system's (tests, internal CAs)")
	keyFile := fs.String("backup-key", os.Getenv("NASSELLA_BACKUP_SSH_KEY_FILE"), "private SSH key allowed to run the host's backup command")
	backupAddr := fs.String("backup-addr", "", "SSH address for the backup instead of the server's IP:22 (tests)")
	skipBackup := fs.Bool("skip-backup", false, "rebuild the server without a backup first (only when the host is broken)")
	lastGood := fs.String("last-good", "", "revision to roll back to (default: the "+deploy.LastGoodTag+" tag, then HEAD~1)")
	var backend, resolve multi
	fs.Var(&backend, "backend-config", "passed to tofu init -backend-config (repeatable)")
	fs.Var(&resolve, "resolve", "send a host's health check to another address: host=ip:port (repeatable)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	env, err := deployEnv(s, dir, *catDir, *tofu, backend)
	if err != nil {
		return err
	}
	opt := deploy.ApplyOptions{Plan: *planFile, ExpectDigest: *expect, SkipBackup: *skipBackup, LastGood: *lastGood,
		Health: health.Options{Timeout: *timeout, Progress: s.Out}}
	if len(resolve) > 0 {
		opt.Health.Resolve = map[string]string{}
		for _, r := range resolve {
			host, addr, ok := strings.Cut(r, "=")
			if !ok {
				return usageError{fmt.Sprintf("--resolve %q must be host=ip:port", r)}
			}
			opt.Health.Resolve[host] = addr
		}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		opt.Health.RootCAs = x509.NewCertPool()
		if !opt.Health.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", *caFile)
		}
	}
	if *keyFile != "" {
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		signer, err := ssh.ParsePrivateKey(key)
		if err != nil {
			return fmt.Errorf("backup key %s: %w", *keyFile, err)
		}
		opt.Backup = deploy.SSHBackup{Signer: signer, Addr: *backupAddr}
	}
	if _, err := deploy.Apply(ctx, env, opt); err != nil {
		return err
	}
	fmt.Fprintln(s.Out, "applied; every app is healthy")
	return nil
}
