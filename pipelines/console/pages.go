package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one set per page, each with the layout.
type pages struct{ set map[string]*template.Template }

var funcs = template.FuncMap{
	"gb": gb,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
}

func loadPages() (*pages, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{set: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		p.set[name] = t
	}
	return p, nil
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no folder listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// page is what the layout shows around every page.
type page struct {
	Title string
	Me    *Session // nil when nobody is signed in
	Forge string   // the forge's web address
	Data  any
}

// titled lets a page's data name the page.
type titled interface{ title() string }

// render writes page name with data; the layout's title comes from data.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *Session, status int, name string, data any) {
	t := s.pages.set[name]
	p := page{Me: sess, Forge: s.cfg.Forge, Data: data}
	if d, ok := data.(titled); ok {
		p.Title = d.title()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("rendering a page failed", "page", name, "error", err)
		http.Error(w, "The console could not show this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// failData is an error page.
type failData struct {
	Status  int
	Message string
	Back    string // where to go from here
}

func (d failData) title() string { return http.StatusText(d.Status) }

// fail shows msg, meant for the person, with status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *Session, status int, msg string) {
	s.render(w, r, sess, status, "error", failData{Status: status, Message: msg, Back: "/"})
}

type signinData struct{ Expired bool }

func (signinData) title() string { return "Sign in" }

func gb(mb int) string {
	if mb%1024 == 0 {
		return fmt.Sprintf("%d GB", mb/1024)
	}
	if mb < 1024 {
		return fmt.Sprintf("%d MB", mb)
	}
	return fmt.Sprintf("%.1f GB", float64(mb)/1024)
}
