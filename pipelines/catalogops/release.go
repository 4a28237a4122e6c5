package catalogops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
)

// Tag prefixes in the catalog repo.
const (
	ReleaseTagPrefix = "catalog/"        // catalog/2026.12.0: a release, as cut
	StableTagPrefix  = "channel/stable/" // channel/stable/2026.12.0: promoted to stable
)

// Files the release step writes in the catalog folder.
const (
	ChangelogFile = "CHANGELOG.md"
	ChannelsFile  = "channels.yaml"
)

// ReleaseOptions says what to cut.
type ReleaseOptions struct {
	Dir    string    // the catalog folder, inside a git clone of the catalog repo
	Date   time.Time // names the release: YYYY.MM of it, then the next number that month
	Author Identity
	Now    func() time.Time // the commit and tag time; nil means time.Now
}

// ReleaseResult is the release cut.
type ReleaseResult struct {
	Release  string
	Previous string // the release before it; "" for the first
	Commit   string
	Tag      string
	Notes    string // its section of CHANGELOG.md
}

// CutRelease cuts an immutable catalog release from the catalog folder as it is: it
// refuses while any image is unpinned, numbers the release, writes release.yaml (the
// number, channel testing), channels.yaml and the changelog from the app bumps since the
// previous release, commits the catalog folder and tags the commit catalog/<release>.
func CutRelease(opts ReleaseOptions) (ReleaseResult, error) {
	repo, err := OpenRepo(opts.Dir)
	if err != nil {
		return ReleaseResult{}, err
	}
	cat, err := catalog.Load(os.DirFS(opts.Dir))
	if err != nil {
		return ReleaseResult{}, fmt.Errorf("catalog %s:\n%w", opts.Dir, err)
	}
	if unpinned := cat.Unpinned(cat.Names()); len(unpinned) > 0 {
		return ReleaseResult{}, fmt.Errorf("cannot cut a release: %d images are not pinned by digest, and a release must name exactly what is tested:\n  %s\nrun nassella catalog lock first",
			len(unpinned), strings.Join(unpinned, "\n  "))
	}
	if staged, err := repo.stagedOutside(); err != nil {
		return ReleaseResult{}, err
	} else if len(staged) > 0 {
		return ReleaseResult{}, fmt.Errorf("changes outside the catalog folder are staged (%s); the release commit would carry them: commit or unstage them first", strings.Join(staged, ", "))
	}

	tags, err := repo.tagNames(ReleaseTagPrefix)
	if err != nil {
		return ReleaseResult{}, err
	}
	previous := latestRelease(tags)
	number, err := nextRelease(opts.Date, previous, cat.Release)
	if err != nil {
		return ReleaseResult{}, err
	}

	cur, err := looseLoad(os.DirFS(opts.Dir))
	if err != nil {
		return ReleaseResult{}, err
	}
	var prev *catalog.Release
	if previous != "" {
		c, err := repo.tagCommit(ReleaseTagPrefix + previous)
		if err != nil {
			return ReleaseResult{}, err
		}
		files, err := repo.catalogFiles(c)
		if err != nil {
			return ReleaseResult{}, err
		}
		if prev, err = looseLoad(files); err != nil {
			return ReleaseResult{}, fmt.Errorf("release %s: %w", previous, err)
		}
		if sameContent(prev, cur) {
			return ReleaseResult{}, fmt.Errorf("nothing changed since release %s (tag %s%s); bump an app first", previous, ReleaseTagPrefix, previous)
		}
	}
	notes := releaseNotes(number, opts.Date, previous, prev, cur)

	releaseFile := repo.File("release.yaml")
	data, err := os.ReadFile(releaseFile)
	if err != nil {
		return ReleaseResult{}, err
	}
	data, err = SetScalars("release.yaml", data, map[string]string{"release": number, "channel": "testing"})
	if err != nil {
		return ReleaseResult{}, err
	}
	if err := writeFile(releaseFile, data); err != nil {
		return ReleaseResult{}, err
	}
	if err := prependChangelog(repo.File(ChangelogFile), notes); err != nil {
		return ReleaseResult{}, err
	}
	if err := setChannel(repo.File(ChannelsFile), "testing", number); err != nil {
		return ReleaseResult{}, err
	}

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	when := now()
	msg := "catalog: release " + number + "\n\n" + notes
	commit, err := repo.commit([]string{"release.yaml", ChangelogFile, ChannelsFile, "apps"}, msg, opts.Author, when)
	if err != nil {
		return ReleaseResult{}, fmt.Errorf("committing release %s: %w", number, err)
	}
	tag := ReleaseTagPrefix + number
	if err := repo.tag(tag, commit, "Catalog release "+number+"\n\n"+notes, opts.Author, when); err != nil {
		return ReleaseResult{}, err
	}
	return ReleaseResult{Release: number, Previous: previous, Commit: commit.String(), Tag: tag, Notes: notes}, nil
}

var releaseRe = regexp.MustCompile(`^([0-9]{4})\.(0[1-9]|1[0-2])\.([0-9]+)$`)

// releaseKey orders releases: year, month, number.
func releaseKey(r string) (key [3]int, ok bool) {
	m := releaseRe.FindStringSubmatch(r)
	if m == nil {
		return key, false
	}
	for i := range key {
		key[i], _ = strconv.Atoi(m[i+1])
	}
	return key, true
}

func releaseLess(a, b string) bool {
	ka, _ := releaseKey(a)
	kb, _ := releaseKey(b)
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

// latestRelease is the newest well-formed release among names.
func latestRelease(names []string) string {
	latest := ""
	for _, n := range names {
		if _, ok := releaseKey(n); ok && (latest == "" || releaseLess(latest, n)) {
			latest = n
		}
	}
	return latest
}

// nextRelease numbers a release cut on date: YYYY.MM.N with N one more than any release
// of that month so far — the last tag, and the number release.yaml already carries (the
// catalog built into a binary may carry a number never tagged, and sites may pin it).
func nextRelease(date time.Time, previous, current string) (string, error) {
	if date.IsZero() {
		return "", errors.New("the release needs a date")
	}
	month := date.Format("2006.01")
	n := 0
	for _, r := range []string{previous, current} {
		k, ok := releaseKey(r)
		if !ok {
			continue
		}
		if rm := r[:7]; rm > month {
			return "", fmt.Errorf("release %s is newer than the date %s; releases only move forward: check --date", r, date.Format(time.DateOnly))
		} else if rm == month {
			n = max(n, k[2]+1)
		}
	}
	return month + "." + strconv.Itoa(n), nil
}

// looseLoad reads a catalog without the loader's checks: a release cut by an older
// nassella must still be readable to compare against.
func looseLoad(fsys fs.FS) (*catalog.Release, error) {
	data, err := fs.ReadFile(fsys, "release.yaml")
	if err != nil {
		return nil, err
	}
	r := &catalog.Release{Apps: map[string]*catalog.App{}, Files: map[string]string{}}
	if err := yaml.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("release.yaml: %w", err)
	}
	files, err := fs.Glob(fsys, "apps/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		a := &catalog.App{}
		if err := yaml.Unmarshal(data, a); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		name := strings.TrimSuffix(path.Base(f), ".yaml")
		r.Apps[name], r.Files[name] = a, f
	}
	return r, nil
}

// sameContent reports whether two catalogs differ only in their number and channel.
func sameContent(a, b *catalog.Release) bool {
	x, y := *a, *b
	x.Release, x.Channel, y.Release, y.Channel = "", "", "", ""
	return yamlEqual(x, y) && yamlEqual(x.Apps, y.Apps)
}

func yamlEqual(a, b any) bool {
	da, err1 := yaml.Marshal(a)
	db, err2 := yaml.Marshal(b)
	return err1 == nil && err2 == nil && string(da) == string(db)
}

// releaseNotes is the changelog section of a release: what changed since prev.
func releaseNotes(number string, date time.Time, previous string, prev, cur *catalog.Release) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s (%s)\n\n", number, date.Format(time.DateOnly))
	if prev == nil {
		b.WriteString("The first release cut by nassella catalog release. Apps:\n\n")
		for _, name := range cur.Names() {
			fmt.Fprintf(&b, "- **%s** %s\n", name, cur.Apps[name].Version)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "Changes since %s:\n\n", previous)
	var rebuilt, pinned []string
	// image describes a changed tag in a line, and collects changed digests by id.
	image := func(label, id string, old, img catalog.Image) string {
		switch {
		case old.Tag != img.Tag || old.Image != img.Image:
			from := old.Image + " " + old.Tag
			if old.Image == img.Image {
				from = old.Tag
			}
			return fmt.Sprintf("%s: %s %s → %s", label, img.Image, from, img.Tag)
		case old.Digest != img.Digest && old.Digest == "":
			pinned = append(pinned, id)
		case old.Digest != img.Digest:
			rebuilt = append(rebuilt, id)
		}
		return ""
	}

	was := map[string]catalog.Image{}
	for _, h := range HostImages(prev) {
		was[h.Name] = h.Image
	}
	for _, h := range HostImages(cur) {
		old, ok := was[h.Name]
		if !ok {
			fmt.Fprintf(&b, "- **%s** added: %s:%s\n", h.Name, h.Image.Image, h.Image.Tag)
			continue
		}
		if line := image(h.Name, h.Where, old, h.Image); line != "" {
			fmt.Fprintf(&b, "- **%s**%s\n", h.Name, strings.TrimPrefix(line, h.Name))
		}
	}
	if prev.Compose.Version != cur.Compose.Version {
		fmt.Fprintf(&b, "- **compose** sysext %s → %s\n", prev.Compose.Version, cur.Compose.Version)
	}
	if prev.Flatcar != cur.Flatcar {
		fmt.Fprintf(&b, "- **flatcar** %s %s → %s %s (oldest snapshot a site may boot)\n",
			prev.Flatcar.Channel, prev.Flatcar.MinVersion, cur.Flatcar.Channel, cur.Flatcar.MinVersion)
	}
	names := map[string]bool{}
	for n := range prev.Apps {
		names[n] = true
	}
	for n := range cur.Apps {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		old, app := prev.Apps[name], cur.Apps[name]
		switch {
		case old == nil:
			fmt.Fprintf(&b, "- **%s** %s added: %s\n", name, app.Version, app.Summary)
			continue
		case app == nil:
			fmt.Fprintf(&b, "- **%s** removed\n", name)
			continue
		}
		var sub []string
		for _, sn := range unionKeys(old.Services, app.Services) {
			was, s := old.Services[sn], app.Services[sn]
			switch {
			case was == nil:
				sub = append(sub, fmt.Sprintf("%s added: %s:%s", sn, s.Image.Image, s.Tag))
			case s == nil:
				sub = append(sub, sn+" removed")
			default:
				if line := image(sn, name+"/"+sn, was.Image, s.Image); line != "" {
					sub = append(sub, line)
				}
			}
		}
		if keys := changedSettings(old, app); len(keys) > 0 {
			sub = append(sub, "settings changed: "+strings.Join(keys, ", "))
		}
		head := ""
		if old.Version != app.Version {
			head = fmt.Sprintf("- **%s** %s → %s", name, old.Version, app.Version)
			if app.Changelog != "" {
				head += fmt.Sprintf(" ([release notes](%s))", app.Changelog)
			}
		} else if len(sub) > 0 {
			head = "- **" + name + "**"
		}
		if head == "" {
			continue
		}
		b.WriteString(head + "\n")
		for _, s := range sub {
			b.WriteString("  - " + s + "\n")
		}
	}
	if len(rebuilt) > 0 {
		fmt.Fprintf(&b, "- Rebuilt upstream under the same tag (new digest): %s\n", strings.Join(rebuilt, ", "))
	}
	if len(pinned) > 0 {
		fmt.Fprintf(&b, "- Pinned by digest for the first time: %d images\n", len(pinned))
	}
	return b.String()
}

// changedSettings names what changed in an app besides its version and image tags:
// top-level settings, and services' settings as services.<name>.<setting>.
func changedSettings(old, app *catalog.App) []string {
	var out []string
	a, b := settings(old), settings(app)
	for _, k := range unionKeys(a, b) {
		if k == "version" || k == "changelog" || k == "services" {
			continue
		}
		if !yamlEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	for _, sn := range unionKeys(old.Services, app.Services) {
		if old.Services[sn] == nil || app.Services[sn] == nil {
			continue
		}
		x, y := settings(old.Services[sn]), settings(app.Services[sn])
		for _, k := range unionKeys(x, y) {
			if k == "tag" || k == "digest" || k == "image" {
				continue
			}
			if !yamlEqual(x[k], y[k]) {
				out = append(out, "services."+sn+"."+k)
			}
		}
	}
	return out
}

// settings is v as YAML keys and values.
func settings(v any) map[string]any {
	out := map[string]any{}
	if data, err := yaml.Marshal(v); err == nil {
		yaml.Unmarshal(data, &out)
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedKeys(seen)
}

const changelogHeader = `# Catalog releases

Every catalog release, newest first, written by nassella catalog release from the changes
since the release before. A release is cut on the testing channel; the annotated tag
channel/stable/<release> records when it passed the VM test and was promoted to stable.
`

// prependChangelog puts a release's section above the older ones.
func prependChangelog(file, section string) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		data = []byte(changelogHeader)
	} else if err != nil {
		return err
	}
	text := string(data)
	if i := strings.Index(text, "\n## "); i >= 0 {
		text = text[:i+1] + section + "\n" + text[i+1:]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + section
	}
	return writeFile(file, []byte(text))
}

// Channels are the releases each channel serves, as channels.yaml records them.
type Channels struct {
	Stable  string `yaml:"stable,omitempty"`
	Testing string `yaml:"testing,omitempty"`
}

// ReadChannels reads channels.yaml; a missing file means no channel has a release yet.
func ReadChannels(file string) (Channels, error) {
	var c Channels
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// setChannel records that channel now serves release.
func setChannel(file, channel, release string) error {
	c, err := ReadChannels(file)
	if err != nil {
		return err
	}
	switch channel {
	case "stable":
		c.Stable = release
	case "testing":
		c.Testing = release
	}
	var b strings.Builder
	b.WriteString("# The catalog release each channel serves: nassella catalog release moves testing,\n")
	b.WriteString("# nassella catalog promote moves stable. The annotated tags catalog/<release> and\n")
	b.WriteString("# channel/stable/<release> are the record; this file is the summary.\n")
	for _, l := range []struct{ k, v string }{{"stable", c.Stable}, {"testing", c.Testing}} {
		if l.v != "" {
			fmt.Fprintf(&b, "%s: %q\n", l.k, l.v)
		}
	}
	return writeFile(file, []byte(b.String()))
}
