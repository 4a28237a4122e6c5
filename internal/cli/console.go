package cli

import (
	"context"

	"github.com/nassella/nassella/pipelines/console"
)

// runConsole is nassella console; the console's own image runs the same command as
// nassella-console (cmd/nassella-console), a binary without the other commands.
func runConsole(ctx context.Context, s Streams, args []string) error {
	return console.Command(ctx, s, "nassella console", args)
}
