package validate

import (
	"crypto/ed25519"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/site"
	sitetemplate "github.com/nassella/nassella/site-template"
)

func newPublicKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ssh.NewPublicKey(pub)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}

// skeleton is site-template/site.yaml with the owner's key in place of the example key
// (which site.yaml refuses when it loads), edited by the replacer's pairs.
func skeleton(t *testing.T, pairs ...string) string {
	t.Helper()
	data, err := fs.ReadFile(sitetemplate.FS, "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f replace-with-your-key", newPublicKey(t, "me@laptop"), 1)
	return strings.NewReplacer(pairs...).Replace(text)
}

// The skeleton as it comes is refused for an apply with every reason at its line; each
// fix on its own lets that reason go; a complete site passes.
func TestApplicable(t *testing.T) {
	complete := func(t *testing.T) string {
		return skeleton(t,
			"mysite.example", "apps.riverside.coop",
			"name: mysite", "name: riverside",
			"mysite-backups", "riverside-backups",
			"mysite-state", "riverside-state",
			"  # backup_key: nassella bootstrap writes this line (the public half of the CI secret BACKUP_SSH_KEY)", `  backup_key: "`+newPublicKey(t, "nassella-ci-backup")+`"`,
		)
	}
	for _, tc := range []struct {
		name string
		text func(t *testing.T) string
		want []string // each "LINE: words", in order; none: it passes
	}{
		{"skeleton", func(t *testing.T) string { return skeleton(t) }, []string{
			"6:9: mysite.example is a placeholder, not your domain: .example names are reserved",
			"7:1: there is no admin.backup_key",
			"26:68: mysite-backups is the template's example bucket name; name the bucket after your site, like acme-backups",
			"38:66: mysite-state is the template's example bucket name",
		}},
		{"complete", complete, nil},
		{"no state", func(t *testing.T) string {
			text := complete(t)
			return text[:strings.Index(text, "# Where OpenTofu keeps")]
		}, []string{"4:1: there is no state: every run would forget what it created and try to create the server again; add state: { s3: { endpoint: \"https://fsn1.your-objectstorage.com\", bucket: riverside-state } }"}},
		{"example.org app domain", func(t *testing.T) string {
			return strings.Replace(complete(t), "vaultwarden: {}", "vaultwarden: { domain: example.org }", 1)
		}, []string{"21:26: example.org is a placeholder, not your domain: example.org is reserved for examples (RFC 2606)"}},
		{".test domain", func(t *testing.T) string {
			return strings.Replace(complete(t), "apps.riverside.coop", "riverside.test", 1)
		}, []string{"6:9: riverside.test is a placeholder, not your domain: .test names are reserved"}},
		{"placeholder endpoint", func(t *testing.T) string {
			return strings.Replace(complete(t), `s3: { endpoint: "https://fsn1.your-objectstorage.com", bucket: riverside-state }`, `s3: { endpoint: "https://s3.storage.invalid", bucket: riverside-state }`, 1)
		}, []string{"38:19: https://s3.storage.invalid is a placeholder, not your storage provider's address: .invalid names are reserved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text(t)
			l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
			if err != nil {
				t.Fatalf("the site does not load: %v\n%s", err, text)
			}
			got := applicable("site.yaml", []byte(text), l).Err()
			if len(tc.want) == 0 {
				if got != nil {
					t.Fatalf("refused a complete site:\n%v", got)
				}
				return
			}
			if got == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(got.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), got)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], "site.yaml:"+w) {
					t.Errorf("problem %d:\n got %s\nwant site.yaml:%s…", i+1, lines[i], w)
				}
			}

			// For an apply they fail the check; otherwise they are a warning.
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(text), 0o644)
			if c := applicableCheck(dir, l, true); c.Err == nil || c.Warning != "" {
				t.Errorf("for apply: %+v", c)
			}
			if c := applicableCheck(dir, l, false); c.Err != nil || !strings.Contains(c.Warning, lines[0]) {
				t.Errorf("locally: %+v", c)
			}
		})
	}
}
