package butane

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	// Butane marshals the Ignition with this fork of encoding/json, which leaves out empty
	// structs; the same marshaller gives the same bytes.
	cjson "github.com/clarketm/json"
	"github.com/coreos/ignition/v2/config/v3_3/types"
)

// translate turns the config into the Ignition that Butane makes of its YAML (Butane
// v0.26.0, variant flatcar 1.0.0 → Ignition 3.3.0), without Butane's YAML round trip and
// reflection, which took most of a site's generation time. It covers exactly the subset
// this package writes (users with keys; files with inline or remote contents; links;
// units and their drop-ins) and follows Butane's rules for it: base/v0_4's
// translateFile/translateLink and base/util.MakeDataURL for contents (without automatic
// compression, as Translate asks Butane), and Butane's marshaller. Butane itself stays the judge: the golden trees were
// made by it, TestTranslateMatchesButane compares the two on every example, and `nassella
// validate` (run on every pull request) re-translates the committed Butane with Butane,
// strictly, and refuses an Ignition that differs.
func translate(c config) ([]byte, error) {
	var out types.Config
	out.Ignition.Version = "3.3.0"
	for _, u := range c.Passwd.Users {
		pu := types.PasswdUser{Name: u.Name}
		for _, k := range u.SSHAuthorizedKeys {
			pu.SSHAuthorizedKeys = append(pu.SSHAuthorizedKeys, types.SSHAuthorizedKey(k))
		}
		out.Passwd.Users = append(out.Passwd.Users, pu)
	}
	for _, f := range c.Storage.Files {
		mode := int(f.Mode)
		tf := types.File{Node: types.Node{Path: f.Path, Overwrite: trueOrNil(f.Overwrite)}}
		tf.Mode = &mode
		switch {
		case f.Contents.Source != "" && f.Contents.Inline != "":
			return nil, fmt.Errorf("butane: %s: contents has both inline and source", f.Path)
		case f.Contents.Source != "":
			src := f.Contents.Source
			tf.Contents.Source = &src
		case f.Contents.Inline == "":
			// An empty inline is no contents to Butane (the YAML field is omitempty), and
			// Ignition refuses to overwrite a file it has no contents for.
			if f.Overwrite {
				return nil, fmt.Errorf("butane: %s: overwrite must be false if source is unspecified", f.Path)
			}
		default:
			src, compression := dataURL(f.Contents.Inline)
			tf.Contents.Source, tf.Contents.Compression = &src, &compression
		}
		if v := f.Contents.Verification; v != nil {
			h := v.Hash
			tf.Contents.Verification.Hash = &h
		}
		out.Storage.Files = append(out.Storage.Files, tf)
	}
	for _, l := range c.Storage.Links {
		hard, target := l.Hard, l.Target
		out.Storage.Links = append(out.Storage.Links, types.Link{
			Node:          types.Node{Path: l.Path, Overwrite: trueOrNil(l.Overwrite)},
			LinkEmbedded1: types.LinkEmbedded1{Hard: &hard, Target: &target},
		})
	}
	for _, u := range c.Systemd.Units {
		tu := types.Unit{Name: u.Name, Enabled: u.Enabled, Mask: trueOrNil(u.Mask)}
		if u.Contents != "" {
			contents := u.Contents
			tu.Contents = &contents
		}
		for _, d := range u.Dropins {
			contents := d.Contents
			tu.Dropins = append(tu.Dropins, types.Dropin{Name: d.Name, Contents: &contents})
		}
		out.Systemd.Units = append(out.Systemd.Units, tu)
	}
	ign, err := cjson.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("butane: writing the Ignition: %w", err)
	}
	return append(ign, '\n'), nil
}

// trueOrNil is how an `omitempty` YAML bool reaches Butane: set when true, absent when false.
func trueOrNil(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

// dataURL is Butane's MakeDataURL for inline contents with automatic compression off
// (see Translate): the shorter of a URL-escaped and a base64 data URL, and an empty
// compression.
func dataURL(body string) (uri, compression string) {
	var opaque string
	if len(";base64,")+base64.StdEncoding.EncodedLen(len(body)) < 1+escapedLen(body) {
		opaque = ";base64," + base64.StdEncoding.EncodeToString([]byte(body))
	} else {
		opaque = "," + escape(body)
	}
	return (&url.URL{Scheme: "data", Opaque: opaque}).String(), ""
}

// escape is dataurl.Escape (vincent-petithory/dataurl v1.0.0, rfc2396.go), which Butane
// uses: every byte but RFC 2396's unreserved characters as %XX in upper case. Written out
// because dataurl's prints each escaped byte with fmt, a fifth of a site's generation.
func escape(body string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, escapedLen(body))
	for i := 0; i < len(body); i++ {
		if c := body[i]; unreserved[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// escapedLen is len(escape(body)).
func escapedLen(body string) int {
	n := len(body)
	for i := 0; i < len(body); i++ {
		if !unreserved[body[i]] {
			n += 2
		}
	}
	return n
}

// unreserved are RFC 2396's unreserved characters, which escape keeps.
var unreserved = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", byte(c)) >= 0
	}
	return t
}()
