#!/usr/bin/env bash
# Installs and starts what the own-hardware platform's real test (pipelines/rehearsal,
# TestLibvirtPlatform) runs: libvirtd with its QEMU driver from Debian's packages, and
# xsltproc (the libvirt provider runs it for a domain's xml.xslt, which the test uses).
# Prints the environment pointing the tests at the daemon:
#   eval "$(.ci/tools-libvirt.sh)"
# This machine has no systemd as PID 1, so the daemons are started by hand when they do not
# run. Needs root: libvirtd's system instance, and QEMU run as root (below).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

need=()
# libvirt-daemon-system creates the libvirt-qemu user the QEMU driver refuses to start
# without, and libvirtd.conf/qemu.conf.
command -v libvirtd >/dev/null && id libvirt-qemu >/dev/null 2>&1 || need+=(libvirt-daemon-system libvirt-daemon-driver-qemu)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v xsltproc >/dev/null || need+=(xsltproc)
if [ ${#need[@]} -gt 0 ]; then
  # Keep the machine's own configuration files if it has them.
  apt_install -o Dpkg::Options::=--force-confold "${need[@]}"
fi
if [ "$(id -u)" -ne 0 ]; then
  log "libvirtd's system instance needs root"
  exit 1
fi

# QEMU as root without a security driver: the provider hands QEMU the Ignition through
# -fw_cfg file=<the volume in the pool> on qemu:commandline (libvirt/domain.go,
# setCoreOSIgnition), a file libvirt does not label for its QEMU user, and the test's
# kernel and disks live in the test's own folders. Written only once, marked, so a
# machine's own qemu.conf is kept aside in qemu.conf.nassella-orig.
conf=/etc/libvirt/qemu.conf
marker="# written by nassella .ci/tools-libvirt.sh"
if ! grep -qxF "$marker" "$conf" 2>/dev/null; then
  [ -e "$conf" ] && cp "$conf" "$conf.nassella-orig"
  printf '%s\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n' "$marker" > "$conf.tmp"
  mv "$conf.tmp" "$conf"
  # A running daemon read the old file: restart it.
  pkill -x libvirtd 2>/dev/null || true
  for _ in $(seq 1 20); do pgrep -x libvirtd >/dev/null || break; sleep 0.5; done
fi

mkdir -p /var/log/libvirt /run/libvirt
pgrep -x virtlogd >/dev/null || virtlogd -d
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d
fi
for _ in $(seq 1 30); do
  virsh -c qemu:///system version >/dev/null 2>&1 && break
  sleep 1
done
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  tail -20 /var/log/libvirt/libvirtd.log >&2 || true
  log "libvirtd does not answer on qemu:///system"
  exit 1
fi
log "libvirtd $(libvirtd --version | awk '{print $NF}') answers on qemu:///system"
echo "export NASSELLA_LIBVIRT_URI=qemu:///system"
