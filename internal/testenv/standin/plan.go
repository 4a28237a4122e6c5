package standin

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nassella/nassella/catalog"
)

// image is one image of the tarball, before it is built.
type image struct {
	Ref  string `json:"ref"`
	Kind string `json:"kind"` // kindCaddy, kindRestic or kindStandin
	// For a stand-in: the app/service pairs it runs as, what it serves ("port:path=status"),
	// the paths that run the stand-in program (tools and entrypoints, linked to it) and the
	// entrypoints among them that start its server.
	For   []string `json:"for,omitempty"`
	HTTP  []string `json:"http,omitempty"`
	Links []string `json:"links,omitempty"`
	Serve []string `json:"serve,omitempty"`
	// How its app services read the site's mail relay (EnvMail), by app/service.
	Mail []mailRoles `json:"mail,omitempty"`
}

const (
	kindCaddy   = "caddy"
	kindRestic  = "restic"
	kindStandin = "standin"
)

// ref is the reference the generated files use, without the digest: a locally built image
// cannot carry the registry's digest.
func ref(img catalog.Image) string { return img.Image + ":" + img.Tag }

// programs says which programs the stand-in images must provide: the stand-in's tools (by
// base name) and busybox's applets (as paths, "bin/sh").
type programs struct {
	tools   map[string]bool
	applets map[string]bool
}

// shellBuiltins are words of the catalog's shell commands that busybox sh runs itself.
var shellBuiltins = map[string]bool{"exit": true, "cd": true, "export": true, "set": true, ":": true, ".": true, "true": true}

// plan lists the images a site of rel with apps runs, sorted by reference: Caddy, restic,
// and one stand-in per distinct app image, linked to every program the catalog runs in it.
func plan(rel *catalog.Release, apps []string, progs programs) ([]image, error) {
	byRef := map[string]*image{
		ref(rel.Proxy):  {Ref: ref(rel.Proxy), Kind: kindCaddy},
		ref(rel.Backup): {Ref: ref(rel.Backup), Kind: kindRestic},
	}
	for _, name := range apps {
		a := rel.Apps[name]
		if a == nil {
			return nil, fmt.Errorf("app %q is not in catalog release %s (it has %s)", name, rel.Release, strings.Join(rel.Names(), ", "))
		}
		for _, sn := range a.ServiceNames() {
			s := a.Services[sn]
			r := ref(s.Image)
			img := byRef[r]
			if img == nil {
				img = &image{Ref: r, Kind: kindStandin}
				byRef[r] = img
			}
			if img.Kind != kindStandin {
				return nil, fmt.Errorf("app %q service %q uses %s, the image of the host's own %s", name, sn, r, img.Kind)
			}
			if err := img.add(a, sn, progs); err != nil {
				return nil, fmt.Errorf("app %q service %q (%s): %w", name, sn, r, err)
			}
		}
	}
	out := make([]image, 0, len(byRef))
	for _, img := range byRef {
		for _, l := range []*[]string{&img.For, &img.HTTP, &img.Links, &img.Serve} {
			sort.Strings(*l)
			*l = slices.Compact(*l)
		}
		sort.Slice(img.Mail, func(i, j int) bool { return img.Mail[i].For < img.Mail[j].For })
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// add records service sn of app a in its stand-in image.
func (img *image) add(a *catalog.App, sn string, progs programs) error {
	s := a.Services[sn]
	img.For = append(img.For, a.Name+"/"+sn)
	if r, ok := rolesOf(a, sn); ok {
		img.Mail = append(img.Mail, r)
	}
	if a.HTTP.Service == sn {
		e := strconv.Itoa(a.HTTP.Port) + ":"
		if a.Health.Path != "" {
			e += a.Health.Path + "=" + strconv.Itoa(a.Health.Status)
		}
		img.HTTP = append(img.HTTP, e)
	}
	// The entrypoint replaces the stand-in's own, so it starts the server; `command:` only
	// passes arguments to the entrypoint, which the server logs and ignores.
	if len(s.Entrypoint) > 0 {
		ep := s.Entrypoint[0]
		if progs.tools[path.Base(ep)] {
			img.Links = append(img.Links, linkPath(ep))
		} else if !isShell(ep) {
			img.Links = append(img.Links, linkPath(ep))
			img.Serve = append(img.Serve, ep)
		}
	}
	var run [][]string // commands run inside the container: health check, entrypoint, backup hooks
	if hc := s.Healthcheck; hc != nil && len(hc.Test) > 0 {
		switch hc.Test[0] {
		case "NONE":
		case "CMD":
			run = append(run, hc.Test[1:])
		case "CMD-SHELL":
			run = append(run, append([]string{"/bin/sh", "-c"}, hc.Test[1:]...))
		default:
			return fmt.Errorf("health check test %q starts with neither CMD nor CMD-SHELL", hc.Test)
		}
	}
	if len(s.Entrypoint) > 0 && isShell(s.Entrypoint[0]) {
		run = append(run, s.Entrypoint)
	}
	for _, h := range a.Backup.Hooks {
		if h.Service == sn {
			run = append(run, h.Command)
		}
	}
	for _, argv := range run {
		for _, p := range commandPrograms(argv) {
			switch {
			case progs.tools[path.Base(p)]:
				img.Links = append(img.Links, linkPath(p))
			case progs.applet(p):
			default:
				return fmt.Errorf("it runs %q (in %q), which neither the stand-in program nor busybox provides: add it to the tools in internal/testenv/standin/cmd/nassella-standin/tools.go", p, argv)
			}
		}
	}
	return nil
}

// linkPath is where an image has program p: absolute paths as given, bare names in
// /usr/local/bin (first in PATH).
func linkPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return "/usr/local/bin/" + p
}

// applet says whether busybox provides p: by name (found in PATH) or at its own path.
func (p programs) applet(prog string) bool {
	if strings.HasPrefix(prog, "/") {
		return p.applets[strings.TrimPrefix(path.Clean(prog), "/")]
	}
	for a := range p.applets {
		if path.Base(a) == prog {
			return true
		}
	}
	return false
}

func isShell(p string) bool { return path.Base(p) == "sh" }

// commandPrograms lists the programs argv runs: argv[0], and for `sh -c SCRIPT` the
// commands of the script as well.
func commandPrograms(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	out := []string{argv[0]}
	if isShell(argv[0]) && len(argv) >= 3 && argv[1] == "-c" {
		out = append(out, scriptPrograms(argv[2])...)
	}
	return out
}

// scriptPrograms reads the first word of each simple command in a one-line shell script of
// the kind the catalog writes ("rm -f X && /vaultwarden backup >&2 && cat X"), skipping
// variable assignments, redirections, exec and the shell's builtins.
func scriptPrograms(script string) []string {
	var out []string
	for _, cmd := range splitCommands(script) {
		words := strings.Fields(cmd)
		for i := 0; i < len(words); i++ {
			w := strings.Trim(words[i], `"'`)
			switch {
			case redirectRe.MatchString(w):
				if redirectOnlyRe.MatchString(w) {
					i++ // its target is the next word
				}
				continue
			case assignRe.MatchString(w), w == "exec":
				continue
			}
			if !shellBuiltins[w] {
				out = append(out, w)
			}
			break
		}
	}
	return out
}

var (
	redirectRe     = regexp.MustCompile(`^[0-9]*(<|>)`)
	redirectOnlyRe = regexp.MustCompile(`^[0-9]*(<|>|>>|<<|>\|)$`)
	assignRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// splitCommands cuts a script at ; | & && || newlines and parentheses outside quotes; the &
// of a redirection (>&2) does not cut.
func splitCommands(script string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	prev := rune(0)
	for _, r := range script {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case strings.ContainsRune(";|\n()", r) || r == '&' && prev != '>' && prev != '<':
			out = append(out, cur.String())
			cur.Reset()
			prev = r
			continue
		}
		cur.WriteRune(r)
		prev = r
	}
	return append(out, cur.String())
}
