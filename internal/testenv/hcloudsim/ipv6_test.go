package hcloudsim

import (
	"bufio"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// publicNetworkPath is the systemd-networkd file the module's user_data writes to
// configure the public IPv6 that Flatcar leaves unconfigured on Hetzner.
const publicNetworkPath = "/etc/systemd/network/10-public.network"

// networkdKeys are the keys the file may use, per section, as systemd.network(5)
// (systemd 252) names them: a misspelt key is only a warning in networkd's log.
var networkdKeys = map[string][]string{
	"Match":   {"Name"},
	"Network": {"DHCP", "KeepConfiguration", "Address", "Gateway"},
	"DHCPv4":  {"UseMTU", "UseDomains", "RoutesToDNS"},
}

// checkPublicIPv6 checks that the server's user_data configures the ::1 of its primary
// IPv6 network (the address the AAAA records carry) with Hetzner's gateway fe80::1 on
// the public interface, and keeps DHCP for IPv4.
func checkPublicIPv6(t *testing.T, srv ServerInfo, ipv6 PrimaryIPInfo, aaaa []string) {
	t.Helper()
	ini := parseINI(t, userDataFile(t, srv.UserData, publicNetworkPath))
	for section, keys := range ini {
		for key := range keys {
			if !slices.Contains(networkdKeys[section], key) {
				t.Errorf("%s: [%s] %s= is not a key this file is meant to use", publicNetworkPath, section, key)
			}
		}
	}
	network := netip.MustParsePrefix(ipv6.IP)
	want := netip.PrefixFrom(network.Addr().Next(), network.Bits())
	for _, c := range []struct{ section, key, want string }{
		{"Match", "Name", "eth0"},
		{"Network", "DHCP", "ipv4"},
		{"Network", "Address", want.String()},
		{"Network", "Gateway", "fe80::1"},
	} {
		if got := ini[c.section][c.key]; !slices.Equal(got, []string{c.want}) {
			t.Errorf("%s: [%s] %s= is %q, want %q", publicNetworkPath, c.section, c.key, got, c.want)
		}
	}
	if !slices.Equal(aaaa, []string{want.Addr().String()}) {
		t.Errorf("AAAA records %v, want the configured address %s", aaaa, want.Addr())
	}
}

// parseINI reads a systemd unit-style file: sections, then Key=value lines, a key
// given more than once collecting all its values (systemd.syntax(7)).
func parseINI(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if out[section] == nil {
				out[section] = map[string][]string{}
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is neither a [section] nor a Key=value in one", publicNetworkPath, n, line)
			}
			key = strings.TrimSpace(key)
			out[section][key] = append(out[section][key], strings.TrimSpace(value))
		}
	}
	return out
}

// networkdScript runs systemd-networkd on the file in a network and mount namespace of
// its own (unshare, as root) with a veth named eth0, and prints what it configured.
// With /sys read-only networkd does not wait for udev to initialise the link
// (systemd src/shared/udev-util.c, udev_available).
const networkdScript = `set -e
mount -t tmpfs none /etc/systemd/network
cp "$1" /etc/systemd/network/10-public.network
mount -t tmpfs none /run
mount -t sysfs -o ro sysfs /sys
ip link add eth0 type veth peer name peer0
ip link set peer0 up
SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$2" 2>"$3" &
for i in $(seq 100); do
  ip -6 route show default dev eth0 | grep -q . && break
  sleep 0.1
done
kill $!
ip -6 -o addr show dev eth0 scope global
ip -6 route show default dev eth0
`

// checkNetworkd has the real systemd-networkd parse and apply the public network file:
// it must configure the address and the default route on eth0 and find no key to ignore.
func checkNetworkd(t *testing.T, text string, ipv6 PrimaryIPInfo) {
	t.Helper()
	networkd := testtool.Require(t, "NASSELLA_NETWORKD", ".ci/tools-backup.sh")
	dir := t.TempDir()
	file, log := filepath.Join(dir, "10-public.network"), filepath.Join(dir, "networkd.log")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", networkdScript, "sh", file, networkd, log).CombinedOutput()
	logged, _ := os.ReadFile(log)
	if err != nil {
		t.Fatalf("systemd-networkd in a network namespace of its own (unshare, as root): %v\n%s\n%s", err, out, logged)
	}
	for _, line := range strings.Split(string(logged), "\n") {
		if strings.HasPrefix(line, "/etc/systemd/network/10-public.network:") {
			t.Errorf("systemd-networkd: %s", line)
		}
	}
	network := netip.MustParsePrefix(ipv6.IP)
	want := netip.PrefixFrom(network.Addr().Next(), network.Bits()).String()
	for _, w := range []string{"inet6 " + want + " scope global", "default via fe80::1 proto static"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("systemd-networkd did not configure %q on eth0:\n%s\n%s", w, out, logged)
		}
	}
}
