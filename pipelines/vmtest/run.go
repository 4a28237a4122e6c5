// Package vmtest is the release test of a catalog: it renders a site for a set of apps
// with the generator, boots it in a throwaway QEMU VM from a Flatcar image (Ignition
// through fw_cfg, a separate data disk, ports forwarded on 127.0.0.1), and runs the
// scenarios a release must survive before it is offered to sites: install, upgrade from
// the previous release with data, and backup → restore onto a blank disk. The outcome is
// a Report, saved as vmtest.json beside the failure output of any failed scenario.
package vmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Scenario names, in the order they run.
const (
	ScenarioInstall       = "install"
	ScenarioUpgrade       = "upgrade"
	ScenarioBackupRestore = "backup-restore"
)

// AllScenarios lists every scenario.
var AllScenarios = []string{ScenarioInstall, ScenarioUpgrade, ScenarioBackupRestore}

// Host commands of the backup scenario: what CI runs before a rebuild, and a whole-volume
// restore. A release whose host lacks them has the scenario skipped ("not available in
// this release"), never passed.
const (
	BackupCommand  = hostcontract.BackupNowScript
	RestoreCommand = hostcontract.BackupScript + " restore"
)

// Options configure a run.
type Options struct {
	Catalog  *catalog.Release // the release under test
	Previous *catalog.Release // the release sites run now; nil skips the upgrade scenario
	Apps     []string         // apps to put on the test site; every app of Catalog when empty

	Scenarios []string // which scenarios; all when empty
	OutDir    string   // vmtest.json and failure output go here

	// Backup is the bucket of the backup → restore scenario; the scenario is skipped
	// without one.
	Backup *BackupTarget

	Image     string // the Flatcar QEMU image (verified, unpacked)
	ImageName string // how the report names the image (file name, version)
	QEMU      string // "" finds it
	Accel     string // "" probes
	MemoryMB  int    // 0: what the apps need, at least 2048
	CPUs      int    // 0: 2
	DiskMB    int    // size of the data disk; 0: 10240
	OSDiskGB  int    // grow the boot disk to this size (needs qemu-img); 0 keeps the image's

	BootTimeout   time.Duration // boot until SSH answers; 0: 10 min
	HealthTimeout time.Duration // until every app is healthy; 0: 20 min
	StopTimeout   time.Duration // clean power off; 0: 3 min

	Log io.Writer // progress; may be nil

	boot booter // tests replace the VMs
	// kit boots a kernel and initramfs instead of Image: the harness's own tests.
	kit *Machine
}

// host is one booted test server, as the scenarios use it.
type host interface {
	// Healthy waits until every app answers its health check through Caddy.
	Healthy(ctx context.Context) error
	// Run runs a shell command on the host over SSH.
	Run(ctx context.Context, cmd string) (string, error)
	// Shutdown powers the host off cleanly.
	Shutdown(ctx context.Context) error
	// Collect writes failure output (serial log, journal, containers) into dir.
	Collect(ctx context.Context, dir string)
	// Close ends the VM and removes its temporary files.
	Close() error
}

type booter interface {
	// Boot starts a host running apps from cat with disk as its data volume, and returns
	// once it answers SSH. A host that started but did not come up is returned with the
	// error, for its failure output; the caller closes it either way.
	Boot(ctx context.Context, cat *catalog.Release, apps []string, disk string) (host, error)
	Accel() string
}

// errSkip marks a scenario that cannot run, with the reason.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// Run runs the scenarios and writes dir/vmtest.json. The error is for a run that could not
// start or write its evidence; failed scenarios are in the report (Result "fail").
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.Catalog == nil {
		return nil, errors.New("vmtest: no catalog release to test")
	}
	if opt.OutDir == "" {
		return nil, errors.New("vmtest: no output folder")
	}
	apps := opt.Apps
	if len(apps) == 0 {
		apps = opt.Catalog.Names()
	}
	apps = append([]string(nil), apps...)
	sort.Strings(apps)
	for _, a := range apps {
		if _, ok := opt.Catalog.Apps[a]; !ok {
			return nil, fmt.Errorf("vmtest: there is no app %q in catalog %s (apps: %s)", a, opt.Catalog.Release, strings.Join(opt.Catalog.Names(), ", "))
		}
	}
	scenarios := opt.Scenarios
	if len(scenarios) == 0 {
		scenarios = AllScenarios
	}
	for _, s := range scenarios {
		if !contains(AllScenarios, s) {
			return nil, fmt.Errorf("vmtest: unknown scenario %q; use %s", s, strings.Join(AllScenarios, ", "))
		}
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	work, err := os.MkdirTemp("", "nassella-vmtest-")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(work)
	if opt.boot == nil {
		b, err := newQEMUBooter(ctx, opt)
		if err != nil {
			return nil, err
		}
		opt.boot = b
	}

	rep := &Report{Release: opt.Catalog.Release, Apps: apps, Accel: opt.boot.Accel(),
		Images: testedImages(opt.Catalog, apps), Started: time.Now().UTC()}
	rep.Runner = fmt.Sprintf("nassella vmtest %s, %s, image %s", generator.Version, rep.Accel, dfltStr(opt.ImageName, "(test kit)"))
	if hn, err := os.Hostname(); err == nil {
		rep.Runner += ", on " + hn
	}
	if ci := ciRunURL(); ci != "" {
		rep.Runner += ", " + ci
	}
	if opt.Previous != nil {
		rep.Previous = opt.Previous.Release
	}
	fmt.Fprintf(opt.Log, "vmtest: catalog %s, apps %s, %s\n", rep.Release, strings.Join(apps, ", "), rep.Accel)
	for _, name := range AllScenarios {
		if !contains(scenarios, name) {
			continue
		}
		r := &scenarioRun{opt: opt, apps: apps, work: filepath.Join(work, name), sc: Scenario{Name: name, Steps: []Step{}}}
		r.run(ctx)
		rep.Scenarios = append(rep.Scenarios, r.sc)
	}
	rep.Finished = time.Now().UTC()
	rep.Seconds = seconds(rep.Finished.Sub(rep.Started))
	rep.Result = result(rep.Scenarios)
	if err := rep.Write(opt.OutDir); err != nil {
		return rep, fmt.Errorf("vmtest: writing the evidence: %w", err)
	}
	return rep, nil
}

// scenarioRun is one scenario in progress: its steps, its hosts and its disks.
type scenarioRun struct {
	opt   Options
	apps  []string
	work  string
	sc    Scenario
	hosts []namedHost
}

type namedHost struct {
	name string
	h    host
}

func (r *scenarioRun) logf(format string, args ...any) {
	fmt.Fprintf(r.opt.Log, "[%s] %s\n", r.sc.Name, fmt.Sprintf(format, args...))
}

func (r *scenarioRun) run(ctx context.Context) {
	start := time.Now()
	r.logf("start")
	var err error
	if mkErr := os.MkdirAll(r.work, 0o755); mkErr != nil {
		err = mkErr
	} else {
		err = r.body(ctx)
	}
	var skip errSkip
	switch {
	case err == nil:
		r.sc.Result, r.sc.Detail = Pass, "every step passed"
	case errors.As(err, &skip):
		r.sc.Result, r.sc.Detail = Skip, skip.reason
	default:
		r.sc.Result, r.sc.Detail = Fail, err.Error()
		r.collect(ctx)
	}
	for _, nh := range r.hosts {
		if cerr := nh.h.Close(); cerr != nil {
			r.logf("closing %s: %v", nh.name, cerr)
		}
	}
	r.sc.Seconds = seconds(time.Since(start))
	r.logf("%s in %.0fs: %s", r.sc.Result, r.sc.Seconds, firstLine(r.sc.Detail))
}

func (r *scenarioRun) body(ctx context.Context) error {
	switch r.sc.Name {
	case ScenarioInstall:
		return r.install(ctx)
	case ScenarioUpgrade:
		return r.upgrade(ctx)
	case ScenarioBackupRestore:
		return r.backupRestore(ctx)
	}
	return fmt.Errorf("unknown scenario %q", r.sc.Name)
}

// collect gathers the failure output of every host of the scenario.
func (r *scenarioRun) collect(ctx context.Context) {
	dir := filepath.Join(r.opt.OutDir, "artifacts", r.sc.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.logf("failure output: %v", err)
		return
	}
	// Collecting must work after the run's deadline too: give it its own short one.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, nh := range r.hosts {
		d := filepath.Join(dir, strings.ReplaceAll(nh.name, " ", "-"))
		if err := os.MkdirAll(d, 0o755); err == nil {
			nh.h.Collect(cctx, d)
		}
	}
	r.sc.Artifacts = filepath.ToSlash(filepath.Join("artifacts", r.sc.Name))
	r.logf("failure output in %s", dir)
}

// step runs one timed step; a skip or failure ends the scenario.
func (r *scenarioRun) step(ctx context.Context, name string, timeout time.Duration, f func(ctx context.Context) (string, error)) error {
	start := time.Now()
	r.logf("%s", name)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	detail, err := f(sctx)
	cancel()
	st := Step{Name: name, Result: Pass, Seconds: seconds(time.Since(start)), Detail: detail}
	var skip errSkip
	switch {
	case errors.As(err, &skip):
		st.Result, st.Detail = Skip, skip.reason
	case err != nil:
		st.Result, st.Detail = Fail, err.Error()
		err = fmt.Errorf("%s: %w", name, err)
	}
	r.sc.Steps = append(r.sc.Steps, st)
	r.logf("  %s %s (%.0fs)", name, st.Result, st.Seconds)
	return err
}

// disk creates a blank data disk for the scenario.
func (r *scenarioRun) disk(name string) (string, error) {
	size := int64(r.opt.DiskMB) << 20
	if size == 0 {
		size = 10 << 30
	}
	p := filepath.Join(r.work, name+".raw")
	return p, CreateDisk(p, size)
}

// boot is the step that starts a host; the host is closed when the scenario ends.
func (r *scenarioRun) boot(ctx context.Context, name string, cat *catalog.Release, apps []string, disk string) (host, error) {
	var h host
	err := r.step(ctx, fmt.Sprintf("boot %s (catalog %s)", name, cat.Release), dflt(r.opt.BootTimeout, 10*time.Minute),
		func(ctx context.Context) (string, error) {
			var err error
			h, err = r.opt.boot.Boot(ctx, cat, apps, disk)
			if h != nil { // also a host that failed to boot, for its failure output
				r.hosts = append(r.hosts, namedHost{name, h})
			}
			if err != nil {
				return "", err
			}
			return "SSH answers", nil
		})
	return h, err
}

func (r *scenarioRun) healthy(ctx context.Context, h host, apps int, what string) error {
	return r.step(ctx, "health "+what, dflt(r.opt.HealthTimeout, 20*time.Minute), func(ctx context.Context) (string, error) {
		return fmt.Sprintf("%d apps healthy through Caddy over HTTPS", apps), h.Healthy(ctx)
	})
}

func (r *scenarioRun) shutdown(ctx context.Context, h host, what string) error {
	return r.step(ctx, "power off "+what, dflt(r.opt.StopTimeout, 3*time.Minute), func(ctx context.Context) (string, error) {
		return "clean", h.Shutdown(ctx)
	})
}

const cmdTimeout = 5 * time.Minute

// bootHealthy boots a host with these apps of a catalog release on a data disk of that
// name, made fresh, and waits until every app answers. It returns the host and the disk.
func (r *scenarioRun) bootHealthy(ctx context.Context, name string, cat *catalog.Release, apps []string, diskName, when string) (host, string, error) {
	disk, err := r.disk(diskName)
	if err != nil {
		return nil, "", err
	}
	h, err := r.boot(ctx, name, cat, apps, disk)
	if err != nil {
		return nil, "", err
	}
	return h, disk, r.healthy(ctx, h, len(apps), when)
}

func (r *scenarioRun) install(ctx context.Context) error {
	h, _, err := r.bootHealthy(ctx, "new", r.opt.Catalog, r.apps, "data", "after install")
	if err != nil {
		return err
	}
	return r.shutdown(ctx, h, "new")
}

func (r *scenarioRun) upgrade(ctx context.Context) error {
	prev := r.opt.Previous
	if prev == nil {
		return errSkip{"no previous catalog release was given (--previous-catalog): nothing to upgrade from"}
	}
	var apps []string
	for _, a := range r.apps {
		if _, ok := prev.Apps[a]; ok {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return errSkip{fmt.Sprintf("none of the apps is in the previous release %s: nothing to upgrade", prev.Release)}
	}
	old, disk, err := r.bootHealthy(ctx, "previous", prev, apps, "data", "on the previous release")
	if err != nil {
		return err
	}
	before, err := r.seed(ctx, old, apps)
	if err != nil {
		return err
	}
	if err := r.shutdown(ctx, old, "previous"); err != nil {
		return err
	}
	// The new release gets all its apps; those new in it start on a fresh folder.
	h, err := r.boot(ctx, "new on the same disk", r.opt.Catalog, r.apps, disk)
	if err != nil {
		return err
	}
	if err := r.checkData(ctx, h, apps, before, "kept"); err != nil {
		return err
	}
	if err := r.healthy(ctx, h, len(r.apps), "after the upgrade"); err != nil {
		return err
	}
	return r.shutdown(ctx, h, "new")
}

func (r *scenarioRun) backupRestore(ctx context.Context) error {
	if r.opt.Backup == nil {
		return errSkip{"no backup target was given (--backup-endpoint and --backup-bucket, credentials in the environment): the VM needs a bucket it can reach"}
	}
	h, _, err := r.bootHealthy(ctx, "new", r.opt.Catalog, r.apps, "data", "before the backup")
	if err != nil {
		return err
	}
	before, err := r.seed(ctx, h, r.apps)
	if err != nil {
		return err
	}
	if err := r.hostCommand(ctx, h, "backup ("+BackupCommand+")", BackupCommand); err != nil {
		return err
	}
	if err := r.shutdown(ctx, h, "backed-up"); err != nil {
		return err
	}
	fresh, _, err := r.bootHealthy(ctx, "fresh on a blank disk", r.opt.Catalog, r.apps, "blank", "fresh, before the restore")
	if err != nil {
		return err
	}
	if err := r.hostCommand(ctx, fresh, "restore ("+RestoreCommand+")", RestoreCommand); err != nil {
		return err
	}
	if err := r.checkData(ctx, fresh, r.apps, before, "restored"); err != nil {
		return err
	}
	if err := r.healthy(ctx, fresh, len(r.apps), "after the restore"); err != nil {
		return err
	}
	return r.shutdown(ctx, fresh, "restored")
}

// hostCommand runs one of the host's nassella commands as root; a host that does not
// have it skips the scenario: "not available in this release".
func (r *scenarioRun) hostCommand(ctx context.Context, h host, name, command string) error {
	bin, _, _ := strings.Cut(command, " ")
	return r.step(ctx, name, dflt(r.opt.HealthTimeout, 20*time.Minute), func(ctx context.Context) (string, error) {
		if _, err := h.Run(ctx, "test -x "+bin); err != nil {
			if ctx.Err() != nil {
				return "", err
			}
			return "", errSkip{fmt.Sprintf("not available in this release: the host has no %s", bin)}
		}
		out, err := h.Run(ctx, "sudo "+command)
		return lastLines(out, 3), err
	})
}

// seed writes a token into each app's data folder and returns the data fingerprint.
func (r *scenarioRun) seed(ctx context.Context, h host, apps []string) (string, error) {
	var fp string
	err := r.step(ctx, "seed data", cmdTimeout, func(ctx context.Context) (string, error) {
		tok := make([]byte, 16)
		rand.Read(tok)
		if _, err := h.Run(ctx, seedCommand(hex.EncodeToString(tok), apps)); err != nil {
			return "", err
		}
		var err error
		fp, err = h.Run(ctx, fingerprintCommand(apps))
		if err == nil && strings.Contains(fp, "missing") {
			err = fmt.Errorf("the data just seeded is not all there:\n%s", fp)
		}
		return fmt.Sprintf("%d seed files, secrets and Caddy's CA recorded", len(apps)), err
	})
	return fp, err
}

// checkData compares the data fingerprint with the one taken before: every line of it
// must still be there (a new release may add secrets, never change or drop one).
func (r *scenarioRun) checkData(ctx context.Context, h host, apps []string, before, how string) error {
	return r.step(ctx, "data "+how, cmdTimeout, func(ctx context.Context) (string, error) {
		after, err := h.Run(ctx, fingerprintCommand(apps))
		if err != nil {
			return "", err
		}
		have := map[string]bool{}
		for _, l := range strings.Split(after, "\n") {
			have[l] = true
		}
		var lost []string
		for _, l := range strings.Split(strings.TrimSpace(before), "\n") {
			if !have[l] {
				lost = append(lost, l)
			}
		}
		if len(lost) > 0 {
			return "", fmt.Errorf("data not %s:\n  %s\nnow:\n%s", how, strings.Join(lost, "\n  "), after)
		}
		return fmt.Sprintf("%d data checks hold", len(strings.Split(strings.TrimSpace(before), "\n"))), nil
	})
}

// seedCommand writes token into every app's data folder on the volume.
func seedCommand(token string, apps []string) string {
	return fmt.Sprintf(`sudo sh -ec 'for a in %s; do echo %s >"%s/$a/.vmtest-seed"; done; sync'`,
		strings.Join(apps, " "), token, hostcontract.AppsData)
}

// fingerprintCommand prints what must survive an upgrade or a restore: each app's seed,
// a hash of every secret (one line each, so added secrets do not count as a change) and
// Caddy's CA root.
func fingerprintCommand(apps []string) string {
	return fmt.Sprintf(`sudo sh -c 'cd %s || exit 1
for a in %s; do echo "seed $a: $(cat "apps/$a/.vmtest-seed" 2>/dev/null || echo missing)"; done
for f in secrets/*.env; do
  [ -f "$f" ] || { echo "secrets: missing"; continue; }
  while IFS= read -r l; do echo "$f ${l%%%%=*}: $(printf %%s "$l" | sha256sum | cut -c1-16)"; done <"$f"
done
f=%s
if [ -f "$f" ]; then echo "caddy root: $(sha256sum <"$f" | cut -c1-16)"; else echo "caddy root: missing"; fi'`,
		hostcontract.DataDir, strings.Join(apps, " "), strings.TrimPrefix(CaddyRoot, hostcontract.DataDir+"/"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dflt(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func dfltStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ciRunURL names the CI run, on GitHub or Forgejo Actions.
func ciRunURL() string {
	server, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	return server + "/" + repo + "/actions/runs/" + id
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
