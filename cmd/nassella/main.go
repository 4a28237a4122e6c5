// Command nassella generates, validates and maintains self-hosted sites.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nassella/nassella/internal/cli"
)

func main() {
	// SIGTERM too: a container runtime stops the console with it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
