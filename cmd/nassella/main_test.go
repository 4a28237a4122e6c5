package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nassella/nassella/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"nassella": func() {
			os.Exit(cli.Run(context.Background(), cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:]))
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/scripts. Scenarios that validate with
// OpenTofu need NASSELLA_TOFU and TF_CLI_CONFIG_FILE (set by .ci/tools.sh); they are
// passed through to the scripts.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/scripts",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			for _, k := range []string{"NASSELLA_TOFU", "TF_CLI_CONFIG_FILE", "CI"} {
				env.Setenv(k, os.Getenv(k))
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "tofu" {
				return os.Getenv("NASSELLA_TOFU") != "" || os.Getenv("CI") != "", nil
			}
			return false, nil
		},
	})
}
