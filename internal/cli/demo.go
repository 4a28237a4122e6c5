package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/pipelines/initsite"
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
	r, res, err := initsite.Example(dir, data)
	if err != nil {
		return err
	}
	printGenerated(s.Out, r, res)
	return validateDir(ctx, s, validateOptions{dir: dir, noTofu: *noTofu})
}
