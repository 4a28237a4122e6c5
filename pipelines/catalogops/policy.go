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

// candidates are the tags of an image newer than its current one, each list newest first.
type candidates struct {
	allowed []candidate // steps the app's ordinary proposal may take (versioning.allow)
	majors  []candidate // new major versions beyond allow, for a proposal of their own
	held    *candidate  // the newest tag neither list takes
	why     string      // why held is held back
}

// newer sorts the tags of policy v that are newer than the current tag into candidates.
// Pre-releases are never candidates; a new major goes to majors unless versioning.majors
// is never, and a step allow does not cover within the major is held.
func newer(v *catalog.Versioning, current string, tags []string) (candidates, error) {
	var out candidates
	_, cur, ok := v.Match(current)
	if !ok {
		return out, fmt.Errorf("the current tag %q does not match versioning.tags %q", current, v.Tags)
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
		reason := step(v.Allow, cur, c.ver)
		switch {
		case reason == "":
			out.allowed = append(out.allowed, c)
			continue
		case isMajor(cur, c.ver) && v.Majors != catalog.MajorsNever:
			out.majors = append(out.majors, c)
			continue
		case isMajor(cur, c.ver):
			reason = "a new major version, which check-updates never proposes (versioning.majors: never): moving to it needs a step nassella does not take by itself, such as a database dump and restore"
		}
		if out.held == nil {
			out.held, out.why = &c, reason
		}
	}
	return out, nil
}

// isMajor says whether next is a new major version after cur. While the major is 0, the
// minor is the breaking part (semver 4).
func isMajor(cur, next *semver.Version) bool {
	return next.Major() != cur.Major() || cur.Major() == 0 && next.Minor() != cur.Minor()
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
		if isMajor(cur, next) {
			return "a new major version; versioning.allow is minor"
		}
		return ""
	}
}
