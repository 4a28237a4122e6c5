package initsite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
)

// init writes what the workflows need (state, buckets named after the site, the place
// bootstrap writes the backup key), and starts the history with a commit holding no
// files: bootstrap pushes that one alone to main, the site comes as a pull request.
func TestInit(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "me.pub")
	os.WriteFile(keyFile, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL6zIlYuTieo/a8PKqyVimoJXH/zvG6W+U7MfCE05fDL ops@acme\n"), 0o644)
	for _, tc := range []struct {
		name      string
		local     bool
		want, not []string
	}{
		{"with state", false, []string{"bucket: acme-backups", "state:\n  s3: { endpoint: \"https://fsn1.your-objectstorage.com\", bucket: acme-state }", "# backup_key: nassella bootstrap writes this line", "# support: {"}, nil},
		{"local state", true, []string{"bucket: acme-backups"}, []string{"state:", "acme-state", "Where OpenTofu keeps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "acme")
			res, err := Init(Options{Dir: dir, Domain: "acme.org", KeyFile: keyFile, LocalState: tc.local, AuthorName: "me", AuthorEmail: "me@nassella.invalid"})
			if err != nil || res.Missing != nil || res.Repo == nil {
				t.Fatalf("init: %v, missing %v", err, res.Missing)
			}
			data, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
			for _, w := range tc.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("site.yaml lacks %q:\n%s", w, data)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(string(data), w) {
					t.Errorf("site.yaml has %q:\n%s", w, data)
				}
			}
			repo, _ := git.PlainOpen(dir)
			head, err := repo.Head()
			if err != nil || head.Name().Short() != "main" {
				t.Fatalf("head: %v %v", head, err)
			}
			c, _ := repo.CommitObject(head.Hash())
			root, err := c.Parent(0)
			if err != nil || root.NumParents() != 0 || root.Message != StartCommit {
				t.Fatalf("the first commit: %v %v", root, err)
			}
			if tree, _ := root.Tree(); len(tree.Entries) != 0 {
				t.Errorf("the first commit holds %d files, want none", len(tree.Entries))
			}
		})
	}
}
