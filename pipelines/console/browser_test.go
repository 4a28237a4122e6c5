package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is a person's web browser as far as the tests need one: cookies, redirects, and
// forms read from the page and sent as a browser sends them.
type browser struct {
	t    testing.TB
	c    *http.Client
	last *url.URL // the page last shown
	body string
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}}
}

// get opens u and returns the status; the page is in b.body.
func (b *browser) get(u string) int {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) int {
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.body, b.last = string(data), resp.Request.URL
	return resp.StatusCode
}

// submit sends the form of the current page whose id (or, when id is "", whose action)
// matches, with its fields, the given values and the pressed button's name and value.
func (b *browser) submit(match string, values url.Values) int {
	b.t.Helper()
	f, ok := findForm(b.body, match)
	if !ok {
		b.t.Fatalf("no form %q on %s:\n%s", match, b.last, b.body)
	}
	for k, v := range values {
		f.fields[k] = v
	}
	action, err := b.last.Parse(f.action)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.PostForm(action.String(), f.fields)
	if err != nil {
		b.t.Fatalf("POST %s: %v", action, err)
	}
	return b.read(resp)
}

type form struct {
	id, action string
	fields     url.Values
}

// findForm finds a form by id or by a part of its action, with its hidden and text
// inputs and its checked radios.
func findForm(page, match string) (form, bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return form{}, false
	}
	var found *form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode && n.Data == "form" && found == nil {
			f := &form{id: attr(n, "id"), action: attr(n, "action"), fields: url.Values{}}
			if f.id == match || strings.Contains(f.action, match) {
				cur = f
				defer func() { found = f }()
			}
		}
		if cur != nil && n.Type == html.ElementNode && n.Data == "input" {
			name, typ := attr(n, "name"), attr(n, "type")
			value := attr(n, "value")
			if typ == "checkbox" && !hasAttr(n, "value") {
				value = "on" // what browsers send
			}
			if name != "" && (typ != "radio" && typ != "checkbox" || hasAttr(n, "checked")) {
				cur.fields.Set(name, value)
			}
		}
		if cur != nil && n.Type == html.ElementNode && n.Data == "option" && hasAttr(n, "selected") {
			for p := n.Parent; p != nil; p = p.Parent {
				if p.Data == "select" {
					cur.fields.Set(attr(p, "name"), attr(n, "value"))
					break
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	if found == nil {
		return form{}, false
	}
	return *found, true
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
