package butane

import (
	"fmt"
	"path"
	"strings"

	"github.com/nassella/nassella/catalog"
)

// seedLines are the tmpfiles.d lines that write an app's settings files (catalog files:)
// into its volumes when they are missing, before the app starts: "f" creates a file only
// if it does not exist and writes the argument into it, and "d" makes a missing folder;
// a mode and owner prefixed with ":" apply only to what the line creates (tmpfiles.d(5),
// systemd 250 and later). So a file the app or its owner changed is never touched again.
func seedLines(base string, files []catalog.File) string {
	var b strings.Builder
	made := map[string]bool{}
	for _, f := range files {
		vol := path.Join(base, f.Volume)
		var dirs []string
		for d := path.Dir(path.Join(vol, f.Path)); d != vol && !made[d]; d = path.Dir(d) {
			made[d] = true
			dirs = append([]string{d}, dirs...)
		}
		for _, d := range dirs {
			fmt.Fprintf(&b, "d %s :0755 :root :root -\n", d)
		}
		fmt.Fprintf(&b, "f %s :0644 :root :root - %s\n", path.Join(vol, f.Path), tmpfilesArg(f.Content))
	}
	return b.String()
}

// tmpfilesArg writes content as the argument field of one tmpfiles.d line: the rest of
// the line, with C-style escapes for line breaks and a leading space, and %% for a
// literal % (tmpfiles.d(5): "Fields may contain C-style escapes", specifiers are
// expanded in the argument; systemd's test TEST-22-TMPFILES writes "\x20foo\nbar" with an
// f line).
func tmpfilesArg(content string) string {
	var b strings.Builder
	for i, r := range content {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '%':
			b.WriteString("%%")
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' && i == 0:
			b.WriteString(`\x20`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
