package rehearsal_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/registry"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// upgraded is the app the next release moves to its next major: its upgrades entry lets
// only the very version the catalog pins move to 3 (from: 2.20.15, upstream's rule).
const upgraded = "paperless-ngx"

// majorUpgrade takes the next catalog release, in which upgraded moves to its next major,
// the way a site's server takes it: the release changes the server's Ignition, so apply
// replaces the server (terraform_data.server_setup and replace_triggered_by,
// site-template/terraform/shared/ignition.tf), and the new server boots the new compose
// files on the same data volume. Afterwards the app runs the new release's images, every
// app keeps its data marks, secrets and claim marker, the claim runs nothing again and
// Caddy keeps its certificates.
func (h *composeHost) majorUpgrade(ctx context.Context, roots *x509.CertPool) {
	t := h.t
	t.Helper()
	next, major := nextRelease(ctx, t, h.cat, upgraded)
	t.Logf("catalog %s → %s: %s", h.cat.Release, next.Release, major.Title())
	checkMove(t, h.site, h.cat, next, major)

	client := httpsClient("127.0.0.1:443", roots)
	targets := h.site.Targets()
	marks := map[string]string{}
	for _, tg := range targets {
		marks[tg.App] = h.checkRoute(ctx, client, tg)
	}
	secrets, certs, claims := h.secrets(), h.tree(vmtest.CaddyCertificates), h.tree(hostcontract.ClaimsDir)
	marker, _ := h.hostPath(hostcontract.ClaimsDir + "/" + upgraded)
	claimed, err := os.Stat(marker)
	if err != nil {
		t.Fatalf("%s has no claim marker before the upgrade: %v", upgraded, err)
	}

	start := time.Now()
	old := h.images
	apps := h.site.Site.AppNames()
	h.loadImages(ctx, next, apps)
	h.shutdown(ctx)
	// The new server has none of the old release's images: remove those it does not use,
	// so nothing can start from them.
	for _, ref := range old {
		if !slices.Contains(h.images, ref) {
			h.run(ctx, "docker image rm "+ref)
		}
	}
	h.newRootDisk()
	ign := h.site.Ignition
	h.install(next, apps)
	if bytes.Equal(ign, h.site.Ignition) {
		t.Fatalf("catalog %s leaves the server's Ignition as it was: apply would not replace the server", next.Release)
	}
	h.bootHealthy(ctx, roots, targets, "on the new server")
	t.Logf("major upgrade, the new images to every app healthy on the new server: %s", time.Since(start).Round(100*time.Millisecond))

	want := map[string]string{}
	for sn, s := range next.Apps[upgraded].Services {
		want[sn] = s.Image.Ref()
	}
	if got := h.composeImages(ctx, upgraded); !maps.Equal(got, want) {
		t.Errorf("%s runs %v, want the new release's %v", upgraded, got, want)
	}
	for _, tg := range targets {
		if m := h.checkRoute(ctx, client, tg); m != marks[tg.App] {
			t.Errorf("%s: its data mark changed over the upgrade (%s, was %s)", tg.App, m, marks[tg.App])
		}
	}
	if !equalMaps(h.secrets(), secrets) {
		t.Error("the apps' secrets changed over the upgrade")
	}
	if !equalMaps(h.tree(hostcontract.ClaimsDir), claims) {
		t.Error("the claim markers changed over the upgrade")
	}
	if after, err := os.Stat(marker); err != nil || !after.ModTime().Equal(claimed.ModTime()) {
		t.Errorf("%s's claim marker was written again over the upgrade (%v)", upgraded, err)
	}
	if !equalMaps(h.tree(vmtest.CaddyCertificates), certs) {
		t.Error("Caddy issued certificates again on the new server")
	}
}

// nextRelease is the catalog release after cur in which app moves to its next major as
// nassella catalog check-updates proposes it: catalogops.CheckUpdates finds the major,
// and its proposal's edits (the tags of the services that move, the version, the
// changelog) are applied to a copy of cur's files, as on the proposal's branch; the copy
// is numbered as the next release and loaded with the catalog's own checks.
func nextRelease(ctx context.Context, t *testing.T, cur *catalog.Release, app string) (*catalog.Release, catalogops.Update) {
	t.Helper()
	// cur's files are the catalog folder the binary embeds; loaded, they must be cur.
	src := os.DirFS(filepath.Join("..", "..", "catalog"))
	if got, err := catalog.Load(src); err != nil || !reflect.DeepEqual(got, cur) {
		t.Fatalf("the catalog folder is not the release the host runs (%v)", err)
	}
	names, err := fs.Glob(src, "apps/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	for _, name := range append(names, "release.yaml") {
		data, err := fs.ReadFile(src, name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: data}
	}

	var major *catalogops.Update
	for _, u := range catalogops.CheckUpdates(ctx, upstreamOf(t, cur.Apps[app]), cur, []string{app}) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if u.Major {
			major = &u
		}
	}
	if major == nil || major.NewMajor == 0 || major.Upgrade == nil {
		t.Fatalf("check-updates proposes no major upgrade of %s with its upgrades entry: %+v", app, major)
	}
	edits := catalogops.ProposalFor(*major).Edits
	edits["release.yaml"] = map[string]string{"release": releaseAfter(t, cur.Release)}
	for name, values := range edits {
		f := files[name]
		if f == nil {
			t.Fatalf("the proposal edits %s, which the catalog does not have", name)
		}
		if f.Data, err = catalogops.SetScalars(name, f.Data, values); err != nil {
			t.Fatal(err)
		}
	}
	next, err := catalog.Load(files)
	if err != nil {
		t.Fatalf("the catalog with %s's major upgrade: %v", app, err)
	}
	if a := next.Apps[app]; a.Version != major.ToVersion || a.Changelog != major.Changelog || cur.Apps[app].Version != major.FromVersion {
		t.Fatalf("%s is at %s (%s) in the next release and %s in this one, want %s → %s",
			app, a.Version, a.Changelog, cur.Apps[app].Version, major.FromVersion, major.ToVersion)
	}
	return next, *major
}

// upstream is a registry as an app's entry recorded upstream (checked): each of its images
// has the tag the catalog pins, and its own image the newest release upstream showed too.
// It gives no digests: the stand-ins are built by tag (internal/testenv/standin), as a
// release is before `nassella catalog lock` pins it.
type upstream map[string][]string // image → tags

func upstreamOf(t *testing.T, a *catalog.App) upstream {
	t.Helper()
	u := upstream{}
	for _, s := range a.Services {
		u[s.Image.Image] = append(u[s.Image.Image], s.Image.Tag)
	}
	// upgraded's image is tagged with the version itself (its checked.source says so).
	own := a.Services[a.HTTP.Service].Image
	if _, _, ok := own.Versioning.Match(a.Checked.Version); !ok {
		t.Fatalf("%s: checked.version %s is not a tag of %s", a.Name, a.Checked.Version, own.Image)
	}
	u[own.Image] = append(u[own.Image], a.Checked.Version)
	return u
}

func (u upstream) Tags(_ context.Context, image string) ([]string, error) {
	if tags, ok := u[image]; ok {
		return tags, nil
	}
	return nil, fmt.Errorf("%s is not one of the app's images", image)
}

func (u upstream) Resolve(context.Context, string, string) (registry.Descriptor, error) {
	return registry.Descriptor{}, nil
}

// releaseAfter is the next number of a release YYYY.MM.N in its month.
func releaseAfter(t *testing.T, r string) string {
	t.Helper()
	i := strings.LastIndex(r, ".")
	n, err := strconv.Atoi(r[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("catalog release %q is not YYYY.MM.N", r)
	}
	return r[:i+1] + strconv.Itoa(n+1)
}

// checkMove opens the site's repo, generated with cur, with next as nassella generate
// --update-catalog does (internal/siterepo): the move is allowed. The same check refuses a
// site whose app is older than the version the major needs first.
func checkMove(t *testing.T, ts *vmtest.TestSite, cur, next *catalog.Release, major catalogops.Update) {
	t.Helper()
	tr, err := generator.Generate(ts.Site, cur)
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := tr.Get(generator.LockPath)
	dir := t.TempDir()
	for name, data := range map[string][]byte{siterepo.SiteFile: ts.SiteYAML, generator.LockPath: lock.Data} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := siterepo.Open(dir, siterepo.Options{Catalog: next, MoveCatalog: true})
	if err != nil || !r.Moves() {
		t.Fatalf("the site cannot move to catalog %s: %v", next.Release, err)
	}

	a := cur.Apps[major.App]
	from := semver.MustParse(major.Upgrade.From)
	if from.Patch() == 0 {
		t.Fatalf("%s: pick a version older than %s by hand", major.App, from)
	}
	older := fmt.Sprintf("%d.%d.%d", from.Major(), from.Minor(), from.Patch()-1)
	images := maps.Clone(r.Lock.Images)
	images[path.Join(a.Name, a.HTTP.Service)] = a.Services[a.HTTP.Service].Image.Image + ":" + older
	var refused *catalog.UpgradeError
	if errs := next.CheckUpgrades(images, r.Site.AppNames()); len(errs) != 1 || !errors.As(errs[0], &refused) {
		t.Errorf("a site with %s %s moves to %s: %v, want it refused", a.Name, older, major.ToVersion, errs)
	}
}

// composeImages are the images the containers of app's compose project were created
// with, by service (Compose's labels, docker/compose pkg/api/labels.go).
func (h *composeHost) composeImages(ctx context.Context, app string) map[string]string {
	h.t.Helper()
	out := h.run(ctx, `docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}}' `+
		`$(docker ps --quiet --all --filter label=com.docker.compose.project=`+app+`)`)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if service, image, ok := strings.Cut(l, " "); ok {
			got[service] = image
		}
	}
	return got
}

// newRootDisk empties the host's folders that are on the server's own disk: a replaced
// server starts from the Ignition alone, with only the data volume kept. The folders stay,
// as the daemon's bind mounts point at them.
func (h *composeHost) newRootDisk() {
	h.t.Helper()
	for hostDir, dir := range hostDirs {
		if hostDir == hostcontract.DataDir {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(h.root, dir))
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(h.root, dir, e.Name())); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}
