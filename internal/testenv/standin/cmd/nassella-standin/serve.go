package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serve is the server mode: markers first, then every port, then the ready file the health
// tools read; until SIGTERM or SIGINT, which end it with status 0.
func serve(prog string, args []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s (nassella stand-in for %s): %v\n", prog, os.Getenv(envFor), err)
		return 1
	}
	ports, err := parseHTTP(os.Getenv(envHTTP))
	if err != nil {
		return fail(err)
	}
	dirs, err := dataDirs()
	if err != nil {
		return fail(fmt.Errorf("finding the data folders: %w", err))
	}
	ids := map[string]string{}
	for _, dir := range dirs {
		m, err := markStart(dir, os.Getenv(envImage))
		if err != nil {
			return fail(fmt.Errorf("marking the data folder %s: %w", dir, err))
		}
		ids[dir] = m.ID
		fmt.Fprintf(stdout, "marker %s: id %s, start %d\n", dir, m.ID, m.Starts)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	var mu sync.Mutex // one log line at a time
	claims := newClaimer(dirs)
	var servers []*http.Server
	var listening []string
	errc := make(chan error, len(ports))
	for _, p := range sortedPorts(ports) {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			return fail(err)
		}
		srv := &http.Server{Handler: handler(p, ports[p], ids, &mu, stdout, claims), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		listening = append(listening, strconv.Itoa(p))
		go func() { errc <- srv.Serve(ln) }()
	}
	ready := filepath.Join(stateDir(), "ready")
	if err := os.MkdirAll(stateDir(), 0o755); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(ready, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fail(err)
	}
	defer os.Remove(ready)
	fmt.Fprintf(stdout, "nassella stand-in for %s (%s) ready: ports [%s], arguments %q\n",
		os.Getenv(envFor), prog, strings.Join(listening, " "), args)

	select {
	case sig := <-stop:
		fmt.Fprintf(stdout, "%v: stopping\n", sig)
	case err := <-errc:
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(ctx)
	}
	return 0
}

// parseHTTP reads envHTTP: port → health path → status.
func parseHTTP(v string) (map[int]map[string]int, error) {
	ports := map[int]map[string]int{}
	for _, e := range strings.Fields(v) {
		port, health, _ := strings.Cut(e, ":")
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("%s: %q is not port:path=status", envHTTP, e)
		}
		if ports[p] == nil {
			ports[p] = map[string]int{}
		}
		if health == "" {
			continue
		}
		path, status, _ := strings.Cut(health, "=")
		s, err := strconv.Atoi(status)
		if err != nil || !strings.HasPrefix(path, "/") || s < 100 || s > 599 {
			return nil, fmt.Errorf("%s: %q is not port:path=status", envHTTP, e)
		}
		ports[p][path] = s
	}
	return ports, nil
}

func sortedPorts(ports map[int]map[string]int) []int {
	out := make([]int, 0, len(ports))
	for p := range ports {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// answer is the stand-in's JSON answer to every request.
type answer struct {
	Standin string            `json:"standin"`
	Image   string            `json:"image"`
	Port    int               `json:"port"`
	Path    string            `json:"path"`
	Host    string            `json:"host"`
	Health  bool              `json:"health,omitempty"`
	Markers map[string]string `json:"markers"` // data folder → marker id
}

// handler answers the health paths with the catalog's status and everything else 200, and
// logs one line per request.
func handler(port int, health map[string]int, ids map[string]string, mu *sync.Mutex, log io.Writer, claims http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if own, ok := map[string]http.Handler{ClaimPath: claims, MailPath: http.HandlerFunc(sendMail)}[r.URL.Path]; ok {
			mu.Lock()
			fmt.Fprintf(log, "%s %s %s%s (%s)\n", r.RemoteAddr, r.Method, r.Host, r.URL.RequestURI(), path.Base(r.URL.Path))
			mu.Unlock()
			own.ServeHTTP(w, r)
			return
		}
		status, isHealth := health[r.URL.Path]
		if !isHealth {
			status = http.StatusOK
		}
		mu.Lock()
		fmt.Fprintf(log, "%s %s %s%s %d\n", r.RemoteAddr, r.Method, r.Host, r.URL.RequestURI(), status)
		mu.Unlock()
		body, _ := json.Marshal(answer{
			Standin: "nassella stand-in for " + os.Getenv(envFor), Image: os.Getenv(envImage),
			Port: port, Path: r.URL.Path, Host: r.Host, Health: isHealth, Markers: ids,
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if bodyAllowed(status) {
			w.Write(append(body, '\n'))
		}
	})
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
