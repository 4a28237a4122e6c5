package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataMount reads mountinfo lines as a container sees them (docker 20.10, overlay2):
// only writable folders that hold data are marked.
func TestDataMount(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc", "gitea")
	spaced := filepath.Join(dir, "my data")
	hosts := filepath.Join(dir, "hosts")
	for _, d := range []string{etc, spaced} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(hosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want string // "" when not a data folder
	}{
		{"620 519 0:51 / / rw,relatime master:241 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X", ""},
		{"621 620 0:54 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw", ""},
		{"624 620 0:57 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro", ""},
		{"630 620 0:53 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=131072k", ""},
		{"631 620 8:1 /var/lib/nassella/apps/forgejo/data " + dir + " rw,relatime - ext4 /dev/sda1 rw", dir},
		{"632 620 8:1 /var/lib/nassella/apps/forgejo/config " + etc + " rw,relatime - ext4 /dev/sda1 rw", etc},
		{"633 620 8:1 /etc/nassella/proxy/Caddyfile " + dir + " ro,relatime - ext4 /dev/sda1 rw", ""},
		{"634 620 8:1 /var/lib/docker/containers/X/hosts " + hosts + " rw,relatime - ext4 /dev/sda1 rw", ""},
		{"635 620 8:1 /x " + strings.ReplaceAll(spaced, " ", `\040`) + " rw,relatime - ext4 /dev/sda1 rw", spaced},
		{"636 620 0:60 / " + dir + " rw,nosuid - tmpfs tmpfs rw", ""},
		{"garbage", ""},
	} {
		got, ok := dataMount(tc.line)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s\n got %q %v, want %q", tc.line, got, ok, tc.want)
		}
	}
}
