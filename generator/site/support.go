package site

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// NoSupport is what owners read where site.yaml names no support contact.
const NoSupport = "your co-op"

// JSONSchemaExtend asks editors for at least one way to reach the contact.
func (Support) JSONSchemaExtend(s *jsonschema.Schema) {
	s.AnyOf = []*jsonschema.Schema{{Required: []string{"email"}}, {Required: []string{"url"}}}
}

// support checks the optional support contact. Its words go into the README, the guide
// and issues as they are, so they must be plain: no Markdown, HTML or line breaks.
func (c *checker) support(s *Site) {
	if !c.doc.Has("support") || c.doc.Bad["support"] {
		return
	}
	if s.Support == nil {
		c.add("support", "support is empty", "add name: and email: or url: under support, or remove support")
		return
	}
	for _, p := range s.Support.problems() {
		if p.field == "" {
			c.add("support", p.msg, p.fix)
		} else if !c.doc.Bad["support."+p.field] {
			c.add("support."+p.field, p.msg, p.fix)
		}
	}
}

type supportProblem struct{ field, msg, fix string }

func (s *Support) problems() []supportProblem {
	var out []supportProblem
	add := func(field, msg, fix string) { out = append(out, supportProblem{field, msg, fix}) }
	switch name := strings.TrimSpace(s.Name); {
	case name == "":
		add("", "support.name is missing", "add name: Riverside Tech Co-op under support, as you would address them")
	case len(s.Name) > 80 || !plain(s.Name):
		add("name", fmt.Sprintf("support name %q is not plain text of at most 80 characters", s.Name),
			"write just a name, like Riverside Tech Co-op, without <, >, [, ], `, * or line breaks")
	}
	if s.Email == "" && s.URL == "" {
		add("", "support has no email and no url", "add email: help@example.org or url: https://example.org/help under support, so the owner can reach them")
	}
	if s.Email != "" {
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Address != s.Email || !strings.Contains(s.Email[strings.LastIndexByte(s.Email, '@')+1:], ".") || !plain(s.Email) {
			add("email", fmt.Sprintf("%q is not an email address", s.Email), "write just the address, like help@riverside.coop")
		}
	}
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(s.URL, " <>\"'`()[]{}|\\^") || !plain(s.URL) {
			add("url", fmt.Sprintf("url %q is not an https address", s.URL), "copy the address from the browser, like https://riverside.coop/help")
		}
	}
	return out
}

// plain says s is one line of text that Markdown and HTML show as it is.
func plain(s string) bool {
	return !strings.ContainsAny(s, "<>[]`*|\\") && !strings.ContainsFunc(s, unicode.IsControl)
}

// SupportOf reads only the support contact of a site.yaml that may not load as a whole
// (a failed apply's issue still names it); nil when it is missing or not valid.
func SupportOf(data []byte) *Support {
	var doc struct {
		Support *Support `yaml:"support"`
	}
	if yaml.Unmarshal(data, &doc) != nil || doc.Support == nil || len(doc.Support.problems()) > 0 {
		return nil
	}
	return doc.Support
}

// Text is the contact for a terminal or a log: "Riverside Tech Co-op (help@riverside.coop,
// https://riverside.coop/help)", or "your co-op" when site.yaml names none.
func (s *Support) Text() string {
	if s == nil {
		return NoSupport
	}
	var ways []string
	for _, w := range []string{s.Email, s.URL} {
		if w != "" {
			ways = append(ways, w)
		}
	}
	return fmt.Sprintf("%s (%s)", s.Name, strings.Join(ways, ", "))
}

// Markdown is the contact with links, for the README, the guide and issues; "your co-op"
// when site.yaml names none.
func (s *Support) Markdown() string {
	if s == nil {
		return NoSupport
	}
	var ways []string
	if s.Email != "" {
		ways = append(ways, fmt.Sprintf("[%s](mailto:%s)", s.Email, s.Email))
	}
	if s.URL != "" {
		ways = append(ways, fmt.Sprintf("<%s>", s.URL))
	}
	return fmt.Sprintf("**%s** (%s)", s.Name, strings.Join(ways, ", "))
}
