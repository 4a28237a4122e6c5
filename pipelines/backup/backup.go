// Package backup drives restic against a site's backup repository from outside the server:
// it lists snapshots and restores a site's data volume, or one app of it, into a folder
// (a fresh volume mounted before the apps start, when recovering from a disaster or
// moving to another provider). The host backs itself up with the same restic invocations
// (internal/hostcontract); the host's record of its backups is hostcontract.Status.
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nassella/nassella/internal/hostcontract"
)

// SecretEnv are the variables restic needs from the environment: the repository password
// and the S3 keys, the same CI secrets Terraform writes to the host's outside.env.
var SecretEnv = []string{"RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

// Restic runs restic against one repository, on the snapshots of one host.
type Restic struct {
	Bin        string   // the restic binary; "restic" from PATH when empty
	Repository string   // e.g. s3:https://fsn1.your-objectstorage.com/acme-backups/acme
	Host       string   // the host whose snapshots count: the site's name (hostcontract.SnapshotFilter)
	Env        []string // the secrets (NAME=value) and anything else restic should see
	Region     string   // S3 region, when the service needs one
	CacheDir   string   // restic's cache; restic's default when empty
}

// FromEnv returns the secrets of SecretEnv from the environment, or an error naming the
// missing ones (never their values).
func FromEnv(getenv func(string) string) ([]string, error) {
	var env, missing []string
	for _, k := range SecretEnv {
		v := getenv(k)
		if v == "" {
			missing = append(missing, k)
			continue
		}
		env = append(env, k+"="+v)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s not set: export the site's backup secrets (BACKUP_PASSWORD, BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY in CI) under these names", strings.Join(missing, ", "))
	}
	return env, nil
}

func (r Restic) command(ctx context.Context, args ...string) *exec.Cmd {
	bin := r.Bin
	if bin == "" {
		bin = "restic"
	}
	var pre []string
	if r.Region != "" {
		pre = append(pre, "--option=s3.region="+r.Region)
	}
	if r.CacheDir != "" {
		pre = append(pre, "--cache-dir", r.CacheDir)
	}
	cmd := exec.CommandContext(ctx, bin, append(pre, args...)...)
	env := []string{"RESTIC_REPOSITORY=" + r.Repository}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "XDG_CACHE_HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = append(env, r.Env...)
	return cmd
}

// run runs restic and returns its standard output; a failure carries restic's own words.
func (r Restic) run(ctx context.Context, progress io.Writer, args ...string) ([]byte, error) {
	cmd := r.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&errb, progress)
	}
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("restic is not installed: install it (apt-get install restic) or pass --restic PATH")
		}
		return nil, fmt.Errorf("restic %s on %s: %v: %s", args[0], r.Repository, err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Snapshot is one backup in the repository.
type Snapshot struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags"`
}

// Snapshots lists the host's snapshots (tagged hostcontract.BackupTag), oldest first.
func (r Restic) Snapshots(ctx context.Context) ([]Snapshot, error) {
	if r.Host == "" {
		return nil, errors.New("no host to list the snapshots of: nassella only takes one site's snapshots")
	}
	return r.snapshots(ctx, hostcontract.SnapshotFilter(r.Host)...)
}

func (r Restic) snapshots(ctx context.Context, filter ...string) ([]Snapshot, error) {
	out, err := r.run(ctx, nil, append([]string{"snapshots", "--json"}, filter...)...)
	if err != nil {
		return nil, err
	}
	var snaps []Snapshot
	if err := json.Unmarshal(out, &snaps); err != nil {
		return nil, fmt.Errorf("reading restic's snapshot list: %w", err)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	return snaps, nil
}

// RestoreOptions say what to restore where.
type RestoreOptions struct {
	Snapshot string    // ID or its prefix; the host's newest when empty
	App      string    // only this app's folder (with its dumps) and secrets; every app when empty
	Target   string    // an empty folder, e.g. a fresh data volume mounted before the apps start
	Progress io.Writer // restic's messages; may be nil
}

// Restore brings a snapshot of r.Host back into opt.Target and returns the snapshot
// restored. The target must not hold the data it would overwrite, so nothing is ever
// mixed, and must not lead restic out of it through a symlink.
func (r Restic) Restore(ctx context.Context, opt RestoreOptions) (Snapshot, error) {
	if opt.Target == "" {
		return Snapshot{}, errors.New("no target folder: pass --target DIR (an empty folder or a freshly formatted volume)")
	}
	target, err := filepath.Abs(opt.Target)
	if err != nil {
		return Snapshot{}, err
	}
	snap, err := r.pick(ctx, opt.Snapshot)
	if err != nil {
		return Snapshot{}, err
	}
	if err := checkTarget(target, opt.App); err != nil {
		return Snapshot{}, err
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return Snapshot{}, fmt.Errorf("creating the target folder: %w", err)
	}
	if _, err := r.run(ctx, opt.Progress, hostcontract.RestoreArgs(r.Host, snap.ID, opt.App, target)...); err != nil {
		return Snapshot{}, err
	}
	if opt.App != "" {
		if _, err := os.Stat(filepath.Join(target, "apps", opt.App)); err != nil {
			return Snapshot{}, fmt.Errorf("snapshot %s holds no app %q (restored nothing): is the name right? (nassella catalog list)", snap.ShortID, opt.App)
		}
	}
	return snap, nil
}

// pick finds the snapshot to restore: the host's newest, or the one id names, which must
// be one of the host's backups too (restic's own filter leaves IDs alone).
func (r Restic) pick(ctx context.Context, id string) (Snapshot, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if id == "" || id == "latest" {
		if len(snaps) == 0 {
			return Snapshot{}, fmt.Errorf("the repository %s has no snapshots of host %s (tag %s) yet: nothing to restore; nassella restore --list shows them", r.Repository, r.Host, hostcontract.BackupTag)
		}
		return snaps[len(snaps)-1], nil
	}
	found := byPrefix(snaps, id)
	if len(found) == 0 {
		all, err := r.snapshots(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		if other := byPrefix(all, id); len(other) == 1 {
			o := other[0]
			if o.Hostname == r.Host {
				return Snapshot{}, fmt.Errorf("snapshot %s in %s has no tag %s (tags %v): it is not a backup the server of %s made; restore it with restic itself if you must", o.ShortID, r.Repository, hostcontract.BackupTag, o.Tags, r.Host)
			}
			return Snapshot{}, fmt.Errorf("snapshot %s in %s is a backup of host %s, not of %s: refusing to restore another site's data; pass --host %s --force-other-site if that is what you mean", o.ShortID, r.Repository, o.Hostname, r.Host, o.Hostname)
		}
		return Snapshot{}, fmt.Errorf("there is no snapshot %q of host %s in %s; nassella restore --list shows them", id, r.Host, r.Repository)
	}
	if len(found) > 1 {
		return Snapshot{}, fmt.Errorf("snapshot %q is ambiguous (%d match); give more of its ID", id, len(found))
	}
	return found[0], nil
}

func byPrefix(snaps []Snapshot, id string) []Snapshot {
	var found []Snapshot
	for _, s := range snaps {
		if strings.HasPrefix(s.ID, id) {
			found = append(found, s)
		}
	}
	return found
}
