package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/diag"
	sitetemplate "github.com/nassella/nassella/site-template"
)

var authorRe = regexp.MustCompile(`^([^<>]+) <([^<>@\s]+@[^<>\s]+)>$`)

func runInit(ctx context.Context, s Streams, args []string) error {
	f := flags(s, "init", "DIR [--name NAME] [--domain DOMAIN] [--email EMAIL] [--ssh-key-file FILE]")
	name := f.String("name", "", "the site's short name (default: the folder's name)")
	domain := f.String("domain", "", "the domain the apps live under")
	email := f.String("email", "", "the admin's email address")
	keyFile := f.String("ssh-key-file", "", "a public SSH key file (.pub) for the admin")
	author := f.String("author", "nassella <nassella@localhost>", "git author of the first commit, as `Name <email>`")
	pos, err := parse(f, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"name the folder for the new site repo: nassella init DIR"}
	}
	dir := pos[0]
	m := authorRe.FindStringSubmatch(*author)
	if m == nil {
		return usageError{fmt.Sprintf("--author %q must look like 'Name <email>'", *author)}
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; nassella init makes a new site repo in a new or empty folder", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	skeleton, err := fs.ReadFile(sitetemplate.FS, "site.yaml")
	if err != nil {
		return err
	}
	text := string(skeleton)
	if *name == "" {
		*name = strings.ToLower(filepath.Base(filepath.Clean(dir)))
	}
	replace := func(old, new string) { text = strings.ReplaceAll(text, old, new) }
	if *domain != "" {
		replace("mysite.example", *domain)
	}
	replace("name: mysite", "name: "+*name)
	replace("bucket: mysite-backups", "bucket: "+*name+"-backups")
	if *email != "" {
		replace("admin@"+firstNonEmpty(*domain, "mysite.example"), *email)
	}
	if *keyFile != "" {
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		k := strings.TrimSpace(string(key))
		if strings.Contains(k, "PRIVATE KEY") {
			return fmt.Errorf("%s is a private key; pass the public key (the .pub file)", *keyFile)
		}
		replace(exampleKeyLine, k)
	}
	gitignore, err := fs.ReadFile(sitetemplate.FS, "gitignore")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for p, body := range map[string]string{"site.yaml": text, ".gitignore": string(gitignore), "NOTES.md": notes} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			return err
		}
	}

	// Generate right away when the skeleton is complete; otherwise the owner edits first.
	cat := catalog.Embedded()
	_, genErr := generate(s.Out, filepath.Join(dir, "site.yaml"), dir, cat, false)
	var diags diag.List
	if genErr != nil && !errors.As(genErr, &diags) {
		return genErr
	}
	if genErr != nil {
		// The skeleton's first line points editors at the schema: it must be there while
		// the owner fills the skeleton in.
		schema, err := site.Schema()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(generator.SchemaPath))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, schema, 0o644); err != nil {
			return err
		}
	}

	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddGlob("."); err != nil {
		return fmt.Errorf("git add: %w", err)
	}
	msg := "New site from nassella"
	sig := &object.Signature{Name: m[1], Email: m[2], When: time.Now()}
	if _, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	fmt.Fprintf(s.Out, "made a new site repo in %s (first commit: %q)\n", dir, msg)
	if genErr != nil {
		fmt.Fprintf(s.Out, "next: edit %s, then run nassella generate in it. It still needs:\n%v\n", filepath.Join(dir, "site.yaml"), genErr)
	}
	return nil
}

// exampleKeyLine is the template's placeholder key, refused by validation.
const exampleKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f replace-with-your-key"

const notes = "# Notes\n\nYour own notes about this site. nassella never changes this file.\n"

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func closest(s string, candidates []string) string { return diag.Closest(s, candidates) }
