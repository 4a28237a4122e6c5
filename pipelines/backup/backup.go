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

// Restic runs restic against one repository.
type Restic struct {
	Bin        string   // the restic binary; "restic" from PATH when empty
	Repository string   // e.g. s3:https://fsn1.your-objectstorage.com/acme-backups/acme
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

// Snapshots lists the repository's snapshots, oldest first.
func (r Restic) Snapshots(ctx context.Context) ([]Snapshot, error) {
	out, err := r.run(ctx, nil, "snapshots", "--json")
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
	Snapshot string    // ID or its prefix; the newest when empty
	App      string    // only this app's folder (with its dumps) and secrets; every app when empty
	Target   string    // an empty folder, e.g. a fresh data volume mounted before the apps start
	Progress io.Writer // restic's messages; may be nil
}

// Restore brings a snapshot back into opt.Target and returns the snapshot restored. The
// target must not hold the data it would overwrite, so nothing is ever mixed.
func (r Restic) Restore(ctx context.Context, opt RestoreOptions) (Snapshot, error) {
	if opt.Target == "" {
		return Snapshot{}, errors.New("no target folder: pass --target DIR (an empty folder or a freshly formatted volume)")
	}
	target, err := filepath.Abs(opt.Target)
	if err != nil {
		return Snapshot{}, err
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if len(snaps) == 0 {
		return Snapshot{}, fmt.Errorf("the repository %s has no snapshots yet: nothing to restore", r.Repository)
	}
	snap := snaps[len(snaps)-1]
	if opt.Snapshot != "" && opt.Snapshot != "latest" {
		var found []Snapshot
		for _, s := range snaps {
			if strings.HasPrefix(s.ID, opt.Snapshot) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			return Snapshot{}, fmt.Errorf("there is no snapshot %q in %s; nassella restore --list shows them", opt.Snapshot, r.Repository)
		case 1:
			snap = found[0]
		default:
			return Snapshot{}, fmt.Errorf("snapshot %q is ambiguous (%d match); give more of its ID", opt.Snapshot, len(found))
		}
	}
	check := filepath.Join(target, "apps")
	if opt.App != "" {
		check = filepath.Join(target, "apps", opt.App)
	}
	if entries, err := os.ReadDir(check); err == nil && len(entries) > 0 {
		return Snapshot{}, fmt.Errorf("%s already holds data: restore into an empty folder or volume, or move it away first", check)
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return Snapshot{}, fmt.Errorf("creating the target folder: %w", err)
	}
	if _, err := r.run(ctx, opt.Progress, hostcontract.RestoreArgs(snap.ID, opt.App, target)...); err != nil {
		return Snapshot{}, err
	}
	if opt.App != "" {
		if _, err := os.Stat(filepath.Join(target, "apps", opt.App)); err != nil {
			return Snapshot{}, fmt.Errorf("snapshot %s holds no app %q (restored nothing): is the name right? (nassella catalog list)", snap.ShortID, opt.App)
		}
	}
	return snap, nil
}
