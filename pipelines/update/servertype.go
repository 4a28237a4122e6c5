package update

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
)

// moveServerType moves the clone's site.yaml off a server type Hetzner no longer sells
// (the built-in list in generator/site/hetzner.go; the bot has no Hetzner token to ask
// the live API) to its successor that fits the apps in the release at hand, editing only
// that value. Every change rebuilds the server and a withdrawn type cannot be rebuilt,
// so a site left on one could take no change at all; the move rides on the release's
// pull request, or opens one of its own when the release changes nothing else.
func (j *job) moveServerType() (*site.TypeMove, error) {
	data, err := inputfile.ReadIn(j.dir, siterepo.SiteFile)
	if err != nil {
		return nil, nil // a missing or unreadable file is reported by the full load
	}
	m, out, ok, err := site.MoveOffWithdrawn(data, j.opts.Catalog)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.site.Repo, err)
	}
	if !ok {
		return nil, nil
	}
	if err := os.WriteFile(filepath.Join(j.dir, siterepo.SiteFile), out, 0o644); err != nil {
		return nil, fmt.Errorf("%s: writing the new server type: %w", j.site.Repo, err)
	}
	return &m, nil
}

// typeOnly is the pull request of an os-only site on a withdrawn type: it takes no
// catalog release, so only site.yaml changes; the site's own check on the pull request
// (nassella review regenerate) brings the generated files in line with the release the
// site is pinned to. A server that cannot be rebuilt is a risk to the operating system's
// care too (a broken host could not be replaced), so the plan does not hold this back.
func (j *job) typeOnly(m *site.TypeMove) generated {
	var b strings.Builder
	fmt.Fprintf(&b, "%srelease=%s server-type=%s -->\n", marker, j.opts.Catalog.Release, m.To.Name)
	b.WriteString(typeSection(m))
	b.WriteString("Your site is on the plan for operating system updates only (`plan: os-only` in `site.yaml`), so nothing else changes: your apps keep their versions. " +
		"The check on this pull request brings the generated files in line with the new server type.\n\n")
	fmt.Fprintf(&b, "### What happens when you merge\n\nMerging applies it right away: the site's pipeline backs the data up, then rebuilds the server as %s; the apps are offline for a few minutes, so merge when that suits you. "+
		"Your data stays on its own volume and is kept; addresses and certificates stay the same.\n\n", m.To.Name)
	b.WriteString(botFooter)
	return generated{title: "nassella: " + typeTitle(m), body: b.String(), siteOnly: true}
}

// typeTitle names the move in a pull request's title.
func typeTitle(m *site.TypeMove) string {
	return fmt.Sprintf("server type %s → %s", m.From.Name, m.To.Name)
}

// typeSection is the paragraph a release's pull request opens with when it also moves
// the server type.
func typeSection(m *site.TypeMove) string {
	if m == nil {
		return ""
	}
	return "### Your server type\n\n" + m.Words() + fmt.Sprintf(" This is the one line of `site.yaml` this pull request changes (line %d, `server_type`).\n\n", m.Line)
}

// sameSiteFile says whether two commits hold the same site.yaml.
func sameSiteFile(a, b *object.Commit) bool {
	fa, errA := a.File(siterepo.SiteFile)
	fb, errB := b.File(siterepo.SiteFile)
	return errA == nil && errB == nil && fa.Hash == fb.Hash
}
