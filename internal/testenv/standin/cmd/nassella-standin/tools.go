package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tool is what the stand-in does when run under a program's name.
type tool func(prog string, args []string, stdout, stderr io.Writer) int

// tools are the programs the catalog's services run (health checks, backup hooks), by base
// name; Build refuses a catalog that runs one missing here that busybox does not provide.
// Each says what the real program does, then what the stand-in does instead.
var tools = map[string]tool{
	// PostgreSQL's pg_isready (docs: app-pg-isready) exits 0 and prints "accepting
	// connections" when the server takes connections, 2 "no response" when it does not.
	// Here: the stand-in server is running.
	"pg_isready": func(_ string, _ []string, stdout, _ io.Writer) int {
		if err := serverUp(); err != nil {
			fmt.Fprintln(stdout, "/var/run/postgresql:5432 - no response")
			return 2
		}
		fmt.Fprintln(stdout, "/var/run/postgresql:5432 - accepting connections")
		return 0
	},
	// pg_dump prints one database as SQL; it needs the server. Here: the dump of the markers.
	"pg_dump": dumpFromServer,
	// pg_dumpall prints the whole cluster (roles too) as SQL; it needs the server. Here: the
	// dump of the markers.
	"pg_dumpall": dumpFromServer,
	// redis-cli ping prints PONG when the server answers, else "Could not connect" and exits 1.
	"redis-cli": ping("Redis"),
	// valkey-cli is Valkey's redis-cli: the same.
	"valkey-cli": ping("Valkey"),
	// sqlite3 FILE .dump prints the database file as SQL, with no server. Here: the dump of
	// the markers.
	"sqlite3": func(prog string, args []string, stdout, stderr io.Writer) int {
		if len(args) != 2 || args[1] != ".dump" {
			fmt.Fprintf(stderr, "%s: the stand-in only does: sqlite3 FILE .dump (got %q)\n", prog, args)
			return 1
		}
		return dump(prog, stdout, stderr)
	},
	// Vaultwarden's image health check (docker/healthcheck.sh) fetches /alive from the server
	// with curl --fail. Here: the server is running and every health path gives its status.
	"healthcheck.sh": func(prog string, _ []string, _, stderr io.Writer) int {
		if err := serverUp(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
		if err := healthy(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
		return 0
	},
	// /vaultwarden backup writes a copy of the SQLite database with VACUUM INTO
	// '<data folder>/db_<UTC %Y%m%d_%H%M%S>.sqlite3' and prints "Backup to '<file>' was
	// successful" (vaultwarden 1.34.3 src/db/mod.rs backup_database, src/main.rs); the data
	// folder is DATA_FOLDER, default "data" (src/config.rs), /data from the image's working
	// directory /. Without arguments it is the server. Here: the file holds the dump of the
	// markers.
	"vaultwarden": func(prog string, args []string, stdout, stderr io.Writer) int {
		switch {
		case len(args) == 0:
			return serve(prog, args, stdout, stderr)
		case len(args) == 1 && args[0] == "backup":
		default:
			fmt.Fprintf(stderr, "%s: the stand-in only does: vaultwarden [backup] (got %q)\n", prog, args)
			return 1
		}
		folder := os.Getenv("DATA_FOLDER")
		if folder == "" {
			folder = "data"
		}
		file := filepath.Join(folder, "db_"+time.Now().UTC().Format("20060102_150405")+".sqlite3")
		var b bytes.Buffer
		if err := writeDump(&b, prog+" backup"); err != nil {
			fmt.Fprintf(stdout, "Backup failed. %v\n", err)
			return 1
		}
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stdout, "Backup failed. %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Backup to '%s' was successful\n", file)
		return 0
	},
}

func toolNames() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func dumpFromServer(prog string, _ []string, stdout, stderr io.Writer) int {
	if err := serverUp(); err != nil {
		fmt.Fprintf(stderr, "%s: error: connection to server failed: %v\n", prog, err)
		return 1
	}
	return dump(prog, stdout, stderr)
}

func dump(prog string, stdout, stderr io.Writer) int {
	if err := writeDump(stdout, prog); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}

func ping(server string) tool {
	return func(prog string, args []string, stdout, stderr io.Writer) int {
		if len(args) != 1 || !strings.EqualFold(args[0], "ping") {
			fmt.Fprintf(stderr, "%s: the stand-in only does: %s ping (got %q)\n", prog, filepath.Base(prog), args)
			return 1
		}
		if err := serverUp(); err != nil {
			fmt.Fprintf(stderr, "Could not connect to %s at 127.0.0.1:6379: %v\n", server, err)
			return 1
		}
		fmt.Fprintln(stdout, "PONG")
		return 0
	}
}

// serverUp says whether the stand-in server of this container has marked its data and
// opened its ports: its ready file names a live process.
func serverUp() error {
	data, err := os.ReadFile(filepath.Join(stateDir(), "ready"))
	if err != nil {
		return errors.New("the stand-in server is not running (no ready file)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return fmt.Errorf("the stand-in's ready file holds %q, not a pid", data)
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("the stand-in server (pid %d) is gone", pid)
	}
	return nil
}

// healthy fetches every health path on its port and compares the status with the catalog's.
func healthy() error {
	ports, err := parseHTTP(os.Getenv(envHTTP))
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range sortedPorts(ports) {
		for path, want := range ports[p] {
			url := "http://127.0.0.1:" + strconv.Itoa(p) + path
			resp, err := client.Get(url)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("%s answered %d, not %d", url, resp.StatusCode, want)
			}
		}
	}
	return nil
}
