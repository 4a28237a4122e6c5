package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/internal/testenv/testtool"
)

// TestLibvirtMachine checks the own-hardware steps against a real machine: OpenSSH's sshd
// in front of this machine's real libvirtd (virsh run over SSH, as on an owner's box),
// with a storage pool, a network and, for a site that was applied, its domain and data
// volume made by the test.
func TestLibvirtMachine(t *testing.T) {
	uri := testtool.Require(t, "NASSELLA_LIBVIRT_URI", ".ci/tools-libvirt.sh")
	if uri != "qemu:///system" {
		t.Fatalf("NASSELLA_LIBVIRT_URI is %s; the step speaks to qemu:///system, as the site's Terraform does", uri)
	}
	sshd := sshtest.StartSSHD(t, "")
	keyPEM, key := testKeyPair(t)
	sshd.Authorize(t, key)
	hostKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshd.HostKey)))

	b := make([]byte, 3)
	rand.Read(b)
	tag := hex.EncodeToString(b)
	pool, network, bridge := "nassella-bs-"+tag, "nassella-bs-"+tag, "nsbs"+tag
	siteName := "bs-" + tag
	dir := t.TempDir()
	virsh(t, "pool-create-as", pool, "dir", "--target", dir)
	t.Cleanup(func() { exec.Command("virsh", "-c", uri, "pool-destroy", pool).Run() })
	// An isolated network (no <ip>: no dnsmasq), defined, started and set to start at boot.
	netXML := filepath.Join(dir, "net.xml")
	os.WriteFile(netXML, []byte(fmt.Sprintf("<network><name>%s</name><bridge name=%q/></network>", network, bridge)), 0o600)
	virsh(t, "net-define", netXML)
	t.Cleanup(func() {
		exec.Command("virsh", "-c", uri, "net-destroy", network).Run()
		exec.Command("virsh", "-c", uri, "net-undefine", network).Run()
	})
	virsh(t, "net-start", network)
	virsh(t, "net-autostart", network)

	ctx := context.Background()
	run := func(t *testing.T, secrets map[string]string, edit func(v *site.Libvirt)) map[string]Step {
		t.Helper()
		y, _ := examples.Get("own-hardware")
		data := strings.Replace(string(y), "name: homelab", "name: "+siteName, 1)
		l, err := site.Load("site.yaml", []byte(data), catalog.Embedded())
		if err != nil {
			t.Fatal(err)
		}
		v := l.Provider.Libvirt
		v.HostKey, v.User, v.Pool, v.Bridge, v.Network, v.MemoryMB, v.VolumeGB = hostKey, sshd.User, pool, "", network, 1024, 10
		if edit != nil {
			edit(v)
		}
		r := &runner{cfg: Config{Site: l, Secrets: secrets, LibvirtSSHAddr: sshd.Addr}, rep: &Report{}}
		r.defaults()
		r.libvirtMachine(ctx)
		t.Logf("report:\n%s", r.rep.Text())
		out := map[string]Step{}
		for _, s := range r.rep.Steps {
			out[s.Name] = s
		}
		if len(out) != 4 {
			t.Fatalf("want the 4 libvirt steps, got:\n%s", r.rep.Text())
		}
		for _, s := range r.rep.Steps {
			if strings.Contains(FormatStep(s), "PRIVATE KEY") {
				t.Fatalf("a step prints the key:\n%s", FormatStep(s))
			}
			if (s.Status == Failed || s.Status == Warning) && s.Fix == "" {
				t.Errorf("%s is %s without a fix: %s", s.Name, s.Status, s.Detail)
			}
		}
		return out
	}
	secrets := map[string]string{LibvirtKeySecret: keyPEM}
	want := func(t *testing.T, st map[string]Step, name string, status Status, detail string) {
		t.Helper()
		if s := st[name]; s.Status != status || !strings.Contains(s.Detail, detail) {
			t.Errorf("%s: %s: %s\n  want %s, %q", name, s.Status, s.Detail, status, detail)
		}
	}

	t.Run("ready", func(t *testing.T) {
		st := run(t, secrets, nil)
		want(t, st, stepLibvirt, AlreadyThere, "libvirt answers at qemu:///system")
		want(t, st, stepLibvirt, AlreadyThere, ssh.FingerprintSHA256(sshd.HostKey))
		want(t, st, stepLibvirtPool, Done, "the pool "+pool+" runs and has")
		want(t, st, stepLibvirtNetwork, AlreadyThere, "runs (bridge "+bridge+") and starts at boot")
		want(t, st, stepLibvirtMemory, Done, "the server's 1024 MiB fit")
	})
	t.Run("bridge", func(t *testing.T) {
		st := run(t, secrets, func(v *site.Libvirt) { v.Network, v.Bridge = "", bridge })
		want(t, st, stepLibvirtNetwork, AlreadyThere, "the bridge "+bridge+" is there")
		st = run(t, secrets, func(v *site.Libvirt) { v.Network, v.Bridge = "", "lo" }) // an interface, not a bridge
		want(t, st, stepLibvirtNetwork, Failed, "has no bridge lo")
	})
	t.Run("missing pool and network", func(t *testing.T) {
		st := run(t, secrets, func(v *site.Libvirt) { v.Pool, v.Network = "nassella-none-"+tag, "nassella-none-"+tag })
		want(t, st, stepLibvirtPool, Failed, "the pool nassella-none-"+tag+" is not there")
		want(t, st, stepLibvirtNetwork, Failed, "the libvirt network nassella-none-"+tag+" is not there")
		if !strings.Contains(st[stepLibvirtPool].Fix, "virsh pool-define-as nassella-none-"+tag) {
			t.Errorf("pool fix: %s", st[stepLibvirtPool].Fix)
		}
	})
	t.Run("network not at boot", func(t *testing.T) {
		virsh(t, "net-autostart", "--disable", network)
		defer virsh(t, "net-autostart", network)
		st := run(t, secrets, nil)
		want(t, st, stepLibvirtNetwork, Warning, "does not start when the machine boots")
	})
	t.Run("too little", func(t *testing.T) {
		st := run(t, secrets, func(v *site.Libvirt) { v.MemoryMB, v.VolumeGB = 64<<20, 10240 })
		want(t, st, stepLibvirtMemory, Failed, "the server is to have 67108864 MiB but the machine has")
		want(t, st, stepLibvirtPool, Warning, "the site's disks grow to about 10243.0 GiB")
	})
	t.Run("the site is there", func(t *testing.T) {
		virsh(t, "vol-create-as", pool, siteName+"-data.qcow2", "1M", "--format", "qcow2")
		domXML := filepath.Join(dir, "dom.xml")
		os.WriteFile(domXML, []byte(fmt.Sprintf("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>", siteName)), 0o600)
		virsh(t, "define", domXML)
		defer exec.Command("virsh", "-c", uri, "undefine", siteName).Run()
		st := run(t, secrets, func(v *site.Libvirt) { v.MemoryMB = 64 << 20 })
		want(t, st, stepLibvirtPool, AlreadyThere, "holds the site's data volume "+siteName+"-data.qcow2")
		want(t, st, stepLibvirtMemory, AlreadyThere, "the site's server "+siteName+" is defined")
	})
	t.Run("no login", func(t *testing.T) {
		otherPEM, _ := testKeyPair(t)
		_, stranger := testKeyPair(t)
		for _, tc := range []struct {
			name    string
			secrets map[string]string
			edit    func(v *site.Libvirt)
			detail  string
		}{
			{"no key", map[string]string{}, nil, LibvirtKeySecret + " is not given"},
			{"not a key", map[string]string{LibvirtKeySecret: "hunter2"}, nil, "is not an OpenSSH private key"},
			{"refused key", map[string]string{LibvirtKeySecret: otherPEM}, nil, "does not let " + sshd.User + " in"},
			{"wrong host key", secrets, func(v *site.Libvirt) {
				v.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(stranger)))
			}, "answers with another host key"},
		} {
			st := run(t, tc.secrets, tc.edit)
			want(t, st, stepLibvirt, Failed, tc.detail)
			for _, name := range []string{stepLibvirtPool, stepLibvirtNetwork, stepLibvirtMemory} {
				want(t, st, name, Skipped, "needs a login")
			}
		}
	})
}

// testKeyPair is a key as bootstrap makes them: the private half in PEM, the public one.
func testKeyPair(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	pem, pub, err := newKeyPair("test")
	if err != nil {
		t.Fatal(err)
	}
	return pem, pub
}

func virsh(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
