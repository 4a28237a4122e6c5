package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nassella/nassella/internal/cmdline"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"nassella-console": func() {
			os.Exit(run(context.Background(), cmdline.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:]))
		},
	})
}

// TestScripts runs the scenarios in testdata/scripts: how nassella-console answers
// being called wrongly. (ci-images' TestConsoleImage runs it serving, in its image.)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/scripts"})
}
