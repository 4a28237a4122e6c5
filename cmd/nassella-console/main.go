// Command nassella-console is the console alone (nassella console, pipelines/console):
// what the console's image runs. It links none of the other commands' tools (Caddy,
// actionlint, OpenTofu's driver), which keeps the image small.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nassella/nassella/internal/cmdline"
	"github.com/nassella/nassella/pipelines/console"
)

func main() {
	// SIGTERM too: a container runtime stops the console with it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cmdline.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s cmdline.Streams, args []string) int {
	return cmdline.ExitCode(s, "nassella-console", console.Command(ctx, s, "nassella-console", args))
}
