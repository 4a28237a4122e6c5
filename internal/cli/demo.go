package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
)

func runDemo(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "demo", "[DIR] [--example NAME] [--no-tofu]")
	example := fs.String("example", examples.Demo, "built-in example: "+strings.Join(examples.Names(), ", "))
	noTofu := fs.Bool("no-tofu", false, "skip the OpenTofu check")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := "nassella-demo"
	if len(pos) == 1 {
		dir = pos[0]
	}
	data, ok := examples.Get(*example)
	if !ok {
		return usageError{fmt.Sprintf("no example %q; choose one of %s", *example, strings.Join(examples.Names(), ", "))}
	}
	siteFile := filepath.Join(dir, "site.yaml")
	if cur, err := os.ReadFile(siteFile); err == nil && !bytes.Equal(cur, data) {
		return fmt.Errorf("%s already holds another site.yaml; name an empty or new folder", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(siteFile, data, 0o644); err != nil {
		return err
	}
	cat := catalog.Embedded()
	if _, err := generate(s.Out, siteFile, dir, cat, false); err != nil {
		return err
	}
	return validateDir(ctx, s, dir, cat, "", *noTofu, false)
}
