package rehearsal_test

import (
	"context"
	"os"
	"testing"

	"github.com/nassella/nassella/internal/cli"
)

// cliEnv set to 1 makes the test binary run as `nassella` (the arguments are the
// command's), so a test runs the real CLI as a program with its own environment: what
// OpenTofu reads from the environment (TF_VAR_*) differs between parallel tests.
const cliEnv = "NASSELLA_REHEARSAL_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		os.Exit(cli.Run(context.Background(), cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:]))
	}
	os.Exit(m.Run())
}
