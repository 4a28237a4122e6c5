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
	image := fs.String("image", "", "the Flatcar QEMU image (flatcar_production_qemu_image.img, or .img.bz2): a `path or URL`")
	sha512 := fs.String("image-sha512", "", "the image's SHA512 from its .DIGESTS file (`hex`); required for a URL")
	sha256 := fs.String("image-sha256", "", "the image's SHA256 (`hex`), instead of --image-sha512")
	catDir := fs.String("catalog", "", "test the catalog release in `DIR` (default: the built-in one)")
	prevDir := fs.String("previous-catalog", "", "the release sites run now, in `DIR`, for the upgrade scenario (skipped without)")
	apps := fs.String("apps", "", "comma-separated `apps` to put on the test site (default: every app of the catalog)")
	scenarios := fs.String("scenarios", "", "comma-separated `scenarios` to run: "+strings.Join(vmtest.AllScenarios, ", ")+" (default: all)")
	out := fs.String("out", "vmtest-out", "`folder` for vmtest.json and the failure output")
	accel := fs.String("accel", "auto", "`kvm`, tcg, or auto: KVM when it works here")
	memory := fs.Int("memory", 0, "VM memory in `MB` (default: what the apps need, at least 2048)")
	cpus := fs.Int("cpus", 2, "VM `CPUs`")
	osDisk := fs.Int("os-disk-gb", 40, "grow the VM's boot disk, where container images go, to `GB` (needs qemu-img); 0 keeps the image's size")
	timeout := fs.Duration("timeout", 3*time.Hour, "limit for the whole run")
	bootTimeout := fs.Duration("boot-timeout", 10*time.Minute, "limit for one boot, until SSH answers")
	healthTimeout := fs.Duration("health-timeout", 20*time.Minute, "limit until every app is healthy (images are pulled meanwhile)")
	cache := fs.String("cache", vmtest.DefaultCacheDir(), "`folder` where downloaded images are kept")
	qemu := fs.String("qemu", "", "the QEMU `binary` (default: NASSELLA_QEMU, then qemu-system-x86_64 on PATH)")
	backupEndpoint := fs.String("backup-endpoint", "", "`https URL` of an S3 service the VM can reach, for the backup-restore scenario (skipped without); credentials from BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY and BACKUP_PASSWORD")
	backupBucket := fs.String("backup-bucket", "", "the `bucket` for --backup-endpoint; each run uses its own folder in it")
	backupRegion := fs.String("backup-region", "", "the S3 `region`, where the service needs one")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *image == "" {
		return usageError{"--image is required: the path or URL of Flatcar's QEMU image (see pipelines/README.md)"}
	}
	if *accel == "auto" {
		*accel = ""
	} else if *accel != "kvm" && *accel != "tcg" {
		return usageError{fmt.Sprintf("--accel %q: use kvm, tcg or auto", *accel)}
	}
	var backup *vmtest.BackupTarget
	if *backupEndpoint != "" || *backupBucket != "" {
		backup = &vmtest.BackupTarget{Endpoint: *backupEndpoint, Bucket: *backupBucket, Region: *backupRegion,
			AccessKeyID: os.Getenv("BACKUP_S3_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("BACKUP_S3_SECRET_ACCESS_KEY"),
			Password: os.Getenv("BACKUP_PASSWORD")}
		if backup.Endpoint == "" || backup.Bucket == "" || backup.AccessKeyID == "" || backup.SecretAccessKey == "" || backup.Password == "" {
			return usageError{"the backup target needs --backup-endpoint, --backup-bucket and the environment variables BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY and BACKUP_PASSWORD"}
		}
	}
	cat, err := loadCatalog(*catDir)
	if err != nil {
		return err
	}
	var prev *catalog.Release
	if *prevDir != "" {
		if prev, err = loadCatalog(*prevDir); err != nil {
			return fmt.Errorf("previous %w", err)
		}
	}

	// Interrupting the run still powers off every VM and removes its files.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	img, err := vmtest.ImageSource{Ref: *image, SHA512: *sha512, SHA256: *sha256, CacheDir: *cache, Log: s.Err}.Fetch(ctx)
	if err != nil {
		return err
	}
	rep, err := vmtest.Run(ctx, vmtest.Options{
		Catalog: cat, Previous: prev, Apps: commaList(*apps), Scenarios: commaList(*scenarios), OutDir: *out,
		Backup: backup, Image: img, ImageName: filepath.Base(*image), QEMU: *qemu, Accel: *accel,
		MemoryMB: *memory, CPUs: *cpus, OSDiskGB: *osDisk, BootTimeout: *bootTimeout, HealthTimeout: *healthTimeout,
		Log: s.Err,
	})
	if err != nil {
		return err
	}
	rep.Summary(s.Out)
	evidence := filepath.Join(*out, vmtest.EvidenceFile)
	if rep.Result == vmtest.Fail {
		return fmt.Errorf("vmtest of catalog %s failed: see %s and the failure output beside it", rep.Release, evidence)
	}
	fmt.Fprintf(s.Out, "evidence: %s\n", evidence)
	return nil
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
