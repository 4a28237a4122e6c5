package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/render/terraform"
)

// tofuCheck runs `tofu init` (offline: providers come from the CLI config's mirror, no
// backend) and `tofu validate` on a copy of the repo's Terraform, so the repo itself gets
// no .terraform folder or lock file. It also checks the files are `tofu fmt` clean.
func tofuCheck(ctx context.Context, dir, tofu string) Check {
	c := Check{Name: "opentofu validate"}
	work, err := os.MkdirTemp("", "nassella-validate-")
	if err != nil {
		c.Err = err
		return c
	}
	defer os.RemoveAll(work)
	if err := copyDir(filepath.Join(dir, terraform.Dir), filepath.Join(work, terraform.Dir)); err != nil {
		c.Err = err
		return c
	}
	if err := copyFile(filepath.Join(dir, filepath.FromSlash(butane.IgnitionPath)), filepath.Join(work, filepath.FromSlash(butane.IgnitionPath))); err != nil {
		c.Err = err
		return c
	}
	tf, err := tfexec.NewTerraform(filepath.Join(work, terraform.Dir), tofu)
	if err != nil {
		c.Err = err
		return c
	}
	if err := tf.Init(ctx, tfexec.Backend(false)); err != nil {
		c.Err = fmt.Errorf("tofu init: %w (providers are installed from the mirror named by TF_CLI_CONFIG_FILE)", err)
		return c
	}
	out, err := tf.Validate(ctx)
	if err != nil {
		c.Err = fmt.Errorf("tofu validate: %w", err)
		return c
	}
	if !out.Valid {
		msg := ""
		for _, d := range out.Diagnostics {
			msg += fmt.Sprintf("%s: %s: %s\n", d.Severity, d.Summary, d.Detail)
		}
		c.Err = fmt.Errorf("tofu validate found %d errors:\n%s", out.ErrorCount, msg)
		return c
	}
	ok, unformatted, err := tf.FormatCheck(ctx)
	if err != nil {
		c.Err = fmt.Errorf("tofu fmt: %w", err)
		return c
	}
	if !ok {
		c.Err = fmt.Errorf("not tofu fmt clean: %v", unformatted)
		return c
	}
	c.Detail = fmt.Sprintf("%d warnings", out.WarningCount)
	return c
}

func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() == terraform.PreviousDir && filepath.Base(src) == terraform.Dir {
			// The module of the platform a moving site leaves (its only child module).
			if err := copyDir(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
			continue
		}
		if e.IsDir() || e.Name() == ".terraform.lock.hcl" {
			continue // .terraform and friends are local working files
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
