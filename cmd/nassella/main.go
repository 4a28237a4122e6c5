// Command nassella generates, validates and maintains self-hosted sites.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/nassella/nassella/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
