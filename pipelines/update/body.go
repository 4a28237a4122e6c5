package update

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// Change is one app's move, or one host image's.
type Change struct {
	App, Title string
	Old, New   string // versions (or tags for host images); Old empty for an app new to the lock
	Changelog  string
}

// changes compares the images a site's old lock records with what the new catalog
// gives its apps: each app whose images moved, with its version before and after.
func changes(old *generator.Lock, l *site.Loaded, cat *catalog.Release) []Change {
	var out []Change
	for _, m := range generator.Moves(old, l.AppNames(), cat) {
		out = append(out, Change{App: m.App, Title: m.Title, Old: m.Here, New: m.Available, Changelog: m.Changelog})
	}
	oldImages := map[string]string{}
	if old != nil {
		oldImages = old.Images
	}
	if ref := cat.Proxy.Ref(); oldImages["proxy/caddy"] != "" && oldImages["proxy/caddy"] != ref {
		out = append(out, Change{App: "proxy/caddy", Title: "Caddy (HTTPS proxy)", Old: generator.TagOf(oldImages["proxy/caddy"]), New: cat.Proxy.Tag})
	}
	return out
}

// evidence summarizes the release's VM test, from evidence/<release>/vmtest.json in the
// catalog folder; "" when there is none.
func evidence(catalogDir, release string) (string, error) {
	if catalogDir == "" {
		return "", nil
	}
	file := filepath.Join(catalogDir, filepath.FromSlash(catalogops.EvidencePath(release)))
	if _, err := os.Stat(file); os.IsNotExist(err) {
		return "", nil
	}
	ev, _, err := catalogops.ReadEvidence(file)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The release's VM test **%s**ed", ev.Result)
	if !ev.Finished.IsZero() {
		fmt.Fprintf(&b, " on %s", ev.Finished.UTC().Format("2006-01-02"))
	}
	if ev.Runner != "" {
		fmt.Fprintf(&b, " (%s)", ev.Runner)
	}
	b.WriteString(":\n\n")
	for _, s := range ev.Scenarios {
		fmt.Fprintf(&b, "- %s: %s in %s s", s.Name, s.Result, strconv.FormatFloat(s.Seconds, 'f', 0, 64))
		if s.Detail != "" {
			fmt.Fprintf(&b, " — %s", s.Detail)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// marker opens every bot pull request body and says which release it describes. It
// proves nothing (anyone can write it): the bot finds its own pull requests by branch,
// repo and author (botPRs).
const marker = "<!-- nassella-update "

// prTitle and prBody are what the pull request says. They depend only on the inputs, so
// a run that finds the same pull request leaves it as it is.
func prTitle(release string, ch []Change) string {
	t := "nassella: catalog " + release
	var apps []string
	for _, c := range ch {
		if !strings.Contains(c.App, "/") {
			apps = append(apps, c.Title+" "+c.New)
		}
	}
	if len(apps) > 0 && len(apps) <= 3 {
		t += " (" + strings.Join(apps, ", ") + ")"
	}
	return t
}

type bodyInput struct {
	Site             *site.Loaded
	OldRelease       string
	Release          string
	Changes          []Change
	Written, Removed int
	Evidence         string
	Move             *site.TypeMove // off a withdrawn server type, when site.yaml names one
}

func prBody(in bodyInput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%srelease=%s -->\n", marker, in.Release)
	from := in.OldRelease
	if from == "" {
		from = "no recorded catalog"
	} else {
		from = "catalog " + from
	}
	if in.OldRelease == in.Release {
		fmt.Fprintf(&b, "This pull request keeps **%s** on **catalog %s**, the co-op's tested set of app versions.\n\n", in.Site.Name, in.Release)
	} else {
		fmt.Fprintf(&b, "This pull request moves **%s** from %s to **catalog %s**, the co-op's tested set of app versions.\n\n", in.Site.Name, from, in.Release)
	}
	b.WriteString(typeSection(in.Move))
	b.WriteString("### What changes\n\n")
	ch := append([]Change(nil), in.Changes...)
	sort.SliceStable(ch, func(i, j int) bool { return ch[i].App < ch[j].App })
	if len(ch) == 0 {
		b.WriteString("No app changes version; the site's generated files are refreshed for the new release.\n")
	} else {
		b.WriteString("| App | Now | After merging | What is new |\n|---|---|---|---|\n")
		for _, c := range ch {
			old := c.Old
			if old == "" {
				old = "—"
			}
			notes := "—"
			if c.Changelog != "" {
				notes = "[release notes](" + c.Changelog + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Title, old, c.New, notes)
		}
	}
	fmt.Fprintf(&b, "\n%d generated files change", in.Written)
	if in.Removed > 0 {
		fmt.Fprintf(&b, ", %d are removed", in.Removed)
	}
	b.WriteString("; the Files tab shows every line.\n\n")
	b.WriteString("### What happens when you merge\n\n")
	fmt.Fprintf(&b, "Merging applies it right away: the site's pipeline backs the data up, then rebuilds the server with the new versions; the apps are offline for a few minutes, so merge when that suits you (your maintenance window is %s, %s). "+
		"Your data stays on its own volume and is kept; addresses and certificates stay the same. "+
		"If an app does not come back healthy, the site is rolled back to the previous version and you are told.\n", in.Site.Updates.Window, in.Site.Updates.Timezone)
	if in.Site.Updates.Automerge {
		b.WriteString("\nThis site has `updates.automerge: true`: this pull request merges by itself once its checks pass.\n")
	}
	b.WriteString("\n### How it was tested\n\n")
	if in.Evidence != "" {
		b.WriteString(in.Evidence)
	} else {
		b.WriteString("No VM test evidence is recorded for this release in the catalog.\n")
	}
	b.WriteString("\n" + botFooter)
	return b.String()
}

const botFooter = "---\nOpened by the nassella update bot. Do not push to this branch: the bot rebuilds it for every release. Change `site.yaml` on your main branch instead.\n"

// newer reports whether release a comes after b.
func newer(a, b string) bool { return generator.NewerRelease(a, b) }
