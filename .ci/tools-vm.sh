#!/usr/bin/env bash
# Installs what the VM harness tests (pipelines/vmtest) run for real — QEMU, qemu-img and
# Debian's busybox-static — when missing, builds the boot kit (Debian's kernel and a busybox
# initramfs, cached under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/vmkit-<kernel version>),
# and prints the environment that points the tests at them. Same contract as .ci/tools.sh:
#   eval "$(.ci/tools-vm.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "tools-vm: $*" >&2; }

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
# The initramfs needs a statically linked busybox (Debian's busybox package is dynamic).
if [ ! -x /bin/busybox ] || head -c 8192 /bin/busybox | grep -qa ld-linux; then
  need+=(busybox-static)
fi
command -v cpio >/dev/null || need+=(cpio)
command -v apt-get >/dev/null || { log "apt-get is missing: the boot kit is built from Debian's packages"; exit 1; }
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "need ${need[*]}: run as root, or apt-get install -y --no-install-recommends ${need[*]}"
    exit 1
  fi
  log "installing ${need[*]} (once per machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${need[@]}" >&2
else
  log "qemu, qemu-img, busybox-static and cpio installed"
  # The kit's kernel is found through apt's lists, which a new machine may not have yet.
  if ! apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-' && [ "$(id -u)" -eq 0 ]; then
    apt-get update >&2
  fi
fi

kit=$(pipelines/vmtest/testdata/build-kit.sh)
echo "export NASSELLA_VMKIT=$kit"
echo "export NASSELLA_QEMU=$(command -v qemu-system-x86_64)"
