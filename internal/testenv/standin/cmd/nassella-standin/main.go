// Command nassella-standin stands in for every app container in nassella's rehearsal: it is
// NOT the app. internal/testenv/standin packages it under each catalog image's name; the
// image's environment says which services it stands in for, which ports to serve and which
// programs run it as a server.
//
// Invoked as nassella-standin (the image's entrypoint) or as one of the programs listed in
// NASSELLA_STANDIN_SERVE (a service's compose entrypoint, e.g. Nextcloud's /cron.sh), it is a
// server: it marks every writable data folder of the container (see markers.go), answers
// HTTP on the app's ports (serve.go; claim.go and mail.go play the app's first
// administrator and its outgoing e-mail) and runs until SIGTERM. Invoked under a tool's name
// (pg_isready, pg_dump, /vaultwarden, ...; see tools.go) it does what the host needs of that
// tool. It uses only the standard library, so it builds static with CGO_ENABLED=0.
package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

// The environment the image bakes in (internal/testenv/standin writes it).
const (
	envFor   = "NASSELLA_STANDIN_FOR"   // "app/service ..." this image stands in for
	envImage = "NASSELLA_STANDIN_IMAGE" // the image reference
	// "port:path=status ..." to serve; a port with no health path is "port:".
	envHTTP = "NASSELLA_STANDIN_HTTP"
	// Programs (as the catalog names them) that start the server, besides nassella-standin.
	envServe = "NASSELLA_STANDIN_SERVE"
	// Where the server says it is ready (its pid), for the health tools; /run/nassella-standin.
	envState = "NASSELLA_STANDIN_STATE"
	// The data folders, ":"-separated, instead of the container's writable mounts (tests).
	envData = "NASSELLA_STANDIN_DATA"
)

const self = "nassella-standin"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	prog, rest := args[0], args[1:]
	name := path.Base(prog)
	switch {
	case name == self && len(rest) == 1 && rest[0] == "-list-tools":
		// Build asks which programs the stand-in can be, to check the catalog against it.
		for _, n := range toolNames() {
			fmt.Fprintln(stdout, n)
		}
		return 0
	case name == self || slices.Contains(strings.Fields(os.Getenv(envServe)), prog):
		return serve(prog, rest, stdout, stderr)
	}
	if t, ok := tools[name]; ok {
		return t(prog, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "%s: this is nassella's stand-in for %s, which has no tool %q (internal/testenv/standin/cmd/nassella-standin/tools.go lists the tools)\n",
		name, os.Getenv(envFor), name)
	return 127
}

func stateDir() string {
	if d := os.Getenv(envState); d != "" {
		return d
	}
	return "/run/nassella-standin"
}
