package bootstrap

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/generator"
)

// LabelRun labels the temporary server and SSH key of a run; a later run deletes
// whatever carries it.
const LabelRun = "nassella-bootstrap"

const (
	stepToken     = "Hetzner token"
	stepLeftovers = "temporary servers of earlier runs"
	stepSnapshot  = "Flatcar snapshot"
)

func (r *runner) hcloud() *hcloud.Client {
	return hcloud.NewClient(
		hcloud.WithEndpoint(r.cfg.Hetzner.Endpoint),
		hcloud.WithToken(r.cfg.Hetzner.Token),
		hcloud.WithApplication("nassella-bootstrap", generator.Version),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(r.cfg.Hetzner.PollInterval)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{BackoffFunc: hcloud.ConstantBackoff(r.cfg.Hetzner.PollInterval), MaxRetries: 3}),
	)
}

// checkToken checks that the token is known and may write. A read-only token can read
// everything, so the check is a harmless write: an SSH key with an invalid public key,
// which a read-write token gets refused as invalid input (422) and a read-only token
// as forbidden (403). Nothing is created either way.
func (r *runner) checkToken(ctx context.Context) (*hcloud.Client, bool) {
	if r.cfg.Hetzner.Token == "" {
		r.report(Step{Name: stepToken, Status: Failed, Detail: "no token given",
			Fix: "create a read-write API token in the Hetzner Cloud console (project → Security → API tokens → Generate, permission Read & Write) and give it as HCLOUD_TOKEN"})
		return nil, false
	}
	hc := r.hcloud()
	if _, _, err := hc.Location.List(ctx, hcloud.LocationListOpts{ListOpts: hcloud.ListOpts{PerPage: 1}}); err != nil {
		r.report(tokenFailure(err))
		return nil, false
	}
	key, _, err := hc.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{
		Name:      "nassella-bootstrap-permission-check",
		PublicKey: "not-a-key (nassella bootstrap checks the token may write; this is refused)",
		Labels:    map[string]string{LabelRun: "permission-check"},
	})
	switch {
	case err == nil:
		// Not expected: clean it up at once.
		_, _ = hc.SSHKey.Delete(context.WithoutCancel(ctx), key)
	case hcloud.IsError(err, hcloud.ErrorCodeInvalidInput):
	default:
		r.report(tokenFailure(err))
		return nil, false
	}
	r.report(Step{Name: stepToken, Status: AlreadyThere, Detail: "the token may read and write the project"})
	return hc, true
}

func tokenFailure(err error) Step {
	s := Step{Name: stepToken, Status: Failed}
	switch {
	case hcloud.IsError(err, hcloud.ErrorCodeUnauthorized):
		s.Detail = "the Hetzner Cloud API does not know this token (401 unauthorized): it is wrong, was deleted, or belongs to no project"
		s.Fix = "copy the token again from the Hetzner Cloud console (project → Security → API tokens); tokens are shown only once, so generate a new one (Read & Write) if it is lost"
	case hcloud.IsError(err, hcloud.ErrorCodeForbidden):
		s.Detail = "the token is read-only (403 forbidden on a write)"
		s.Fix = "generate a new token with permission Read & Write in the Hetzner Cloud console (project → Security → API tokens) and give it as HCLOUD_TOKEN; delete the read-only one"
	default:
		s.Detail = "the Hetzner Cloud API did not answer as expected: " + err.Error()
		s.Fix = "check the network and https://status.hetzner.com, then run again"
	}
	return s
}

// cleanLeftovers deletes the temporary servers and SSH keys of earlier runs that
// crashed or were killed before they cleaned up: whatever carries the run label.
func (r *runner) cleanLeftovers(ctx context.Context, hc *hcloud.Client) {
	n, err := cleanup(ctx, hc, LabelRun)
	switch {
	case err != nil:
		r.report(Step{Name: stepLeftovers, Status: Failed, Detail: err.Error(),
			Fix: "delete the servers labelled " + LabelRun + " in the Hetzner Cloud console (they are billed while they exist), then run again"})
	case n == 0:
		r.report(Step{Name: stepLeftovers, Status: AlreadyThere, Detail: "none left over"})
	default:
		r.report(Step{Name: stepLeftovers, Status: Done, Detail: fmt.Sprintf("deleted %d left over by an earlier run", n)})
	}
}

// cleanup deletes the servers and SSH keys matching the label selector and waits for
// the deletions; it returns how many servers it deleted.
func cleanup(ctx context.Context, hc *hcloud.Client, selector string) (int, error) {
	servers, err := hc.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: selector}})
	if err != nil {
		return 0, fmt.Errorf("listing temporary servers: %w", err)
	}
	var errs []error
	deleted := 0
	for _, s := range servers {
		if err := deleteServer(ctx, hc, s); err != nil {
			errs = append(errs, fmt.Errorf("deleting temporary server %s (%d): %w", s.Name, s.ID, err))
			continue
		}
		deleted++
	}
	keys, err := hc.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{LabelSelector: selector}})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing temporary SSH keys: %w", err))
	}
	for _, k := range keys {
		if _, err := hc.SSHKey.Delete(ctx, k); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
			errs = append(errs, fmt.Errorf("deleting temporary SSH key %s: %w", k.Name, err))
		}
	}
	return deleted, errors.Join(errs...)
}

// deleteServer deletes a server, waiting while an action holds it locked.
func deleteServer(ctx context.Context, hc *hcloud.Client, s *hcloud.Server) error {
	for {
		res, _, err := hc.Server.DeleteWithResult(ctx, s)
		switch {
		case err == nil:
			return hc.Action.WaitFor(ctx, res.Action)
		case hcloud.IsError(err, hcloud.ErrorCodeNotFound):
			return nil
		case hcloud.IsError(err, hcloud.ErrorCodeLocked, hcloud.ErrorCodeConflict):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		default:
			return err
		}
	}
}

func (r *runner) snapshotSelector() string {
	return "os=flatcar,flatcar-channel=" + r.cfg.Flatcar.Channel
}

// findSnapshot returns the newest available snapshot the site's Terraform would pick
// that is at least the catalog's min_version, and one being created, if any.
func (r *runner) findSnapshot(ctx context.Context, hc *hcloud.Client) (ready, creating *hcloud.Image, older []string, err error) {
	images, err := hc.Image.AllWithOpts(ctx, hcloud.ImageListOpts{
		ListOpts:     hcloud.ListOpts{LabelSelector: r.snapshotSelector()},
		Type:         []hcloud.ImageType{hcloud.ImageTypeSnapshot},
		Architecture: []hcloud.Architecture{hcloud.ArchitectureX86},
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing snapshots: %w", err)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Created.After(images[j].Created) })
	for _, im := range images {
		v := im.Labels["flatcar-version"]
		if compareVersions(v, r.cfg.Flatcar.MinVersion) < 0 {
			older = append(older, fmt.Sprintf("%d (version %q)", im.ID, v))
			continue
		}
		switch im.Status {
		case hcloud.ImageStatusAvailable:
			if ready == nil {
				ready = im
			}
		case hcloud.ImageStatusCreating:
			if creating == nil {
				creating = im
			}
		}
	}
	return ready, creating, older, nil
}

// ensureSnapshot makes sure the project has the Flatcar snapshot the catalog release
// names, building it when missing.
func (r *runner) ensureSnapshot(ctx context.Context, hc *hcloud.Client) {
	fc := r.cfg.Flatcar
	ready, creating, older, err := r.findSnapshot(ctx, hc)
	if err != nil {
		r.report(Step{Name: stepSnapshot, Status: Failed, Detail: err.Error(), Fix: "run again; if it persists, check https://status.hetzner.com"})
		return
	}
	if ready == nil && creating != nil {
		// An earlier run asked for it and stopped before it was ready: wait for it.
		if err := waitImage(ctx, hc, creating, r.cfg.Hetzner.PollInterval, r.cfg.Hetzner.Timeout); err != nil {
			r.report(Step{Name: stepSnapshot, Status: Failed, Detail: fmt.Sprintf("snapshot %d, started by an earlier run, did not become available: %v", creating.ID, err), Fix: "run again later; delete the snapshot in the console if it stays in creating"})
			return
		}
		ready = creating
	}
	if ready != nil {
		r.report(Step{Name: stepSnapshot, Status: AlreadyThere, Detail: fmt.Sprintf("snapshot %d, Flatcar %s %s, labelled %s", ready.ID, fc.Channel, ready.Labels["flatcar-version"], r.snapshotSelector())})
		return
	}
	why := "the project has no snapshot labelled " + r.snapshotSelector()
	if len(older) > 0 {
		why = fmt.Sprintf("the project's snapshots are older than Flatcar %s: %s", fc.MinVersion, strings.Join(older, ", "))
	}
	src, err := r.prepareImage(ctx)
	if err != nil {
		r.report(Step{Name: stepSnapshot, Status: Failed, Detail: why + "; " + err.Error(), Fix: imageFix(fc.Channel, fc.MinVersion)})
		return
	}
	defer src.close()
	img, err := r.buildSnapshot(ctx, hc, src)
	if err != nil {
		r.report(Step{Name: stepSnapshot, Status: Failed, Detail: "building it: " + err.Error(),
			Fix: "run again: the temporary server was deleted and the next run starts over"})
		return
	}
	r.report(Step{Name: stepSnapshot, Status: Done, Detail: fmt.Sprintf("built snapshot %d from Flatcar %s %s (%s written), labelled %s", img.ID, fc.Channel, src.version, humanBytes(src.written), r.snapshotSelector())})
}

func imageFix(channel, minVersion string) string {
	return fmt.Sprintf("give the Flatcar Hetzner image (%s channel, version %s or newer) with --flatcar-image FILE or --flatcar-image-url URL, "+
		"its checksum from the release's DIGESTS with --flatcar-sha512 HEX, and its version with --flatcar-version V; "+
		"it is flatcar_production_hetzner_image.bin.bz2 at https://%s.release.flatcar-linux.net/amd64-usr/<version>/", channel, minVersion, channel)
}

func waitImage(ctx context.Context, hc *hcloud.Client, im *hcloud.Image, every, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		got, _, err := hc.Image.GetByID(ctx, im.ID)
		if err != nil {
			return err
		}
		if got == nil {
			return fmt.Errorf("it was deleted")
		}
		if got.Status == hcloud.ImageStatusAvailable {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// buildSnapshot is Hetzner's route to a custom image: a temporary server booted into
// the rescue system, the image written over its disk, the server powered off and
// snapshotted, the server deleted. The server and the run's SSH key are deleted
// whatever happens, with a fresh context when ctx was cancelled.
func (r *runner) buildSnapshot(ctx context.Context, hc *hcloud.Client, src *imageSource) (img *hcloud.Image, err error) {
	h := r.cfg.Hetzner
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	selector := LabelRun + "=" + h.RunID
	labels := map[string]string{LabelRun: h.RunID}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer ccancel()
		if _, cerr := cleanup(cctx, hc, selector); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up (delete what is labelled %s in the console; it is billed): %w", selector, cerr))
		}
	}()

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " nassella-bootstrap-" + h.RunID
	key, _, err := hc.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "nassella-bootstrap-" + h.RunID, PublicKey: pub, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("registering the run's SSH key: %w", err)
	}

	if h.ServerType == "" {
		if h.ServerType, err = buildServerType(ctx, hc, h.Location, time.Now()); err != nil {
			return nil, err
		}
	}
	start := false
	res, _, err := hc.Server.Create(ctx, hcloud.ServerCreateOpts{
		Name:             "nassella-bootstrap-" + h.RunID,
		ServerType:       &hcloud.ServerType{Name: h.ServerType},
		Image:            &hcloud.Image{Name: h.BaseImage},
		Location:         &hcloud.Location{Name: h.Location},
		SSHKeys:          []*hcloud.SSHKey{key},
		StartAfterCreate: &start,
		Labels:           labels,
		PublicNet:        &hcloud.ServerCreatePublicNet{EnableIPv4: true, EnableIPv6: true},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the temporary server (%s in %s): %w", h.ServerType, h.Location, err)
	}
	server := res.Server
	if f := r.cfg.Hooks.AfterServerCreated; f != nil {
		f(server.ID)
	}
	if err := hc.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
		return nil, fmt.Errorf("waiting for the temporary server: %w", err)
	}

	rescue, _, err := hc.Server.EnableRescue(ctx, server, hcloud.ServerEnableRescueOpts{Type: hcloud.ServerRescueTypeLinux64, SSHKeys: []*hcloud.SSHKey{key}})
	if err != nil {
		return nil, fmt.Errorf("enabling the rescue system: %w", err)
	}
	if err := hc.Action.WaitFor(ctx, rescue.Action); err != nil {
		return nil, fmt.Errorf("enabling the rescue system: %w", err)
	}
	server, _, err = hc.Server.GetByID(ctx, server.ID)
	if err != nil || server == nil {
		return nil, fmt.Errorf("reading the temporary server: %v", err)
	}
	boot := hc.Server.Poweron
	if server.Status == hcloud.ServerStatusRunning {
		boot = hc.Server.Reset
	}
	a, _, err := boot(ctx, server)
	if err == nil {
		err = hc.Action.WaitFor(ctx, a)
	}
	if err != nil {
		return nil, fmt.Errorf("booting the rescue system: %w", err)
	}

	addr := r.cfg.Image.RescueSSHAddr
	if addr == "" {
		if server.PublicNet.IPv4.IsUnspecified() || server.PublicNet.IPv4.IP == nil {
			return nil, fmt.Errorf("the temporary server has no public IPv4 to reach its rescue system")
		}
		addr = server.PublicNet.IPv4.IP.String() + ":22"
	}
	if f := r.cfg.Hooks.BeforeRescueSSH; f != nil {
		f(server.ID)
	}
	if err := r.writeImage(ctx, addr, signer, src); err != nil {
		return nil, err
	}

	a, _, err = hc.Server.Poweroff(ctx, server)
	if err == nil {
		err = hc.Action.WaitFor(ctx, a)
	}
	if err != nil {
		return nil, fmt.Errorf("powering the temporary server off: %w", err)
	}
	desc := fmt.Sprintf("Flatcar Container Linux %s %s (nassella bootstrap)", r.cfg.Flatcar.Channel, src.version)
	created, _, err := hc.Server.CreateImage(ctx, server, &hcloud.ServerCreateImageOpts{
		Type:        hcloud.ImageTypeSnapshot,
		Description: &desc,
		Labels: map[string]string{
			"os":              "flatcar",
			"flatcar-channel": r.cfg.Flatcar.Channel,
			"flatcar-version": src.version,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the snapshot: %w", err)
	}
	if err := hc.Action.WaitFor(ctx, created.Action); err != nil {
		return nil, fmt.Errorf("waiting for the snapshot %d: %w", created.Image.ID, err)
	}
	return created.Image, nil
}

// compareVersions compares dotted versions numerically; a missing or malformed
// version is older than any.
func compareVersions(a, b string) int {
	pa, oka := parseVersion(a)
	pb, okb := parseVersion(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func parseVersion(v string) ([]int, bool) {
	if v == "" {
		return nil, false
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
