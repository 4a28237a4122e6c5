package site

import (
	"path/filepath"
	"testing"
)

// Editors refuse a support contact nobody can reach, as nassella does.
func TestSchemaWantsASupportAddress(t *testing.T) {
	s := compileSchema(t)
	if err := s.Validate(instance(t, readFile(t, filepath.Join("testdata", "invalid", "support-no-contact.yaml")))); err == nil {
		t.Error("a support contact without email and url passes the schema")
	}
}

func TestSupportWords(t *testing.T) {
	full := &Support{Name: "Riverside Tech Co-op", Email: "help@riverside.coop", URL: "https://riverside.coop/help"}
	for _, tc := range []struct {
		name           string
		s              *Support
		text, markdown string
	}{
		{"none", nil, "your co-op", "your co-op"},
		{"email and url", full, "Riverside Tech Co-op (help@riverside.coop, https://riverside.coop/help)",
			"**Riverside Tech Co-op** ([help@riverside.coop](mailto:help@riverside.coop), <https://riverside.coop/help>)"},
		{"url only", &Support{Name: "Ana", URL: "https://ana.example"}, "Ana (https://ana.example)", "**Ana** (<https://ana.example>)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Text(); got != tc.text {
				t.Errorf("Text() = %q, want %q", got, tc.text)
			}
			if got := tc.s.Markdown(); got != tc.markdown {
				t.Errorf("Markdown() = %q, want %q", got, tc.markdown)
			}
		})
	}
}

// A site.yaml that does not load still yields its support contact, unless that is broken.
func TestSupportOf(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string
	}{
		{"valid beside a broken file", "version: 9\nsupport: { name: Ana, email: ana@example.org }\napps: nope\n", "Ana (ana@example.org)"},
		{"missing", "version: 1\n", "your co-op"},
		{"not plain", "support: { name: \"<b>Ana</b>\", email: ana@example.org }\n", "your co-op"},
		{"not yaml", "support: [\n", "your co-op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SupportOf([]byte(tc.yaml)).Text(); got != tc.want {
				t.Errorf("SupportOf = %q, want %q", got, tc.want)
			}
		})
	}
}
