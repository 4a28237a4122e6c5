package catalogops

import (
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"

	"github.com/nassella/nassella/catalog"
)

// candidate is a registry tag the policy reads a version from.
type candidate struct {
	tag  string
	text string // the version as the tag writes it
	ver  *semver.Version
}

// newer returns the tags of policy v that are newer than the current tag, newest first:
// those the policy allows the pipeline to propose, and the newest one it holds back (a
// step larger than versioning.allow), with the reason. Pre-releases are never candidates.
func newer(v *catalog.Versioning, current string, tags []string) (allowed []candidate, held *candidate, why string, err error) {
	_, cur, ok := v.Match(current)
	if !ok {
		return nil, nil, "", fmt.Errorf("the current tag %q does not match versioning.tags %q", current, v.Tags)
	}
	var all []candidate
	for _, t := range tags {
		text, ver, ok := v.Match(t)
		if !ok || ver.Prerelease() != "" || !ver.GreaterThan(cur) {
			continue
		}
		all = append(all, candidate{t, text, ver})
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].ver.Equal(all[j].ver) {
			return all[i].ver.GreaterThan(all[j].ver)
		}
		return all[i].tag < all[j].tag
	})
	for i := range all {
		c := all[i]
		if reason := step(v.Allow, cur, c.ver); reason != "" {
			if held == nil {
				held, why = &c, reason
			}
			continue
		}
		allowed = append(allowed, c)
	}
	return allowed, held, why, nil
}

// step returns why moving from cur to next is larger than allow permits, or "".
func step(allow string, cur, next *semver.Version) string {
	switch allow {
	case catalog.AllowMajor:
		return ""
	case catalog.AllowPatch:
		if next.Major() != cur.Major() || next.Minor() != cur.Minor() {
			return "a minor or major step; versioning.allow is patch"
		}
		return ""
	default: // minor
		if next.Major() != cur.Major() {
			return "a new major version; versioning.allow is minor (set allow: major to propose it)"
		}
		// While the major is 0, the minor is the breaking part (semver 4).
		if cur.Major() == 0 && next.Minor() != cur.Minor() {
			return "a new 0.y version, which semver treats as a major step; versioning.allow is minor"
		}
		return ""
	}
}
