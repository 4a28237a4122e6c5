package catalogops

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SetScalars returns data with the values at the given dotted paths ("services.server.tag")
// replaced and every other byte as it was: comments, key order, anchors and each value's
// quoting stay, so the change reads in a diff as exactly the values that moved. file names
// data in errors.
func SetScalars(file string, data []byte, values map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty", file)
	}
	type span struct {
		start, end int
		text       string
	}
	var spans []span
	for _, path := range sortedKeys(values) {
		n, err := lookup(doc.Content[0], path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		start, err := offset(data, n.Line, n.Column)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, path, err)
		}
		end, err := scalarEnd(data, start, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, path, err)
		}
		spans = append(spans, span{start, end, render(values[path], n.Style)})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start > spans[j].start })
	out := append([]byte(nil), data...)
	for _, s := range spans {
		out = append(out[:s.start], append([]byte(s.text), out[s.end:]...)...)
	}

	// The edit must mean what it says: read it back.
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil {
		return nil, fmt.Errorf("%s: the edited file does not parse (%v); this is a bug in nassella", file, err)
	}
	for path, want := range values {
		n, err := lookup(check.Content[0], path)
		if err != nil || n.Value != want {
			return nil, fmt.Errorf("%s: %s does not read back as %q after the edit; this is a bug in nassella", file, path, want)
		}
	}
	return out, nil
}

// lookup finds the scalar value at a dotted path of mapping keys.
func lookup(n *yaml.Node, path string) (*yaml.Node, error) {
	cur := n
	for _, key := range strings.Split(path, ".") {
		if cur.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: %q is not inside a mapping", path, key)
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == key {
				next = cur.Content[i+1]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%s is missing; add it (for a digest: digest: \"\" below the tag)", path)
		}
		cur = next
	}
	if cur.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%s is not a single value (an alias or a block); write it out plainly", path)
	}
	if cur.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, fmt.Errorf("%s is a block scalar; write it on one line", path)
	}
	return cur, nil
}

// offset turns yaml.v3's 1-based line and column (in characters) into a byte offset.
func offset(data []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end of the file", line)
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("column %d is past the end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// scalarEnd returns where the scalar that starts at start ends in the source.
func scalarEnd(data []byte, start int, n *yaml.Node) (int, error) {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(data); i++ {
			switch data[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			case '\n':
				return 0, fmt.Errorf("a quoted value over several lines cannot be edited; write it on one line")
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(data); i++ {
			if data[i] == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
			if data[i] == '\n' {
				return 0, fmt.Errorf("a quoted value over several lines cannot be edited; write it on one line")
			}
		}
	default:
		if end := start + len(n.Value); end <= len(data) && string(data[start:end]) == n.Value {
			return end, nil
		}
		return 0, fmt.Errorf("the value is written over several lines; write it on one line")
	}
	return 0, fmt.Errorf("the quoted value does not end")
}

var plainSafe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@#+-]*$`)

// render writes value in the style the old value had; a plain value that YAML would read
// as something other than this text is quoted.
func render(value string, style yaml.Style) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle == 0 && plainSafe.MatchString(value) && readsAs(value):
		return value
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range value {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// readsAs reports whether value written plainly reads back as a string with that text
// (not null, a boolean, or a number YAML would rewrite).
func readsAs(value string) bool {
	var n yaml.Node
	if yaml.Unmarshal([]byte("v: "+value), &n) != nil || len(n.Content) == 0 || len(n.Content[0].Content) < 2 {
		return false
	}
	v := n.Content[0].Content[1]
	return v.Value == value && v.Tag != "!!null" && v.Tag != "!!bool"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
