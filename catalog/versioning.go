package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/strictyaml"
)

// Match reads the version from tag: the text of the policy's version group and its
// semantic version. ok is false when the tag is not one of the policy's (or the policy is
// invalid; Load reports that).
func (v *Versioning) Match(tag string) (text string, ver *semver.Version, ok bool) {
	re, err := v.Pattern()
	if err != nil {
		return "", nil, false
	}
	m := re.FindStringSubmatch(tag)
	if m == nil {
		return "", nil, false
	}
	text = m[re.SubexpIndex("version")]
	ver, err = semver.NewVersion(text)
	if err != nil {
		return "", nil, false
	}
	return text, ver, true
}

var patterns sync.Map // Tags → *regexp.Regexp or error

// Pattern is Tags compiled to match whole tags.
func (v *Versioning) Pattern() (*regexp.Regexp, error) {
	if c, ok := patterns.Load(v.Tags); ok {
		if err, isErr := c.(error); isErr {
			return nil, err
		}
		return c.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + v.Tags + `)$`)
	switch {
	case err != nil:
		err = fmt.Errorf("%q is not a regular expression: %v", v.Tags, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	case re.SubexpIndex("version") < 0:
		err = fmt.Errorf("%q has no group named version", v.Tags)
	}
	if err != nil {
		patterns.Store(v.Tags, err)
		return nil, err
	}
	patterns.Store(v.Tags, re)
	return re, nil
}

var templateRe = regexp.MustCompile(`\{[^{}]*\}`)

// ExpandChangelog fills a changelog_template for version: {version} is the version as the
// tag writes it, {major}, {minor} and {patch} its numbers.
func ExpandChangelog(template, version string) (string, error) {
	ver, err := semver.NewVersion(version)
	if err != nil {
		return "", fmt.Errorf("version %q is not a semantic version", version)
	}
	var bad []string
	out := templateRe.ReplaceAllStringFunc(template, func(p string) string {
		switch p {
		case "{version}":
			return version
		case "{major}":
			return strconv.FormatUint(ver.Major(), 10)
		case "{minor}":
			return strconv.FormatUint(ver.Minor(), 10)
		case "{patch}":
			return strconv.FormatUint(ver.Patch(), 10)
		}
		bad = append(bad, p)
		return p
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("unknown placeholder %s in %q; use {version}, {major}, {minor} or {patch}", bad[0], template)
	}
	return out, nil
}

// AppVersion returns the app's version as its http service's tag says, when that service
// has a versioning policy.
func (a *App) AppVersion() (string, bool) {
	s := a.Services[a.HTTP.Service]
	if s == nil || s.Versioning == nil {
		return "", false
	}
	text, _, ok := s.Versioning.Match(s.Tag)
	return text, ok
}

// Values of Versioning.Majors.
const (
	MajorsPropose = "propose"
	MajorsListed  = "listed"
	// MajorsNever is for images whose new major cannot take over the old one's data by
	// itself: a PostgreSQL major cannot read the data folder of the one before, so moving
	// needs a dump and a restore, which nassella never runs on its own. check-updates only
	// notes such a major; a maintainer moves it by hand, with the data path tested.
	MajorsNever = "never"
)

// Checked records a comparison of a catalog entry with upstream: the newest release
// upstream showed (the entry may stay behind it on purpose, see Upgrade.From), the day
// it was compared, and where it was read.
type Checked struct {
	Version string `yaml:"version"`
	Date    string `yaml:"date"` // YYYY-MM-DD
	Source  string `yaml:"source"`
}

// Upgrade is what moving an app to the major version To needs. check-updates proposes a
// new major on a branch of its own, marked as a major upgrade and linking Notes; a move
// that starts below From is refused (by check-updates, and when a site moves to a newer
// catalog release), so every site passes through the version upstream requires.
type Upgrade struct {
	To   int    `yaml:"to"`   // the app's major version this entry is for
	From string `yaml:"from"` // the oldest version that may move straight to To; any when empty
	// Notes is upstream's page of what the major changes and how to move to it.
	Notes string `yaml:"notes"`
	// Before would run in the old version's containers before the new version starts,
	// After in the new version's once it answers. Nothing runs them yet, so the catalog
	// check refuses them (see appCheck.upgrades).
	Before []UpgradeStep `yaml:"before"`
	After  []UpgradeStep `yaml:"after"`
}

// UpgradeStep is a command run in one of the app's services during a major upgrade.
type UpgradeStep struct {
	Service string   `yaml:"service"`
	Command []string `yaml:"command"`
}

// Upgrade returns the app's entry for the major version major, or nil.
func (a *App) Upgrade(major uint64) *Upgrade {
	for i := range a.Upgrades {
		if uint64(a.Upgrades[i].To) == major {
			return &a.Upgrades[i]
		}
	}
	return nil
}

// UpgradeError is a move that would skip a version upstream requires before a major.
type UpgradeError struct {
	App, From, To string
	Need          *Upgrade
}

func (e *UpgradeError) Error() string {
	msg := fmt.Sprintf("%s cannot move from %s to %s at once: version %d needs %s or later first (upgrades, to: %d); move to %s first, then to %s",
		e.App, e.From, e.To, e.Need.To, e.Need.From, e.Need.To, e.Need.From, e.To)
	if e.Need.Notes != "" {
		msg += "; upgrade notes: " + e.Need.Notes
	}
	return msg
}

// CheckUpgrade says whether the app may move from version from straight to version to:
// it may not when an upgrades entry of a major it enters asks for a later start than from.
// Versions that are not semantic versions are not judged.
func (a *App) CheckUpgrade(from, to string) error {
	f, err1 := semver.NewVersion(from)
	t, err2 := semver.NewVersion(to)
	if err1 != nil || err2 != nil || t.Major() <= f.Major() {
		return nil
	}
	for i := range a.Upgrades {
		u := &a.Upgrades[i]
		if u.From == "" || uint64(u.To) <= f.Major() || uint64(u.To) > t.Major() {
			continue
		}
		if need, err := semver.NewVersion(u.From); err == nil && f.LessThan(need) {
			return &UpgradeError{App: a.Name, From: from, To: to, Need: u}
		}
	}
	return nil
}

// CheckUpgrades checks that a site built with the images of an older release (its
// nassella.lock: "app/service" → image reference) can move to r: every app in apps whose
// http service's old tag names a version moves without skipping a version upstream
// requires. It returns each refusal.
func (r *Release) CheckUpgrades(images map[string]string, apps []string) []error {
	var errs []error
	for _, name := range apps {
		a := r.Apps[name]
		if a == nil {
			continue
		}
		s := a.Services[a.HTTP.Service]
		ref, ok := images[name+"/"+a.HTTP.Service]
		if s == nil || s.Versioning == nil || !ok {
			continue
		}
		if old, _, ok := s.Versioning.Match(refTag(ref)); ok {
			if err := a.CheckUpgrade(old, a.Version); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// refTag is the tag of an image reference "host[:port]/repo:tag[@digest]".
func refTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

var dateRe = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`)

// checkChecked checks a record of the last comparison with upstream.
func checkChecked(doc *strictyaml.Doc, path string, c *Checked, errs *diag.List) {
	if c == nil {
		return
	}
	if _, err := semver.NewVersion(c.Version); err != nil {
		errs.Add(doc.At(path+".version", fmt.Sprintf("checked.version %q is not a version", c.Version), "write the newest release upstream showed, like 1.35.0"))
	}
	if !dateRe.MatchString(c.Date) {
		errs.Add(doc.At(path+".date", fmt.Sprintf("checked.date %q is not a date", c.Date), "write the day of the check as YYYY-MM-DD"))
	}
	if strings.TrimSpace(c.Source) == "" {
		errs.Add(doc.At(path+".source", "checked.source is required", "say where the version was read: the upstream repository and its tag"))
	}
}

// checkMajors checks a policy's majors value.
func checkMajors(doc *strictyaml.Doc, path string, v *Versioning, errs *diag.List) {
	switch v.Majors {
	case "", MajorsPropose, MajorsListed, MajorsNever:
	default:
		errs.Add(doc.At(path+".majors", fmt.Sprintf("majors %q is unknown", v.Majors), "use propose (the default), listed or never"))
	}
}

// upgrades checks the entry's record of upstream and its upgrades: one entry per major,
// each starting below its major, with an https notes page and steps in the app's
// services.
func (c *appCheck) upgrades() {
	a := c.a
	checkChecked(c.doc, "checked", a.Checked, c.errs)
	for _, sn := range a.ServiceNames() {
		if a.Services[sn].Checked != nil {
			c.add("services."+sn+".checked", "a service has no checked of its own", "record checked once, at the top of the entry")
		}
	}
	seen := map[int]bool{}
	for i, u := range a.Upgrades {
		p := "upgrades." + strconv.Itoa(i)
		if u.To < 1 {
			c.add(p+".to", "to must be the major version the entry is for, like 3", "")
		} else if seen[u.To] {
			c.add(p+".to", fmt.Sprintf("major %d has two upgrades entries", u.To), "keep one")
		}
		seen[u.To] = true
		if u.From != "" {
			if f, err := semver.NewVersion(u.From); err != nil {
				c.add(p+".from", fmt.Sprintf("from %q is not a version", u.From), "write the oldest version that may move straight to this major, like 2.20.15")
			} else if u.To >= 1 && f.Major() >= uint64(u.To) {
				c.add(p+".from", fmt.Sprintf("from %s is not below major %d", u.From, u.To), "name a version of an earlier major")
			}
		}
		if !strings.HasPrefix(u.Notes, "https://") {
			c.add(p+".notes", "notes must be the https URL of upstream's upgrade notes", "")
		}
		for _, steps := range []struct {
			name string
			list []UpgradeStep
		}{{"before", u.Before}, {"after", u.After}} {
			if len(steps.list) > 0 {
				// Nothing on the host or in apply runs these yet: a change replaces the
				// server, so "before" would have to run on the old one from apply, over
				// SSH, before it is replaced. Until that exists an upgrade that needs a
				// step cannot be offered as if it were taken care of.
				c.add(p+"."+steps.name, fmt.Sprintf("upgrade steps (%s) are not run by nassella yet", steps.name),
					"leave the major to check-updates' note and the upgrade notes until they are; see catalog.Upgrade")
			}
			for j, s := range steps.list {
				sp := fmt.Sprintf("%s.%s.%d", p, steps.name, j)
				if _, ok := a.Services[s.Service]; !ok {
					c.add(sp+".service", fmt.Sprintf("%q is not one of the app's services", s.Service), "")
				}
				if len(s.Command) == 0 {
					c.add(sp+".command", "a step needs a command", "")
				}
			}
		}
	}
}
