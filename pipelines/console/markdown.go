package console

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders the forge's Markdown (plan comments, pull request bodies) as the forge
// would, but safe to put in a page: goldmark without its WithUnsafe option leaves raw HTML
// out ("<!-- raw HTML omitted -->") and drops links to javascript:, vbscript:, file: and
// data: addresses (goldmark renderer/html: IsDangerousURL), and the page's
// Content-Security-Policy runs no script and loads no image from elsewhere anyway.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

var (
	detailsOpen = regexp.MustCompile(`(?m)^<details><summary>(.*)</summary>\s*$`)
	detailsEnd  = regexp.MustCompile(`(?m)^</details>\s*$`)
	alert       = regexp.MustCompile(`(?m)^> \[!(WARNING|NOTE|IMPORTANT|CAUTION|TIP)\]\s*$`)
)

// renderMarkdown turns src into HTML. The HTML the bot writes itself (a folded section's
// <details><summary>) becomes a small heading, and GitHub's alerts ("> [!WARNING]") a bold
// word, so nothing needs raw HTML.
func renderMarkdown(src string) template.HTML {
	src = detailsOpen.ReplaceAllString(src, "#### $1")
	src = detailsEnd.ReplaceAllString(src, "")
	src = alert.ReplaceAllStringFunc(src, func(m string) string {
		word := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(m), "> [!"), "]")
		return "> **" + strings.ToUpper(word[:1]) + strings.ToLower(word[1:]) + ":**"
	})
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(buf.String()) //nolint:gosec // goldmark's safe mode, see markdown above
}
