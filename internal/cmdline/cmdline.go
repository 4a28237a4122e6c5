// Package cmdline is what nassella's commands share with each other and with the
// console's own binary (cmd/nassella-console): streams, flag sets that report errors
// instead of exiting, and the exit code an error maps to. It imports nothing of the
// project, so a binary that needs one command does not link the others.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Streams are where a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// UsageError is a mistake in how the command was called: exit code 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// UsageMistake marks the error as a usage mistake for ExitCode.
func (UsageError) UsageMistake() {}

// usageMistake is any error type that says the command was called wrongly (UsageError,
// or a package's own short-hand type with the same method).
type usageMistake interface {
	error
	UsageMistake()
}

// Flags returns a flag set that reports errors instead of exiting; prog is how the
// usage line names the command ("nassella generate", "nassella-console").
func Flags(s Streams, prog, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: %s %s\n", prog, args)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses flags and returns the positional arguments, which may come before or
// after the flags.
func Parse(fs *flag.FlagSet, args []string, maxPositional int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, UsageError{Msg: err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > maxPositional {
		return nil, UsageError{Msg: fmt.Sprintf("unexpected argument %q", pos[maxPositional])}
	}
	return pos, nil
}

// ExitCode reports err on s.Err and returns the process's exit code: 0 for none or a
// help request, 2 for a usage mistake (prefixed with prog), 1 for anything else (whose
// message already says what failed).
func ExitCode(s Streams, prog string, err error) int {
	var ue usageMistake
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(s.Err, "%s: %v\n", prog, err)
		return 2
	default:
		fmt.Fprintf(s.Err, "%v\n", err)
		return 1
	}
}
