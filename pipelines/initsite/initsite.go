// Package initsite makes new site repos: from the template's site.yaml skeleton filled
// with what the owner gave (nassella init), or from a built-in example (nassella demo).
package initsite

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/tree"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/siterepo"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// Options are what nassella init was told.
type Options struct {
	Dir     string // a new or empty folder
	Name    string // the site's short name; default: the folder's name
	Domain  string
	Email   string // the admin's address
	KeyFile string // the admin's public SSH key (.pub)
	// LocalState leaves state: out, so OpenTofu keeps its state in the folder: for trying
	// a site out on one machine only (validate refuses it in CI).
	LocalState bool
	// AuthorName and AuthorEmail sign the first commit.
	AuthorName, AuthorEmail string
}

// Result is the new repo.
type Result struct {
	Commit string // the first commit's message
	// Repo is the generated repo when the skeleton was complete; nil otherwise.
	Repo      *siterepo.Repo
	Generated tree.Result
	// Missing is what site.yaml still needs before it generates (a diag.List), when Repo is nil.
	Missing error
}

// FirstCommit is the message of a new repo's first commit.
const FirstCommit = "New site from nassella"

// Init makes a site repo in opt.Dir: the skeleton filled in, .gitignore and NOTES.md,
// generated right away when the skeleton is complete (otherwise the owner edits first),
// all in a first commit.
func Init(opt Options) (*Result, error) {
	if err := emptyFolder(opt.Dir); err != nil {
		return nil, err
	}
	text, err := skeleton(opt)
	if err != nil {
		return nil, err
	}
	gitignore, err := fs.ReadFile(sitetemplate.FS, "gitignore")
	if err != nil {
		return nil, err
	}
	files := map[string]string{siterepo.SiteFile: text, ".gitignore": string(gitignore), "NOTES.md": notes}
	if err := writeFiles(opt.Dir, files); err != nil {
		return nil, err
	}
	res := &Result{Commit: FirstCommit}
	if err := res.generate(opt.Dir); err != nil {
		return nil, err
	}
	if err := commit(opt.Dir, FirstCommit, opt.AuthorName, opt.AuthorEmail); err != nil {
		return nil, err
	}
	return res, nil
}

// generate generates the new repo, or records what site.yaml still needs and puts the
// schema in place that the skeleton's first line points editors at.
func (res *Result) generate(dir string) error {
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err == nil {
		res.Repo = r
		res.Generated, err = r.Regenerate()
		return err
	}
	var diags diag.List
	if !errors.As(err, &diags) {
		return err
	}
	res.Missing = err
	schema, err := site.Schema()
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string]string{filepath.FromSlash(generator.SchemaPath): string(schema)})
}

// skeleton is the template's site.yaml with the owner's details put in.
func skeleton(opt Options) (string, error) {
	data, err := fs.ReadFile(sitetemplate.FS, siterepo.SiteFile)
	if err != nil {
		return "", err
	}
	text := string(data)
	name := opt.Name
	if name == "" {
		name = strings.ToLower(filepath.Base(filepath.Clean(opt.Dir)))
	}
	replace := func(old, new string) { text = strings.ReplaceAll(text, old, new) }
	domain := exampleDomain
	if opt.Domain != "" {
		domain = opt.Domain
		replace(exampleDomain, domain)
	}
	replace("name: mysite", "name: "+name)
	replace("bucket: mysite-backups", "bucket: "+name+"-backups")
	replace("bucket: mysite-state", "bucket: "+name+"-state")
	if opt.Email != "" {
		replace("admin@"+domain, opt.Email)
	}
	if opt.LocalState {
		text = stateBlock.ReplaceAllString(text, "")
	}
	if opt.KeyFile != "" {
		key, err := os.ReadFile(opt.KeyFile)
		if err != nil {
			return "", err
		}
		k := strings.TrimSpace(string(key))
		if strings.Contains(k, "PRIVATE KEY") {
			return "", fmt.Errorf("%s is a private key; pass the public key (the .pub file)", opt.KeyFile)
		}
		replace(exampleKeyLine, k)
	}
	return text, nil
}

// stateBlock is the skeleton's state: section with the comment above it.
var stateBlock = regexp.MustCompile(`(?m)(^#.*\n)*^state:\n(^[ \t]+.*\n)*`)

// exampleDomain is the template's placeholder domain.
const exampleDomain = "mysite.example"

// exampleKeyLine is the template's placeholder key, refused by validation.
const exampleKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f replace-with-your-key"

const notes = "# Notes\n\nYour own notes about this site. nassella never changes this file.\n"

// Example writes a built-in example's site.yaml into dir and generates it; a dir holding
// another site is refused.
func Example(dir string, data []byte) (*siterepo.Repo, tree.Result, error) {
	if cur, err := os.ReadFile(filepath.Join(dir, siterepo.SiteFile)); err == nil && !bytes.Equal(cur, data) {
		return nil, tree.Result{}, fmt.Errorf("%s already holds another %s; name an empty or new folder", dir, siterepo.SiteFile)
	}
	if err := writeFiles(dir, map[string]string{siterepo.SiteFile: string(data)}); err != nil {
		return nil, tree.Result{}, err
	}
	r, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		return nil, tree.Result{}, err
	}
	res, err := r.Regenerate()
	return r, res, err
}

func emptyFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s is not empty; nassella init makes a new site repo in a new or empty folder", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// writeFiles writes files (relative paths → contents) under dir, making folders as needed.
func writeFiles(dir string, files map[string]string) error {
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
