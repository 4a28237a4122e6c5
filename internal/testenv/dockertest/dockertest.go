// Package dockertest runs a private, real Docker daemon for tests (Debian's dockerd and the
// Compose CLI plugin at the catalog's version, both from .ci/tools-docker.sh), in which the
// site's generated compose files and host scripts run unmodified.
//
// Those files name absolute host paths (/etc/nassella/..., /var/lib/nassella/...,
// /var/cache/nassella/...) that a test must not write on the machine it runs on. So the
// daemon runs in a mount namespace of its own, where each such path is a bind mount of a
// temp folder: the daemon, the containers' bind mounts and the commands started with Run
// see the temp folders there; the rest of the machine sees nothing of them.
//
// Only the mount namespace is private. Networks, bridges and published ports are the
// machine's, so the daemon stays off what another dockerd on it may own: no default
// bridge (docker0), no iptables rules, no sysctl change; user-defined networks (each
// compose project has its own) get bridges with unique names, and published ports are
// served by docker-proxy, the userland proxy, on the machine's own addresses.
package dockertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Daemon is a running private dockerd.
type Daemon struct {
	dir    string // private folder: socket, data, exec root, client config, log
	sock   string
	docker string // docker client, first on PATH for Run
	nsen   string // nsenter
	cmd    *exec.Cmd
	exited chan struct{} // closed when dockerd has exited
	mntNS  string        // dockerd's mount namespace, "mnt:[inode]"
	log    string
	jrnl   *journal
	dns    []string
}

// tool returns the path of a tool named by env (if not ""), or found on PATH by name.
// Without it the test is skipped, or fails when CI is set (CI must run it, as
// internal/testenv/testtool).
func tool(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); env != "" && p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if env == "" {
		missing(t, name+" is not on PATH")
	}
	missing(t, fmt.Sprintf("%s is not set and %s is not on PATH", env, name))
	return ""
}

func missing(t testing.TB, why string) {
	t.Helper()
	const fix = `run eval "$(bash .ci/tools-docker.sh)" as root first`
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: CI must %s", why, fix)
	}
	t.Skipf("%s; %s", why, fix)
}

// Start starts a private Docker daemon for the calling test binary, in its own mount
// namespace where each key of binds (an absolute path such as /var/lib/nassella) is a bind
// mount of its value (a directory). It skips the test when dockerd or the compose plugin
// is missing (NASSELLA_DOCKERD / NASSELLA_COMPOSE_PLUGIN, or on PATH) and CI is unset, and
// fails it when CI is set. Stopped and cleaned at t.Cleanup.
//
// /run/systemd/journal is bound too, to a socket standing in for journald's (see Journal),
// unless binds has it.
//
// A bind mount needs its target to exist: a target missing on the machine is created there
// as an empty folder (and its missing parents) and left in place. Removing it at cleanup
// would not be safe: since Linux 3.18 removing a folder detaches the mounts on it in every
// mount namespace, so it would pull the bind from under another test binary's daemon using
// the same path at the same time.
func Start(t testing.TB, binds map[string]string) *Daemon {
	t.Helper()
	return StartWith(t, Options{Binds: binds})
}

// Options are the settings of a daemon StartWith starts.
type Options struct {
	Binds map[string]string // as Start's binds
	// DNS are the name servers every container gets in its /etc/resolv.conf, those on the
	// host's network too (dockerd's "dns" setting; measured with dockerd 20.10), instead
	// of the machine's: e.g. a test's DNS server on a loopback address, port 53.
	DNS []string
}

// StartWith is Start with more settings.
func StartWith(t testing.TB, o Options) *Daemon {
	t.Helper()
	binds := o.Binds
	if os.Geteuid() != 0 {
		missing(t, "dockerd needs root")
	}
	dockerd := tool(t, "NASSELLA_DOCKERD", "dockerd")
	plugin := tool(t, "NASSELLA_COMPOSE_PLUGIN", "docker-compose")
	d := &Daemon{
		docker: tool(t, "NASSELLA_DOCKER", "docker"),
		nsen:   tool(t, "", "nsenter"), // util-linux, as unshare
		dns:    o.DNS,
	}
	unshare := tool(t, "", "unshare")

	// Not t.TempDir: a unix socket path has at most 107 bytes, and test names are long.
	// dockerd's overlay2 needs the folder on a file system that takes it (ext4, xfs,
	// tmpfs): --storage-driver is explicit so it fails clearly rather than falling back
	// to the slow vfs driver.
	dir, err := os.MkdirTemp("", "dockertest")
	if err != nil {
		t.Fatal(err)
	}
	d.dir, d.sock, d.log = dir, filepath.Join(dir, "docker.sock"), filepath.Join(dir, "dockerd.log")
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the daemon's folder: %v", err)
		}
	})
	d.writeClientConfig(t, plugin)

	binds = maps.Clone(binds)
	if binds == nil {
		binds = map[string]string{}
	}
	if _, ok := binds[journalDir]; !ok {
		d.jrnl, err = startJournal(filepath.Join(dir, "journal"))
		if err != nil {
			t.Fatalf("starting the journal socket: %v", err)
		}
		t.Cleanup(func() { d.jrnl.conn.Close() })
		binds[journalDir] = filepath.Join(dir, "journal")
	}
	mountArgs, err := bindArgs(binds)
	if err != nil {
		t.Fatal(err)
	}
	// The shell in the new namespace mounts each (source, target) pair, then becomes
	// dockerd: unshare(1) without --fork execs it, so dockerd keeps the started pid, which
	// Run enters. --propagation private keeps the binds out of the machine's namespace.
	const script = `set -e; while [ "$1" != -- ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"`
	args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"}, mountArgs...)
	args = append(args, "--", dockerd)
	args = append(args, d.daemonFlags(dockerd)...)
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(unshare, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group: a ^C to the test does not reach it before cleanup does. A test
	// binary that dies without its cleanups (a -timeout panic, a kill) still stops it:
	// the parent-death signal survives the execs of sh and dockerd.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting dockerd: %v", err)
	}
	d.exited = make(chan struct{})
	go func() {
		d.cmd.Wait()
		logf.Close()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(t) })
	t.Cleanup(func() {
		if t.Failed() && d.mntNS != "" { // else Start's own failure showed it
			t.Logf("dockerd log (last lines):\n%s", d.logTail())
		}
	})
	if err := d.waitReady(60 * time.Second); err != nil {
		t.Fatalf("%v\ndockerd log (last lines):\n%s", err, d.logTail())
	}
	return d
}

// bindArgs returns source, target pairs for the mount script, parents before children,
// and creates what must exist for the mounts.
func bindArgs(binds map[string]string) ([]string, error) {
	targets := make([]string, 0, len(binds))
	for target := range binds {
		if !filepath.IsAbs(target) || filepath.Clean(target) != target || target == "/" {
			return nil, fmt.Errorf("dockertest: bind target %q must be a clean absolute path below /", target)
		}
		targets = append(targets, target)
	}
	sort.Strings(targets) // a parent sorts before its children
	var args []string
	for _, target := range targets {
		src, err := filepath.Abs(binds[target])
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, fmt.Errorf("dockertest: bind source for %s: %w", target, err)
		}
		// A target below an earlier one is made inside that one's source instead, which
		// the earlier mount shows at the target.
		host := target
		for _, parent := range targets {
			if strings.HasPrefix(target, parent+"/") {
				host = filepath.Join(binds[parent], strings.TrimPrefix(target, parent))
			}
		}
		if err := os.MkdirAll(host, 0o755); err != nil {
			return nil, fmt.Errorf("dockertest: creating the bind target %s: %w", target, err)
		}
		args = append(args, src, target)
	}
	return args, nil
}

// daemonFlags keeps every path of dockerd in d.dir and keeps it off what is the machine's.
// Flags: https://docs.docker.com/reference/cli/dockerd/; what each does here was measured
// with Debian's dockerd 20.10 (this package's test; the machine is left as it was).
func (d *Daemon) daemonFlags(dockerd string) []string {
	// Not the machine's /etc/docker/daemon.json. dockerd 20.10 writes its ID key to
	// /etc/docker/key.json unless told otherwise (moby 20.10 cmd/dockerd/config.go,
	// "deprecated-key-path"); Debian's build takes it in the file, not as a flag.
	cfg := filepath.Join(d.dir, "daemon.json")
	settings := map[string]any{"deprecated-key-path": filepath.Join(d.dir, "key.json")}
	if len(d.dns) > 0 {
		settings["dns"] = d.dns
	}
	data, _ := json.Marshal(settings)
	os.WriteFile(cfg, data, 0o600)
	flags := []string{
		"--config-file", cfg,
		"--host", "unix://" + d.sock,
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"),
		"--storage-driver", "overlay2",
		// No docker0: a dockerd of the machine may own it. Compose projects bring their
		// own networks (bridges named br-<network id>, subnets chosen clear of the routes
		// already on the machine).
		"--bridge", "none",
		// No rules in the machine's iptables chains (which another dockerd may manage) and
		// no net.ipv4.ip_forward change: containers reach each other on their bridge and
		// the machine reaches published ports through docker-proxy; containers get no NAT
		// to the outside, which the tests do not need.
		"--iptables=false",
		"--ip-forward=false",
		// Containers' cgroups below a folder of their own, not the machine's "docker".
		"--cgroup-parent", filepath.Base(d.dir),
	}
	// dockerd finds docker-proxy on PATH; Debian installs it beside dockerd in /usr/sbin,
	// which a test's PATH may lack.
	if p := filepath.Join(filepath.Dir(dockerd), "docker-proxy"); isFile(p) {
		flags = append(flags, "--userland-proxy-path", p)
	}
	return flags
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// writeClientConfig writes the client's DOCKER_CONFIG folder, with the compose plugin
// where the docker CLI looks for plugins (cli-plugins below DOCKER_CONFIG), and a bin
// folder holding the docker client Run puts first on PATH.
func (d *Daemon) writeClientConfig(t testing.TB, plugin string) {
	t.Helper()
	for _, l := range []struct{ target, link string }{
		{plugin, filepath.Join(d.dir, "config", "cli-plugins", "docker-compose")},
		{d.docker, filepath.Join(d.dir, "bin", "docker")},
	} {
		if err := os.MkdirAll(filepath.Dir(l.link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.target, l.link); err != nil {
			t.Fatal(err)
		}
	}
}

// waitReady waits until the daemon answers the client, or dockerd exits.
func (d *Daemon) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd exited before it answered (%v)", d.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("dockerd did not answer on %s within %s: %v", d.sock, limit, last)
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := os.Stat(d.sock); err != nil {
			last = err
			continue
		}
		_, stderr, err := d.client(ctx, "version", "--format", "{{.Server.Version}}")
		if err == nil {
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", d.cmd.Process.Pid))
			if err != nil {
				return fmt.Errorf("reading dockerd's mount namespace: %w", err)
			}
			d.mntNS = ns
			return nil
		}
		last = fmt.Errorf("%v: %s", err, bytes.TrimSpace(stderr))
	}
}

const journalDir = "/run/systemd/journal"

// Journal returns the messages containers logged through Docker's journald log driver
// (which the site's compose files use) with the given tag (the driver's tag option; it
// sends it as SYSLOG_IDENTIFIER: https://docs.docker.com/engine/logging/drivers/journald/),
// one a line. `docker logs` cannot read them: dockerd 20.10 reads the journal's files,
// which nothing writes here.
func (d *Daemon) Journal(tag string) string {
	if d.jrnl == nil {
		return ""
	}
	return d.jrnl.messages(tag)
}

// Host is the daemon's address, for DOCKER_HOST.
func (d *Daemon) Host() string { return "unix://" + d.sock }

// Env is the environment of a docker client (and `docker compose`) talking to the
// daemon, which Run adds.
func (d *Daemon) Env() []string {
	return []string{
		"DOCKER_HOST=" + d.Host(),
		"DOCKER_CONFIG=" + filepath.Join(d.dir, "config"),
		"PATH=" + filepath.Join(d.dir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

// Run runs argv inside the daemon's mount namespace (nsenter --mount --target <pid>) with
// DOCKER_HOST pointing at the daemon and DOCKER_CONFIG holding cli-plugins/docker-compose,
// so `docker compose ...` and the host scripts work there; env adds to os.Environ(). The
// docker client is first on PATH as `docker`.
func (d *Daemon) Run(ctx context.Context, env []string, argv ...string) (stdout, stderr []byte, err error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("dockertest: Run needs a command")
	}
	args := append([]string{"--mount", "--target", strconv.Itoa(d.cmd.Process.Pid), "--"}, argv...)
	cmd := exec.CommandContext(ctx, d.nsen, args...)
	// nsenter looks argv[0] up on the PATH of this environment (execvp).
	cmd.Env = append(append(os.Environ(), d.Env()...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, lastLines(errb.Bytes(), 20))
	}
	return out.Bytes(), errb.Bytes(), err
}

// client runs the docker client against the daemon, outside the namespace (the client
// touches no bound path).
func (d *Daemon) client(ctx context.Context, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, d.docker, args...)
	cmd.Env = append(os.Environ(), d.Env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// Load loads a `docker load` tarball into the daemon.
func (d *Daemon) Load(ctx context.Context, tarball string) error {
	if _, stderr, err := d.client(ctx, "load", "--quiet", "--input", tarball); err != nil {
		return fmt.Errorf("docker load %s: %w: %s", tarball, err, bytes.TrimSpace(stderr))
	}
	return nil
}

// stop removes what the daemon made on the machine (containers and their docker-proxy
// listeners, network bridges), stops dockerd (SIGTERM, then SIGKILL after a while), and
// ends whatever it left in its namespace; the namespace's mounts go with its last process.
func (d *Daemon) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-d.exited:
		if d.mntNS != "" { // it had answered
			t.Errorf("dockerd exited during the test (%v)", d.cmd.ProcessState)
		}
	default:
		// Containers first, killed (the tests keep no state in them), then the networks,
		// whose bridges would outlive dockerd on the machine.
		if ids, _, err := d.client(ctx, "ps", "--all", "--quiet"); err == nil && len(bytes.TrimSpace(ids)) > 0 {
			if _, stderr, err := d.client(ctx, append([]string{"rm", "--force", "--volumes"}, strings.Fields(string(ids))...)...); err != nil {
				t.Errorf("removing the daemon's containers: %v: %s", err, stderr)
			}
		}
		if _, stderr, err := d.client(ctx, "network", "prune", "--force"); err != nil {
			t.Errorf("removing the daemon's networks: %v: %s", err, stderr)
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("dockerd did not stop within 30 s of SIGTERM: killed")
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
	d.killLeftovers(t)
	d.removeCgroups(t)
}

// removeCgroups removes the cgroup folders of --cgroup-parent, which dockerd leaves
// (empty) in each hierarchy: below the cgroup of the test binary, as runc makes a
// relative parent, so below /sys/fs/cgroup/<hierarchy><the test's path>/ (v1) or
// /sys/fs/cgroup<the test's path>/ (v2). rmdir fails on a cgroup still in use, so this
// cannot take one from anything else.
func (d *Daemon) removeCgroups(t testing.TB) {
	t.Helper()
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	parent := filepath.Base(d.dir)
	for _, line := range strings.Split(strings.TrimSpace(string(own)), "\n") {
		fields := strings.SplitN(line, ":", 3)
		if len(fields) != 3 {
			continue
		}
		for _, pattern := range []string{"/sys/fs/cgroup" + fields[2], "/sys/fs/cgroup/*" + fields[2]} {
			dirs, _ := filepath.Glob(filepath.Join(pattern, parent))
			for _, dir := range dirs {
				// Deepest first: a container's cgroup dockerd did not remove, then the parent.
				subs, _ := filepath.Glob(filepath.Join(dir, "*"))
				for _, sub := range append(subs, dir) {
					if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
						if err := syscall.Rmdir(sub); err != nil && !errors.Is(err, syscall.ENOENT) {
							t.Errorf("removing cgroup %s: %v", sub, err)
						}
					}
				}
			}
		}
	}
}

// killLeftovers kills the processes still in dockerd's mount namespace (containerd, its
// shims, docker-proxy) or in its containers' cgroups after dockerd ended, which happens
// only when it was killed.
func (d *Daemon) killLeftovers(t testing.TB) {
	t.Helper()
	if d.mntNS == "" {
		return
	}
	for range 50 {
		pids := d.namespacePids()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("processes of dockerd's mount namespace %s still run: %v", d.mntNS, d.namespacePids())
}

func (d *Daemon) namespacePids() []int {
	cgroup := "/" + filepath.Base(d.dir) + "/" // see --cgroup-parent
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if ns == d.mntNS || bytes.Contains(cg, []byte(cgroup)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// logTail is the end of dockerd's log.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return err.Error()
	}
	return lastLines(b, 40)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
