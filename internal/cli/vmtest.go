package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/pipelines/vmtest"
)

func runVMTest(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "vmtest", "--image PATH|URL [--image-sha512 HEX] [--catalog DIR] [--previous-catalog DIR] [--apps A,B] [--out DIR]")
	src := vmtest.ImageSource{Log: s.Err}
	opt := vmtest.Options{Log: s.Err}
	fs.StringVar(&src.Ref, "image", "", "the Flatcar QEMU image (flatcar_production_qemu_image.img, or .img.bz2): a `path or URL`")
	fs.StringVar(&src.SHA512, "image-sha512", "", "the image's SHA512 from its .DIGESTS file (`hex`); required for a URL")
	fs.StringVar(&src.SHA256, "image-sha256", "", "the image's SHA256 (`hex`), instead of --image-sha512")
	fs.StringVar(&src.CacheDir, "cache", vmtest.DefaultCacheDir(), "`folder` where downloaded images are kept")
	catDir := fs.String("catalog", "", "test the catalog release in `DIR` (default: the built-in one)")
	prevDir := fs.String("previous-catalog", "", "the release sites run now, in `DIR`, for the upgrade scenario (skipped without)")
	apps := fs.String("apps", "", "comma-separated `apps` to put on the test site (default: every app of the catalog)")
	scenarios := fs.String("scenarios", "", "comma-separated `scenarios` to run: "+strings.Join(vmtest.AllScenarios, ", ")+" (default: all)")
	fs.StringVar(&opt.OutDir, "out", "vmtest-out", "`folder` for vmtest.json and the failure output")
	fs.StringVar(&opt.Accel, "accel", "auto", "`kvm`, tcg, or auto: KVM when it works here")
	fs.IntVar(&opt.MemoryMB, "memory", 0, "VM memory in `MB` (default: what the apps need, at least 2048)")
	fs.IntVar(&opt.CPUs, "cpus", 2, "VM `CPUs`")
	fs.IntVar(&opt.OSDiskGB, "os-disk-gb", 40, "grow the VM's boot disk, where container images go, to `GB` (needs qemu-img); 0 keeps the image's size")
	timeout := fs.Duration("timeout", 3*time.Hour, "limit for the whole run")
	fs.DurationVar(&opt.BootTimeout, "boot-timeout", 10*time.Minute, "limit for one boot, until SSH answers")
	fs.DurationVar(&opt.HealthTimeout, "health-timeout", 20*time.Minute, "limit until every app is healthy (images are pulled meanwhile)")
	fs.StringVar(&opt.QEMU, "qemu", "", "the QEMU `binary` (default: NASSELLA_QEMU, then qemu-system-x86_64 on PATH)")
	var b vmtest.BackupTarget
	fs.StringVar(&b.Endpoint, "backup-endpoint", "", "`https URL` of an S3 service the VM can reach, for the backup-restore scenario (skipped without); credentials from BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY and BACKUP_PASSWORD")
	fs.StringVar(&b.Bucket, "backup-bucket", "", "the `bucket` for --backup-endpoint; each run uses its own folder in it")
	fs.StringVar(&b.Region, "backup-region", "", "the S3 `region`, where the service needs one")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := vmtestFlags(&src, &opt, b); err != nil {
		return err
	}
	opt.Apps, opt.Scenarios, opt.ImageName = commaList(*apps), commaList(*scenarios), filepath.Base(src.Ref)
	var err error
	if opt.Catalog, opt.Previous, err = vmtestCatalogs(*catDir, *prevDir); err != nil {
		return err
	}
	// Interrupting the run still powers off every VM and removes its files.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if opt.Image, err = src.Fetch(ctx); err != nil {
		return err
	}
	rep, err := vmtest.Run(ctx, opt)
	if err != nil {
		return err
	}
	rep.Summary(s.Out)
	evidence := filepath.Join(opt.OutDir, vmtest.EvidenceFile)
	if rep.Result == vmtest.Fail {
		return fmt.Errorf("vmtest of catalog %s failed: see %s and the failure output beside it", rep.Release, evidence)
	}
	fmt.Fprintf(s.Out, "evidence: %s\n", evidence)
	return nil
}

// vmtestFlags checks the flags that go together and sets the backup target from b and the
// environment's secrets.
func vmtestFlags(src *vmtest.ImageSource, opt *vmtest.Options, b vmtest.BackupTarget) error {
	if src.Ref == "" {
		return usageError{"--image is required: the path or URL of Flatcar's QEMU image (see pipelines/README.md)"}
	}
	if opt.Accel == "auto" {
		opt.Accel = ""
	} else if opt.Accel != "kvm" && opt.Accel != "tcg" {
		return usageError{fmt.Sprintf("--accel %q: use kvm, tcg or auto", opt.Accel)}
	}
	if b.Endpoint == "" && b.Bucket == "" {
		return nil
	}
	b.AccessKeyID, b.SecretAccessKey, b.Password = os.Getenv("BACKUP_S3_ACCESS_KEY_ID"), os.Getenv("BACKUP_S3_SECRET_ACCESS_KEY"), os.Getenv("BACKUP_PASSWORD")
	if b.Endpoint == "" || b.Bucket == "" || b.AccessKeyID == "" || b.SecretAccessKey == "" || b.Password == "" {
		return usageError{"the backup target needs --backup-endpoint, --backup-bucket and the environment variables BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY and BACKUP_PASSWORD"}
	}
	opt.Backup = &b
	return nil
}

// vmtestCatalogs loads the release to test and, when given, the one sites run now.
func vmtestCatalogs(dir, prevDir string) (cat, prev *catalog.Release, err error) {
	if cat, err = loadCatalog(dir); err != nil || prevDir == "" {
		return cat, nil, err
	}
	if prev, err = loadCatalog(prevDir); err != nil {
		return nil, nil, fmt.Errorf("previous %w", err)
	}
	return cat, prev, nil
}

// commaList reads a comma-separated list; empty means none.
func commaList(list string) []string {
	var out []string
	for _, x := range strings.Split(list, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
