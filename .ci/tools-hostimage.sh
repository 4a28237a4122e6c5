#!/usr/bin/env bash
# Builds what the stand-in host image (internal/testenv/standinhost) is made of, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/nassella, and prints the environment pointing at it:
#   eval "$(.ci/tools-hostimage.sh)"
# - Ignition at the version in go.mod, built from its Go module (ignition-<version>/ignition);
# - a Debian root filesystem with what a nassella host runs (systemd, Docker, sshd, ...),
#   made by debootstrap and set up the way Flatcar's image is where the host depends on it
#   (hostroot-<suite>-<hash>.tar.zst; the hash covers the suite, the package list and
#   setup_root).
# Installs debootstrap, e2fsprogs, zstd, qemu-utils and libblkid-dev (Ignition's cgo) when
# missing. Needs root (debootstrap, and the root's files belong to several users).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

suite=bookworm
# What the host's units and scripts call (generator/testdata/golden/every-app/host and
# site-template/host): docker, iptables, resize2fs/mkfs.ext4 (e2fsprogs), blkid and flock
# (util-linux), curl, sudo, systemd-inhibit (logind through D-Bus and libpam-systemd), udevadm,
# timeout (coreutils); plus what Flatcar runs on every host: networkd, resolved, timesyncd.
packages=(
  systemd systemd-sysv systemd-resolved systemd-timesyncd libpam-systemd udev dbus
  linux-image-amd64 initramfs-tools
  docker.io iptables e2fsprogs util-linux mount kmod
  ca-certificates curl openssh-server sudo procps iproute2 netbase tzdata
)

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v zstd >/dev/null || need+=(zstd)
[ -f /usr/include/blkid/blkid.h ] || need+=(libblkid-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi

# setup_root ROOT sets a debootstrapped root up the way Flatcar's image is, where the host
# depends on it. The cache key hashes this function, so a change here rebuilds the root.
setup_root() {
  local root=$1
  # - First boot: Flatcar's image has no machine ID, so systemd's first boot applies
  #   Ignition's presets (machine-id(5) "First Boot Semantics": a missing file or
  #   "uninitialized" is a first boot; an EMPTY file is not).
  printf 'uninitialized\n' >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"
  # - Flatcar replaces systemd's 90-systemd.preset with its own 99-default.preset
  #   (flatcar/scripts coreos-overlay/sys-apps/systemd ebuild): what the image enables is
  #   enabled in the image, and only Ignition's presets add to it at first boot. Without a
  #   catch-all, preset-all would enable every unit Debian ships disabled (ssh.socket, ...).
  rm -f "$root/usr/lib/systemd/system-preset/90-systemd.preset"
  printf 'disable *\n' >"$root/usr/lib/systemd/system-preset/99-default.preset"
  # - Docker is socket-activated (docker.socket enabled, docker.service not), containerd
  #   runs; networkd, resolved, timesyncd.
  chroot "$root" systemctl --quiet disable docker.service
  chroot "$root" systemctl --quiet enable docker.socket containerd.service systemd-networkd.service \
    systemd-resolved.service systemd-timesyncd.service
  # - Flatcar's own network files in /usr/lib/systemd/network (flatcar/init,
  #   systemd/network/zz-default.network and docker.network): DHCP on every link except
  #   loopback, bridges, tunnels and veths, and Docker's links unmanaged. A catch-all that
  #   also matched Docker's veths (an earlier "Type=ether" here) let networkd take them
  #   over as Docker plugged them into its bridges: the bridges stayed down and every
  #   published port reset its connections (systemd/systemd#28626, moby/moby#26492).
  printf '[Network]\nDHCP=yes\nKeepConfiguration=dhcp-on-stop\nIPv6AcceptRA=true\n\n[Match]\nName=*\nType=!loopback dummy bridge tunnel vxlan wireguard\nDriver=!veth\n\n[DHCP]\nUseMTU=true\nUseDomains=true\n\n[DHCPv4]\nRoutesToDNS=false\n' \
    >"$root/usr/lib/systemd/network/zz-default.network"
  printf '[Match]\nName=docker*\n\n[Link]\nUnmanaged=yes\n' >"$root/usr/lib/systemd/network/docker.network"
  # - The default target is multi-user.target (the ebuild: "Flatcar: Don't default to
  #   graphical.target"); Debian's package maintenance timers do not exist there.
  chroot "$root" systemctl --quiet set-default multi-user.target
  chroot "$root" systemctl --quiet disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
  # - The admin user core (uid 500 like Flatcar's) in sudo and docker, sudo without a
  #   password; Ignition's users stage then adds the site's keys to it.
  chroot "$root" useradd -u 500 -U -m -s /bin/bash -G sudo,docker -c "nassella stand-in admin" core
  printf 'core ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/core"
  chmod 0440 "$root/etc/sudoers.d/core"
  # - sshd reads the fragment Ignition writes for core (.ssh/authorized_keys.d/ignition,
  #   Ignition's default, which Flatcar keeps; Flatcar merges it with update-ssh-keys), and
  #   makes its missing host keys at boot like Flatcar's sshd-keygen, not at package install.
  printf 'AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys.d/ignition\n' >"$root/etc/ssh/sshd_config.d/nassella-standin.conf"
  rm -f "$root"/etc/ssh/ssh_host_*
  cat >"$root/etc/systemd/system/nassella-standin-sshd-keygen.service" <<'EOF'
[Unit]
Description=Generate the SSH host keys Ignition did not write
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=ssh.service
EOF
  chroot "$root" systemctl --quiet enable nassella-standin-sshd-keygen.service
  # - The root filesystem is labelled ROOT, like Flatcar's; Ignition writes /etc/hostname.
  printf 'LABEL=ROOT / ext4 defaults 0 1\n' >"$root/etc/fstab"
  rm -f "$root/etc/hostname"
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
}

mirror=$(debian_mirror)

hash=$({ echo "$suite"; printf '%s\n' "${packages[@]}"; declare -f setup_root; } | sha256sum | cut -c1-16)
hostroot="$cache/hostroot-$suite-$hash.tar.zst"
if [ -f "$hostroot" ]; then
  log "host root $suite-$hash cached"
else
  if [ "$(id -u)" -ne 0 ]; then
    log "building the host root needs root (debootstrap)"
    exit 1
  fi
  log "building the host root ($suite from $mirror, once per machine, a few minutes)"
  work=$(mktemp -d "$cache/hostroot-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  debootstrap_root "$work" "$suite" "$mirror" "${packages[@]}" || exit 1
  # The kernel's initramfs must be there: initramfs-tools' kernel hook makes it at install.
  compgen -G "$root/boot/vmlinuz-*" >/dev/null || { log "the root has no /boot/vmlinuz-*"; exit 1; }
  compgen -G "$root/boot/initrd.img-*" >/dev/null || { log "initramfs-tools made no /boot/initrd.img-* in the root"; exit 1; }

  setup_root "$root"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/log/*.log

  tar --numeric-owner --xattrs --xattrs-include='*' -C "$root" -cf - . | zstd -q -T0 -3 -o "$work/root.tar.zst"
  mv "$work/root.tar.zst" "$hostroot"
  rm -rf "$work"
  trap - EXIT
  log "built the host root: $(du -h "$hostroot" | cut -f1)"
  # An earlier setup's roots (~300 MB each) are never used again once the hash moved on.
  find "$cache" -maxdepth 1 -name "hostroot-$suite-*.tar.zst" ! -name "${hostroot##*/}" -delete
fi

# Ignition, built like its own build script does (`go build ... ${REPO_PATH}/internal`, cgo
# for libblkid, version.Raw) and with the one setting Flatcar's ebuild changes
# (flatcar/scripts: coreos-overlay/sys-apps/ignition/ignition-2.24.0.ebuild:
# distro.selinuxRelabel=false). Its go.sum is its own, so it is built inside a copy of the
# module, not from ours.
ign_version=$(awk '$1 == "github.com/coreos/ignition/v2" { print $2; exit }' ../go.mod)
[ -n "$ign_version" ] || { log "go.mod does not require github.com/coreos/ignition/v2"; exit 1; }
ignition="$cache/ignition-${ign_version#v}/ignition"
if [ -x "$ignition" ]; then
  log "ignition $ign_version cached"
else
  log "building ignition $ign_version (once per machine)"
  work=$(module_copy github.com/coreos/ignition/v2 "$ign_version") || exit 1
  mkdir -p "$(dirname "$ignition")"
  (cd "$work" && CGO_ENABLED=1 go build \
    -ldflags "-X github.com/coreos/ignition/v2/internal/version.Raw=${ign_version#v} -X github.com/coreos/ignition/v2/internal/distro.selinuxRelabel=false" \
    -o "$ignition.tmp" ./internal) >&2
  mv "$ignition.tmp" "$ignition"
  rm -rf "$work"
  log "built ignition $ign_version"
fi

echo "export NASSELLA_IGNITION=$ignition"
echo "export NASSELLA_HOSTROOT=$hostroot"
