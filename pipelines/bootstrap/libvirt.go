package bootstrap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/sshx"
)

const (
	stepLibvirt        = "Your own machine (libvirt)"
	stepLibvirtPool    = "libvirt storage pool"
	stepLibvirtNetwork = "libvirt network"
	stepLibvirtMemory  = "Memory of your machine"

	// LibvirtKeySecret logs in to the machine as provider.libvirt.user (secrets.go).
	LibvirtKeySecret = "LIBVIRT_SSH_KEY"
)

// libvirtMachine checks, before the first plan, what the site's Terraform needs on the
// owner's machine: the CI key logs in over SSH to the pinned host key, libvirt answers
// (qemu:///system, the URI site-template/terraform/libvirt/versions.tf builds), the storage
// pool runs and has room for the data volume, the network (or bridge) is up, and the
// machine has the memory the site gives its server. Nothing is changed on the machine.
func (r *runner) libvirtMachine(ctx context.Context) {
	v := r.cfg.Site.Provider.Libvirt
	if v == nil {
		return
	}
	rest := []string{stepLibvirtPool, stepLibvirtNetwork, stepLibvirtMemory}
	skip := func(why string) {
		for _, name := range rest {
			r.report(Step{Name: name, Status: Skipped, Detail: why})
		}
	}
	m, step := r.libvirtLogin(ctx, v)
	r.report(step)
	if m == nil {
		skip("needs a login to the machine (see above)")
		return
	}
	defer m.ssh.Close()
	r.libvirtPool(ctx, m, v)
	r.libvirtNetwork(ctx, m, v)
	r.libvirtMemory(ctx, m, v)
}

// machine is a logged-in connection to the owner's machine.
type machine struct {
	ssh  *sshx.Client
	who  string // user@host, for messages
	site string
}

// virsh runs virsh against the system's libvirt with the C locale (its labels are
// translated otherwise) and returns its output, or an error holding what it printed.
func (m *machine) virsh(ctx context.Context, args ...string) (string, error) {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = sshx.Quote(a)
	}
	out, err := m.ssh.Run(ctx, "LC_ALL=C virsh -q -c qemu:///system "+strings.Join(q, " "))
	if err != nil {
		msg := strings.TrimSpace(string(out.Combined))
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(msg)
	}
	return string(out.Stdout), nil
}

// libvirtLogin logs in with the CI secret's key, checking the machine's pinned host key,
// and asks libvirt who it is.
func (r *runner) libvirtLogin(ctx context.Context, v *site.Libvirt) (*machine, Step) {
	s := Step{Name: stepLibvirt}
	fail := func(detail, fix string) (*machine, Step) {
		s.Status, s.Detail, s.Fix = Failed, detail, fix
		return nil, s
	}
	user := v.UserOrDefault()
	keyPEM := r.cfg.Secrets[LibvirtKeySecret]
	if keyPEM == "" {
		return fail(LibvirtKeySecret+" is not given",
			fmt.Sprintf("make a key for nassella (ssh-keygen -t ed25519 -N '' -f nassella-libvirt), add nassella-libvirt.pub to ~%s/.ssh/authorized_keys on %s, and give the private half as %s", user, v.Host, LibvirtKeySecret))
	}
	signer, err := ssh.ParsePrivateKey([]byte(keyPEM))
	if err != nil {
		return fail(LibvirtKeySecret+" is not an OpenSSH private key without a passphrase",
			"give the private key ssh-keygen -t ed25519 -N '' -f FILE wrote (the whole file, BEGIN and END lines too)")
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v.HostKey))
	if err != nil { // the loader checked it; this is a library caller's mistake
		return fail("provider.libvirt.host_key is not a public key: "+err.Error(), "paste the machine's key from ssh-keyscan -t ed25519 "+v.Host)
	}
	addr := r.cfg.LibvirtSSHAddr
	if addr == "" {
		addr = net.JoinHostPort(v.Host, "22")
	}
	who := user + "@" + v.Host
	c, err := sshx.Dial(ctx, addr, sshx.Config{User: user, Signer: signer, HostKey: sshx.Pinned(hostKey), Timeout: 20 * time.Second})
	switch {
	case err != nil && strings.Contains(err.Error(), "host key mismatch"):
		return fail(fmt.Sprintf("%s answers with another host key than provider.libvirt.host_key: %v", v.Host, err),
			"if the machine was reinstalled, put its new key in site.yaml (ssh-keyscan -t ed25519 "+v.Host+", checked on the machine itself); otherwise something else answers at that address: do not go on")
	case err != nil && strings.Contains(err.Error(), "unable to authenticate"):
		return fail(fmt.Sprintf("%s does not let %s in with the key in %s: %v", v.Host, user, LibvirtKeySecret, err),
			fmt.Sprintf("add the public half of %s (ssh-keygen -y -f FILE prints it) to ~%s/.ssh/authorized_keys on %s", LibvirtKeySecret, user, v.Host))
	case err != nil:
		return fail(fmt.Sprintf("cannot reach %s over SSH: %v", v.Host, err),
			"check that the machine is on, that provider.libvirt.host is its name or address, and that SSH (port 22) is open to where nassella runs")
	}
	m := &machine{ssh: c, who: who, site: r.cfg.Site.Name}
	uri, err := m.virsh(ctx, "uri")
	if err != nil {
		c.Close()
		return fail(fmt.Sprintf("%s logs in, but libvirt does not answer: %s", who, firstLine(err.Error())),
			fmt.Sprintf("install libvirt and QEMU on the machine (Debian: apt install libvirt-daemon-system qemu-system-x86), start libvirtd, and add %s to the libvirt group (adduser %s libvirt)", user, user))
	}
	s.Status = AlreadyThere
	s.Detail = fmt.Sprintf("%s logs in (host key %s) and libvirt answers at %s", who, ssh.FingerprintSHA256(hostKey), strings.TrimSpace(uri))
	return m, s
}

// libvirtPool checks the storage pool runs and has room for the site's disks, and says
// whether the data volume is already there (a site that was applied before).
func (r *runner) libvirtPool(ctx context.Context, m *machine, v *site.Libvirt) {
	s := Step{Name: stepLibvirtPool}
	pool := v.PoolOrDefault()
	out, err := m.virsh(ctx, "pool-info", "--bytes", pool)
	if err != nil {
		s.Status, s.Detail = Failed, fmt.Sprintf("the pool %s is not there: %s", pool, firstLine(err.Error()))
		s.Fix = "create it (virsh pool-define-as " + pool + " dir --target /var/lib/libvirt/images; virsh pool-build " + pool + "; virsh pool-start " + pool + "; virsh pool-autostart " + pool + "), or name an existing one in provider.libvirt.pool (virsh pool-list --all)"
		r.report(s)
		return
	}
	info := virshFields(out)
	if info["State"] != "running" {
		s.Status, s.Detail = Failed, fmt.Sprintf("the pool %s is %s, not running", pool, info["State"])
		s.Fix = "start it and have it start at boot: virsh pool-start " + pool + "; virsh pool-autostart " + pool
		r.report(s)
		return
	}
	vols, err := m.virsh(ctx, "vol-list", "--pool", pool)
	if err != nil {
		s.Status, s.Detail, s.Fix = Failed, "listing the pool's volumes: "+firstLine(err.Error()), "run again"
		r.report(s)
		return
	}
	data := m.site + "-data.qcow2" // site-template/terraform/libvirt/volume.tf
	if slices.Contains(firstColumn(vols), data) {
		s.Status, s.Detail = AlreadyThere, fmt.Sprintf("the pool %s runs and holds the site's data volume %s", pool, data)
		r.report(s)
		return
	}
	// The data volume (volume_gb), the site's copy of Flatcar's image and the system
	// disk on top of it: qcow2 files grow as they are written, so this is what they
	// reach, not what the first apply takes.
	const gib = int64(1) << 30
	need := int64(v.VolumeGB)*gib + 3*gib
	avail, err := strconv.ParseInt(info["Available"], 10, 64)
	switch {
	case err != nil:
		s.Status, s.Detail, s.Fix = Warning, fmt.Sprintf("the pool %s runs, but virsh did not say how much room it has (%q)", pool, info["Available"]), "check with virsh pool-info "+pool
	case avail < need:
		s.Status = Warning
		s.Detail = fmt.Sprintf("the pool %s runs but has %s free; the site's disks grow to about %s (volume_gb %d plus the system)", pool, gibString(avail), gibString(need), v.VolumeGB)
		s.Fix = "free room in the pool, give the machine a bigger disk, or lower provider.libvirt.volume_gb: the server stops writing when the pool is full"
	default:
		s.Status, s.Detail = Done, fmt.Sprintf("the pool %s runs and has %s free for the site's disks (about %s)", pool, gibString(avail), gibString(need))
	}
	r.report(s)
}

// libvirtNetwork checks the server's network: the bridge exists on the machine, or the
// libvirt network runs and starts at boot.
func (r *runner) libvirtNetwork(ctx context.Context, m *machine, v *site.Libvirt) {
	s := Step{Name: stepLibvirtNetwork}
	if br := v.Bridge; br != "" {
		// A bridge is the machine's own, not libvirt's: it is in /sys as one.
		if _, err := m.ssh.Run(ctx, "test -d /sys/class/net/"+sshx.Quote(br)+"/bridge"); err != nil {
			s.Status, s.Detail = Failed, fmt.Sprintf("%s has no bridge %s", m.who, br)
			s.Fix = "create the bridge on the machine with your LAN's interface in it (ip link show type bridge lists them), or remove provider.libvirt.bridge to use a libvirt network"
		} else {
			s.Status, s.Detail = AlreadyThere, fmt.Sprintf("the bridge %s is there: the server gets an address on your network", br)
		}
		r.report(s)
		return
	}
	network := v.NetworkOrDefault()
	out, err := m.virsh(ctx, "net-info", network)
	if err != nil {
		s.Status, s.Detail = Failed, fmt.Sprintf("the libvirt network %s is not there: %s", network, firstLine(err.Error()))
		s.Fix = "name an existing one in provider.libvirt.network (virsh net-list --all), or give provider.libvirt.bridge"
		r.report(s)
		return
	}
	info := virshFields(out)
	switch {
	case info["Active"] != "yes":
		s.Status, s.Detail = Failed, fmt.Sprintf("the libvirt network %s is not running", network)
		s.Fix = "start it and have it start at boot: virsh net-start " + network + "; virsh net-autostart " + network
	case info["Autostart"] != "yes":
		s.Status, s.Detail = Warning, fmt.Sprintf("the libvirt network %s runs but does not start when the machine boots: the server would come back without a network", network)
		s.Fix = "virsh net-autostart " + network
	default:
		s.Status, s.Detail = AlreadyThere, fmt.Sprintf("the libvirt network %s runs (bridge %s) and starts at boot", network, info["Bridge"])
	}
	r.report(s)
}

// libvirtMemory compares provider.libvirt.memory_mb with the machine's memory, and says
// whether the site's server is already defined.
func (r *runner) libvirtMemory(ctx context.Context, m *machine, v *site.Libvirt) {
	s := Step{Name: stepLibvirtMemory}
	doms, err := m.virsh(ctx, "list", "--all", "--name")
	if err != nil {
		s.Status, s.Detail, s.Fix = Failed, "listing the machine's servers: "+firstLine(err.Error()), "run again"
		r.report(s)
		return
	}
	if slices.Contains(firstColumn(doms), m.site) {
		s.Status, s.Detail = AlreadyThere, fmt.Sprintf("the site's server %s is defined on the machine (memory is checked when it was made)", m.site)
		r.report(s)
		return
	}
	out, err := m.virsh(ctx, "nodememstats")
	if err != nil {
		s.Status, s.Detail, s.Fix = Warning, "the machine did not say how much memory it has: "+firstLine(err.Error()), "check that it has provider.libvirt.memory_mb free"
		r.report(s)
		return
	}
	kib := map[string]int64{}
	for k, val := range virshFields(out) {
		n, err := strconv.ParseInt(strings.TrimSuffix(val, " KiB"), 10, 64)
		if err == nil {
			kib[k] = n
		}
	}
	want := int64(v.MemoryMB) * 1024
	free := kib["free"] + kib["buffers"] + kib["cached"]
	switch {
	case kib["total"] == 0:
		s.Status, s.Detail, s.Fix = Warning, "the machine did not say how much memory it has", "check that it has provider.libvirt.memory_mb free"
	case want > kib["total"]:
		s.Status = Failed
		s.Detail = fmt.Sprintf("the server is to have %d MiB but the machine has %d MiB in all", v.MemoryMB, kib["total"]/1024)
		s.Fix = fmt.Sprintf("lower provider.libvirt.memory_mb to what the machine can give (about %d, half of it, leaves the machine room for itself) and remove apps that do not fit, or add memory", kib["total"]/1024/2/512*512)
	case want > free:
		s.Status = Warning
		s.Detail = fmt.Sprintf("the server is to have %d MiB; the machine has %d MiB but only about %d MiB free now", v.MemoryMB, kib["total"]/1024, free/1024)
		s.Fix = "stop what else runs there before the first merge, or lower provider.libvirt.memory_mb: a server that does not fit fails to start"
	default:
		s.Status, s.Detail = Done, fmt.Sprintf("the server's %d MiB fit: the machine has %d MiB, about %d MiB free", v.MemoryMB, kib["total"]/1024, free/1024)
	}
	r.report(s)
}

// virshFields reads virsh's "Label:   value" lines (pool-info, net-info, nodememstats):
// the labels libvirt's virsh prints in the C locale (tools/virsh-pool.c cmdPoolInfo,
// virsh-network.c cmdNetworkInfo, virsh-host.c cmdNodeMemStats), as libvirt 9.0 printed
// them in TestLibvirtMachine.
func virshFields(out string) map[string]string {
	f := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), ":")
		if ok {
			f[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	return f
}

// firstColumn is the first word of each line (vol-list's names, list --name's).
func firstColumn(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if fs := strings.Fields(line); len(fs) > 0 {
			names = append(names, fs[0])
		}
	}
	return names
}

func gibString(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/float64(int64(1)<<30)) }

// firstLine is the first line of what a command printed.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
