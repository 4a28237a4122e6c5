package console

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// Edits of site.yaml that keep the owner's comments and layout: each changes only the
// lines it must, then reads the result back and checks it means the old file with exactly
// that change.

// errLayout says the console cannot make an edit by lines; the owner can still make it
// in the forge's editor.
var errLayout = errors.New("your site.yaml is written in a way the console cannot change line by line here (braces over several lines, anchors, or a quoted value); make this change in the forge's editor, or write each entry on its own line")

// addApp adds "name: {}" as the last entry under apps.
func addApp(data []byte, name string) ([]byte, error) {
	apps, key, err := topNode(data, "apps")
	if err != nil {
		return nil, err
	}
	var out []byte
	if apps.Kind == yaml.MappingNode && apps.Style&yaml.FlowStyle != 0 && apps.Line == key.Line {
		// apps: { a: {}, b: {} } on the key's line: the entry goes before the closing brace.
		lines := splitLines(data)
		l := lines[apps.Line-1]
		close := strings.LastIndexByte(strings.TrimRight(l, "\n"), '}')
		if close < 0 || strings.Count(l, "{") != strings.Count(l, "}") {
			return nil, errLayout
		}
		inner := strings.TrimSpace(l[strings.IndexByte(l, '{')+1 : close])
		sep := ", "
		if inner == "" {
			sep = " "
		}
		l = strings.TrimRight(l[:close], " ") + sep + name + ": {} " + l[close:]
		out = joinLines(lines[:apps.Line-1], []string{l}, lines[apps.Line:])
	} else if out, err = appendEntry(data, apps, name+": {}"); err != nil {
		return nil, err
	}
	return out, sameExcept(data, out, func(doc map[string]any) {
		if m, ok := doc["apps"].(map[string]any); ok {
			m[name] = map[string]any{}
		}
	})
}

// appendEntry adds the line entry as the last entry of the block mapping m, indented as
// its entries are.
func appendEntry(data []byte, m *yaml.Node, entry string) ([]byte, error) {
	if m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 || len(m.Content) == 0 {
		return nil, errLayout
	}
	lines := splitLines(data)
	indent := m.Content[0].Column - 1
	end := entryEnd(lines, m.Content[len(m.Content)-2].Line, indent)
	return joinLines(lines[:end], []string{strings.Repeat(" ", indent) + entry + "\n"}, lines[end:]), nil
}

// setFlag sets the boolean key under the top-level mapping parent.
func setFlag(data []byte, parent, key string, on bool) ([]byte, error) {
	return setEntry(data, parent, key, strconv.FormatBool(on), on)
}

// setEntry sets key under the mapping at the dotted path parent to value, written
// plainly (typed is what it reads back as): the value is replaced where it is written
// plainly, or the key is added as the mapping's last entry.
func setEntry(data []byte, parent, key, value string, typed any) ([]byte, error) {
	path := strings.Split(parent, ".")
	m, _, err := topNode(data, path[0])
	if err != nil {
		return nil, err
	}
	for _, p := range path[1:] {
		var next *yaml.Node
		for i := 0; m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == p {
				next = m.Content[i+1]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("your site.yaml has no %s", parent)
		}
		m = next
	}
	var out []byte
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v = m.Content[i+1]
		}
	}
	switch {
	case v == nil:
		if out, err = appendEntry(data, m, key+": "+value); err != nil {
			return nil, err
		}
	case v.Kind == yaml.ScalarNode && v.Style == 0:
		lines := splitLines(data)
		line := []rune(lines[v.Line-1])
		at := v.Column - 1
		if at+len([]rune(v.Value)) > len(line) || string(line[at:at+len([]rune(v.Value))]) != v.Value {
			return nil, errLayout
		}
		edited := string(line[:at]) + value + string(line[at+len([]rune(v.Value)):])
		out = joinLines(lines[:v.Line-1], []string{edited}, lines[v.Line:])
	default:
		return nil, errLayout
	}
	return out, sameExcept(data, out, func(doc map[string]any) {
		cur := doc
		for _, p := range path {
			next, ok := cur[p].(map[string]any)
			if !ok {
				return
			}
			cur = next
		}
		cur[key] = typed
	})
}

// removeApp deletes the lines of app name under apps.
func removeApp(data []byte, name string) ([]byte, error) {
	apps, _, err := topNode(data, "apps")
	if err != nil {
		return nil, err
	}
	if apps.Kind != yaml.MappingNode || apps.Style&yaml.FlowStyle != 0 {
		return nil, errLayout
	}
	lines := splitLines(data)
	for i := 0; i+1 < len(apps.Content); i += 2 {
		k := apps.Content[i]
		if k.Value != name {
			continue
		}
		end := entryEnd(lines, k.Line, k.Column-1)
		out := joinLines(lines[:k.Line-1], lines[end:])
		return out, sameExcept(data, out, func(doc map[string]any) {
			if m, ok := doc["apps"].(map[string]any); ok {
				delete(m, name)
			}
		})
	}
	return nil, fmt.Errorf("%s is not under apps in your site.yaml", name)
}

const typePath = "provider.hetzner.server_type"

// setServerType changes provider.hetzner.server_type, in the value's own style.
func setServerType(data []byte, typ string) ([]byte, error) {
	return catalogops.SetScalars(siterepo.SiteFile, data, map[string]string{typePath: typ})
}

// topNode finds the top-level mapping entry name's key and value.
func topNode(data []byte, name string) (value, key *yaml.Node, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("your site.yaml is not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errors.New("your site.yaml is empty")
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == name {
			if root.Content[i].Column != 1 {
				return nil, nil, errLayout
			}
			return root.Content[i+1], root.Content[i], nil
		}
	}
	return nil, nil, fmt.Errorf("your site.yaml has no %s: section", name)
}

// entryEnd is the index of the first line after the mapping entry whose key is on line
// (1-based) at indent: the lines indented deeper than the key belong to it; blank lines
// and comments after its last line do not.
func entryEnd(lines []string, line, indent int) int {
	end := line
	for i := line; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if len(lines[i])-len(strings.TrimLeft(lines[i], " ")) <= indent {
			break
		}
		end = i + 1
	}
	return end
}

// splitLines splits data after each newline; the last line gets one if it had none.
func splitLines(data []byte) []string {
	s := string(data)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
}

func joinLines(parts ...[]string) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		for _, l := range p {
			b.WriteString(l)
			if !strings.HasSuffix(l, "\n") {
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

// sameExcept checks that out reads as data changed by change.
func sameExcept(data, out []byte, change func(map[string]any)) error {
	var before, after map[string]any
	if yaml.Unmarshal(data, &before) != nil || yaml.Unmarshal(out, &after) != nil {
		return errors.New("the edited site.yaml does not parse; this is a bug in nassella console, please report it")
	}
	change(before)
	if !reflect.DeepEqual(before, after) {
		return errLayout
	}
	return nil
}

// lineOf is the line of the value (or, for apps.NAME, the key) at a dotted path of
// mapping keys in data, 0 when absent.
func lineOf(data []byte, path string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	cur := doc.Content[0]
	line := 0
	for _, key := range strings.Split(path, ".") {
		if cur.Kind != yaml.MappingNode {
			return 0
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == key {
				line, next = cur.Content[i].Line, cur.Content[i+1]
			}
		}
		if next == nil {
			return 0
		}
		cur = next
	}
	if cur.Kind == yaml.ScalarNode {
		return cur.Line
	}
	return line
}
