#!/usr/bin/env bash
# Builds the root filesystem the CI image (ci-images/) starts from, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/nassella, and prints the environment pointing at it:
#   eval "$(.ci/tools-ciroot.sh)"
# A Debian root made by debootstrap (minbase) with what the site workflows call besides
# nassella and OpenTofu (ci-images/build.sh adds those): bash, git, jq, curl, an SSH client,
# the CA certificates, and Node.js, which a runner needs in the job's container to run a
# JavaScript action such as actions/checkout. Saved as ciroot-<suite>-<hash>.tar.gz (gzip:
# what `docker import` reads on every Docker version); the hash covers the suite, the
# package list and setup_root. Needs root (debootstrap) and installs debootstrap when missing.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

suite=bookworm
packages=(ca-certificates git openssh-client curl jq nodejs)

command -v debootstrap >/dev/null || apt_install debootstrap

# setup_root ROOT trims what a job container never uses; the cache key hashes this
# function, so a change here rebuilds the root.
setup_root() {
  local root=$1
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/tmp/*
  # A container gets its resolv.conf, hosts and hostname from the engine.
  : >"$root/etc/resolv.conf"
}

mirror=$(debian_mirror)
hash=$({ echo "$suite"; printf '%s\n' "${packages[@]}"; declare -f setup_root; } | sha256sum | cut -c1-16)
ciroot="$cache/ciroot-$suite-$hash.tar.gz"
if [ -f "$ciroot" ]; then
  log "CI image root $suite-$hash cached"
else
  if [ "$(id -u)" -ne 0 ]; then
    log "building the CI image's root needs root (debootstrap)"
    exit 1
  fi
  log "building the CI image's root ($suite from $mirror, once per machine, about 2 minutes)"
  work=$(mktemp -d "$cache/ciroot-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  debootstrap_root "$work" "$suite" "$mirror" "${packages[@]}" || exit 1
  setup_root "$root"
  tar --numeric-owner -C "$root" -cf - . | gzip -1 >"$work/root.tar.gz"
  mv "$work/root.tar.gz" "$ciroot"
  rm -rf "$work"
  trap - EXIT
  log "built the CI image's root: $(du -h "$ciroot" | cut -f1)"
  find "$cache" -maxdepth 1 -name "ciroot-$suite-*.tar.gz" ! -name "${ciroot##*/}" -delete
fi

echo "export NASSELLA_CIROOT=$ciroot"
