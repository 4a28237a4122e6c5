package site

import (
	"bytes"
	"fmt"
	"reflect"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
)

// TypeMove is a site's move off a server type Hetzner no longer sells to its successor.
type TypeMove struct {
	From, To ServerType
	Location string
	Line     int // of server_type in site.yaml
}

// Words says the move in plain words for the owner: what changes, what stays, what it
// costs (nassella does not know Hetzner's prices).
func (m TypeMove) Words() string {
	return fmt.Sprintf("Your server type %s can no longer be ordered from Hetzner. This update moves your site to %s, its successor: %s of memory, enough for your apps. "+
		"Your server keeps running on %s until the next change rebuilds it; from then on it runs on %s. "+
		"Every change rebuilds the server, so while your site.yaml names %s no change can reach your site; your data stays on its own volume. "+
		"What %s costs is not known to nassella: see Hetzner's price list.",
		m.From.Name, m.To.Name, gb(m.To.MemoryMB), m.From.Name, m.To.Name, m.From.Name, m.To.Name)
}

// MoveOffWithdrawn returns data with provider.hetzner.server_type changed from a type
// the built-in list knows Hetzner no longer sells at the site's location to its
// successor that fits the apps' memory in cat (never a smaller type). Only that value's
// bytes change, so the owner's comments and layout stay. ok is false when the type is
// current, unknown, or the file cannot be read as a site; the full load then reports it.
func MoveOffWithdrawn(data []byte, cat *catalog.Release) (m TypeMove, out []byte, ok bool, err error) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return TypeMove{}, nil, false, nil
	}
	hetzner := mapValue(mapValue(root.Content[0], "provider"), "hetzner")
	loc, typ := mapValue(hetzner, "location"), mapValue(hetzner, "server_type")
	if loc == nil || typ == nil || typ.Kind != yaml.ScalarNode || !GoneIn(typ.Value, loc.Value) {
		return TypeMove{}, nil, false, nil
	}
	from, _ := serverType(typ.Value)
	to, found := successor(from.Name, appsMemoryMB(mapValue(root.Content[0], "apps"), cat))
	if !found {
		return TypeMove{}, nil, false, nil // the load names the fix: remove an app
	}
	out, err = replaceScalar(data, typ, to.Name)
	if err != nil {
		return TypeMove{}, nil, false, fmt.Errorf("site.yaml:%d:%d: moving server_type %s to %s: %w; change it by hand", typ.Line, typ.Column, from.Name, to.Name, err)
	}
	return TypeMove{From: from, To: to, Location: loc.Value, Line: typ.Line}, out, true, nil
}

// appsMemoryMB is what the named apps need in cat with the host's share; unknown apps
// count nothing (the load reports them).
func appsMemoryMB(apps *yaml.Node, cat *catalog.Release) int {
	total := HostReserveMB
	if apps == nil || apps.Kind != yaml.MappingNode || cat == nil {
		return total
	}
	for i := 0; i+1 < len(apps.Content); i += 2 {
		if a := cat.Apps[apps.Content[i].Value]; a != nil {
			total += a.MemoryMB
		}
	}
	return total
}

// mapValue is the value of key in a mapping node, nil when absent.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// replaceScalar replaces the bytes of the plain or simply quoted scalar node (its text
// at its line and column) with value in the same style, and checks the result parses to
// the same document except for that value.
func replaceScalar(data []byte, n *yaml.Node, value string) ([]byte, error) {
	var raw string
	switch n.Style {
	case 0:
		raw = n.Value
	case yaml.DoubleQuotedStyle:
		raw = `"` + n.Value + `"`
	case yaml.SingleQuotedStyle:
		raw = "'" + n.Value + "'"
	default:
		return nil, fmt.Errorf("the value is written in a style the bot does not edit")
	}
	start, ok := offset(data, n.Line, n.Column)
	if !ok || !bytes.HasPrefix(data[start:], []byte(raw)) {
		return nil, fmt.Errorf("the value is not written as %s", raw)
	}
	quote := raw[:(len(raw)-len(n.Value))/2]
	out := make([]byte, 0, len(data)+len(value))
	out = append(out, data[:start]...)
	out = append(out, quote+value+quote...)
	out = append(out, data[start+len(raw):]...)
	// The edit must change that value and nothing else.
	var before, after any
	if yaml.Unmarshal(data, &before) != nil || yaml.Unmarshal(out, &after) != nil {
		return nil, fmt.Errorf("the edited file does not parse")
	}
	setServerType(before, value)
	if !reflect.DeepEqual(before, after) {
		return nil, fmt.Errorf("the edit would change more than the value")
	}
	return out, nil
}

func setServerType(doc any, value string) {
	if p, ok := doc.(map[string]any)["provider"].(map[string]any); ok {
		if h, ok := p["hetzner"].(map[string]any); ok {
			h["server_type"] = value
		}
	}
}

// offset is the byte offset of a 1-based line and column; yaml.v3 counts columns in
// characters: its scanner (gopkg.in/yaml.v3 scannerc.go, skip) steps mark.column once
// per character, whatever its width in bytes.
func offset(data []byte, line, column int) (int, bool) {
	i := 0
	for l := 1; l < line; l++ {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			return 0, false
		}
		i += nl + 1
	}
	for c := 1; c < column; c++ {
		if i >= len(data) || data[i] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	return i, true
}
