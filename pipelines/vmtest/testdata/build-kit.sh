#!/usr/bin/env bash
# Builds the vmtest boot kit: Debian's kernel and a busybox-static initramfs whose /init
# (kit-init.sh beside this script) stands in for Flatcar in the harness's own tests. Cached
# under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/vmkit-<kernel version>, rebuilt when this
# script, the init or busybox change. Prints the kit's folder on stdout.
#
# Needs: apt-get (after apt-get update), dpkg, cpio, gzip, and /bin/busybox from Debian's
# busybox-static package. .ci/tools-vm.sh installs them.
# Usage: kit=$(pipelines/vmtest/testdata/build-kit.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nassella"
busybox=/bin/busybox
# The drivers the harness's QEMU machine needs (virtio disk and network, e1000 as the other
# NIC QEMU offers, ext4 for the data disk, fw_cfg for the config, the ACPI power button).
modules=(qemu_fw_cfg virtio_pci virtio_blk virtio_net e1000 ext4 crc32c_generic button evdev)

log() { echo "build-kit: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in apt-get apt-cache dpkg cpio gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing; run .ci/tools-vm.sh (Debian) first"
done
[ -x "$busybox" ] || die "$busybox is missing: apt-get install busybox-static"
if head -c 8192 "$busybox" | grep -qa 'ld-linux'; then
  die "$busybox is dynamically linked; the initramfs needs Debian's busybox-static package"
fi

# The versioned kernel package the linux-image-amd64 meta package points at.
pkg=${NASSELLA_VMKIT_KERNEL_PACKAGE:-}
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
fi
[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64; run apt-get update first"
kver=${pkg#linux-image-}

kit="$cache/vmkit-$kver"
stamp=$(cat "$0" "$here/kit-init.sh" "$busybox" | sha256sum | cut -c1-64)
if [ -f "$kit/stamp" ] && [ "$(cat "$kit/stamp")" = "$stamp" ] &&
  [ -f "$kit/vmlinuz" ] && [ -f "$kit/initramfs.cpio.gz" ]; then
  log "vmkit-$kver cached"
  echo "$kit"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/vmkit-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building vmkit-$kver from $pkg (once per machine)"
(cd "$work" && apt-get download "$pkg" >/dev/null 2>"$work/apt.log") ||
  die "apt-get download $pkg failed: $(cat "$work/apt.log")"
dpkg -x "$work"/"$pkg"_*.deb "$work/deb"
moddir="$work/deb/lib/modules/$kver"
[ -d "$moddir" ] || moddir="$work/deb/usr/lib/modules/$kver"
[ -d "$moddir" ] || die "$pkg has no modules folder for $kver"
vmlinuz="$work/deb/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-$kver"

root="$work/initramfs"
mkdir -p "$root/bin" "$root/etc" "$root/dev" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
cp "$here/kit-init.sh" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
if [ "$(id -u)" = 0 ]; then
  mknod -m 600 "$root/dev/console" c 5 1
fi

# Modules by name (dashes and underscores are the same to the kernel), with their
# dependencies first; compressed modules are unpacked, as busybox insmod wants plain ones.
declare -A file_of=() loaded=()
while IFS= read -r f; do
  n=$(basename "$f")
  n=${n%%.ko*}
  file_of[${n//-/_}]=$f
done < <(cd "$moddir" && find kernel -name '*.ko*')
order=()
add_module() {
  local name=${1//-/_} rel src out deps d
  [ -n "${loaded[$name]:-}" ] && return
  loaded[$name]=1
  rel=${file_of[$name]:-}
  if [ -z "$rel" ]; then
    if grep -qE "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
      return # built into the kernel
    fi
    die "module $name is not in $pkg"
  fi
  src="$moddir/$rel"
  out="$root/lib/modules/${rel%.ko*}.ko"
  mkdir -p "$(dirname "$out")"
  case "$src" in
  *.ko.xz) xz -dc "$src" >"$out" ;;
  *.ko.zst) zstd -qdc "$src" >"$out" ;;
  *.ko.gz) gzip -dc "$src" >"$out" ;;
  *) cp "$src" "$out" ;;
  esac
  deps=$(tr '\0' '\n' <"$out" | sed -n 's/^depends=//p' | head -n 1)
  for d in ${deps//,/ }; do
    add_module "$d"
  done
  order+=("${rel%.ko*}.ko")
}
for m in "${modules[@]}"; do
  add_module "$m"
done
printf '%s\n' "${order[@]}" >"$root/etc/modules"

out="$work/kit"
mkdir -p "$out"
cp "$vmlinuz" "$out/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$out/initramfs.cpio.gz"
echo "$kver" >"$out/kernel-version"
echo "$stamp" >"$out/stamp"
rm -rf "$kit"
mv "$out" "$kit"
log "vmkit-$kver: $(du -sh "$kit" | cut -f1), modules: ${order[*]}"
echo "$kit"
