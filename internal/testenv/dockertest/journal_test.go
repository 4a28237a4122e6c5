package dockertest

import (
	"maps"
	"testing"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"plain fields", "MESSAGE=hi\nSYSLOG_IDENTIFIER=web\n", map[string]string{"MESSAGE": "hi", "SYSLOG_IDENTIFIER": "web"}},
		{"value with newlines", "MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00a\nb=c\nPRIORITY=6\n", map[string]string{"MESSAGE": "a\nb=c", "PRIORITY": "6"}},
		{"truncated length", "MESSAGE\n\x05\x00", map[string]string{}},
		{"value shorter than its length", "MESSAGE\n\x09\x00\x00\x00\x00\x00\x00\x00ab\n", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseEntry([]byte(tc.in)); !maps.Equal(got, tc.want) {
				t.Errorf("parseEntry(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
