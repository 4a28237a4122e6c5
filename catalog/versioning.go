package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
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
