// Package strictyaml decodes a YAML document into Go structs the strict way a customer
// file needs: an unknown key, a wrong type or a repeated key is a diagnostic naming the
// line and column (with the closest known key for a typo), every problem is reported in
// one pass, and the position of every value is kept so later checks can point at it too.
package strictyaml

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/internal/diag"
)

// Pos is a place in the file.
type Pos struct{ Line, Column int }

// Doc is a decoded document: where each value and key stands, by dotted path
// ("apps.nextcloud.subdomain", "admin.ssh_keys.0").
type Doc struct {
	File   string
	Values map[string]Pos
	Keys   map[string]Pos
	// Bad holds the paths whose value could not be decoded: already reported, so later
	// checks skip them rather than report the zero value left in their place.
	Bad map[string]bool
}

// At returns a diagnostic at the value of path, falling back to its key, then to the
// nearest parent that has a position (a missing field is reported at its parent).
func (d *Doc) At(path, msg, fix string) diag.Diagnostic {
	p := d.find(path, d.Values)
	return diag.Diagnostic{File: d.File, Line: p.Line, Column: p.Column, Msg: msg, Fix: fix}
}

// AtKey returns a diagnostic at the key of path (or its parent).
func (d *Doc) AtKey(path, msg, fix string) diag.Diagnostic {
	p := d.find(path, d.Keys)
	return diag.Diagnostic{File: d.File, Line: p.Line, Column: p.Column, Msg: msg, Fix: fix}
}

// Has reports whether path was written in the file.
func (d *Doc) Has(path string) bool {
	_, ok := d.Values[path]
	return ok
}

func (d *Doc) find(path string, first map[string]Pos) Pos {
	for {
		if p, ok := first[path]; ok {
			return p
		}
		if p, ok := d.Values[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return d.Values[""]
		}
		path = path[:i]
	}
}

// Decode parses data (named file in messages) into out, a pointer to a struct. Fields are
// matched by their `yaml` tag. It returns the positions and every problem found; out holds
// whatever could be decoded either way.
func Decode(file string, data []byte, out any) (*Doc, diag.List) {
	doc := &Doc{File: file, Values: map[string]Pos{}, Keys: map[string]Pos{}, Bad: map[string]bool{}}
	var errs diag.List
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		errs.Add(syntaxError(file, err))
		return doc, errs
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		errs.Add(diag.Diagnostic{File: file, Line: 1, Column: 1, Msg: "the file is empty", Fix: "start from the example in the documentation"})
		return doc, errs
	}
	d := decoder{doc: doc, errs: &errs}
	d.value(root.Content[0], "", reflect.ValueOf(out).Elem())
	return doc, errs
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into a positioned diagnostic.
func syntaxError(file string, err error) diag.Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return diag.Diagnostic{File: file, Line: line, Msg: "this is not valid YAML: " + msg,
		Fix: "check the indentation and that text with a colon or # is in quotes"}
}

type decoder struct {
	doc  *Doc
	errs *diag.List
}

func (d *decoder) badf(path string, n *yaml.Node, fix, format string, args ...any) {
	d.doc.Bad[path] = true
	d.errorf(n, fix, format, args...)
}

func (d *decoder) errorf(n *yaml.Node, fix, format string, args ...any) {
	d.errs.Add(diag.Diagnostic{File: d.doc.File, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// name is how a path is shown to the user: "the top level" or the dotted path.
func name(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.doc.Values[path] = Pos{n.Line, n.Column}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
			// "hetzner:" with nothing after it means the same as "hetzner: {}".
			v.Set(reflect.New(v.Type().Elem()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.value(n, path, elem.Elem())
		v.Set(elem)
	case reflect.Struct:
		d.structure(n, path, v)
	case reflect.Map:
		d.mapping(n, path, v)
	case reflect.Slice:
		d.sequence(n, path, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.badf(path, n, "write it as plain text", "%s must be text, not a %s", name(path), kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.badf(path, n, "write a number without quotes or units, like 50", "%s must be a whole number, not %s", name(path), describe(n))
			return
		}
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			d.badf(path, n, "write a smaller number", "%s: %q is out of range", name(path), n.Value)
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.badf(path, n, "write true or false", "%s must be true or false, not %s", name(path), describe(n))
			return
		}
		v.SetBool(n.Value == "true")
	default:
		panic(fmt.Sprintf("strictyaml: unsupported field type %s at %s", v.Type(), path))
	}
}

func (d *decoder) structure(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.badf(path, n, "indent the settings that belong to it below it, as key: value lines",
			"%s must be a set of settings (key: value), not %s", name(path), describe(n))
		return
	}
	fields := map[string][]int{}
	collectFields(v.Type(), nil, fields)
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			d.errorf(k, "keep one of them", "%s is set twice", name(join(path, key)))
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			fix := "remove it; allowed here: " + strings.Join(sortedCopy(known), ", ")
			if c := diag.Closest(key, known); c != "" {
				fix = fmt.Sprintf("did you mean %q?", c)
			}
			d.errorf(k, fix, "unknown setting %q in %s", key, name(path))
			continue
		}
		d.doc.Keys[join(path, key)] = Pos{k.Line, k.Column}
		d.value(val, join(path, key), v.FieldByIndex(idx))
	}
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.badf(path, n, "indent its entries below it, as name: value lines", "%s must be a list of name: value entries, not %s", name(path), describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errorf(k, "keep one of them", "%q appears twice in %s", k.Value, name(path))
			continue
		}
		d.doc.Keys[p] = Pos{k.Line, k.Column}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, p, elem)
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

func (d *decoder) sequence(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.badf(path, n, `write a list, one "- item" per line or [a, b] on one line`, "%s must be a list, not %s", name(path), describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, join(path, strconv.Itoa(i)), s.Index(i))
	}
	v.Set(s)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "set of settings"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return "a " + kindName(n)
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// collectFields maps each yaml key of struct type t to its field index, descending into
// fields tagged ",inline".
func collectFields(t reflect.Type, prefix []int, out map[string][]int) {
	for i := range t.NumField() {
		parts := strings.Split(t.Field(i).Tag.Get("yaml"), ",")
		idx := append(append([]int(nil), prefix...), i)
		if len(parts) > 1 && parts[1] == "inline" {
			collectFields(t.Field(i).Type, idx, out)
			continue
		}
		if parts[0] == "" || parts[0] == "-" {
			continue
		}
		out[parts[0]] = idx
	}
}
