#!/usr/bin/env bash
# Installs every tool the tests run for real and prints the environment pointing at them:
#   eval "$(.ci/tools-all.sh)"
# Go-built tools (OpenTofu, the hcloud, libvirt and openstack providers, versitygw, Gitea, Caddy and restic for the
# rehearsal's images, and act, the Actions runner; .ci/tools.sh through tools-platforms.sh, tools-s3.sh, tools-gitea.sh,
# tools-images.sh, tools-act.sh) are cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/nassella by version; Debian packages (restic, sshd, QEMU,
# busybox, Docker, Chromium, libvirtd) are installed when missing, beside the Go builds; then the stand-in host's Debian
# root and Ignition (tools-hostimage.sh), and the CI image's Debian root (tools-ciroot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  # Packages must not start services on this machine (openssh-server would start sshd).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
(
  bash .ci/tools-backup.sh > "$tmp/backup.env"
  bash .ci/tools-vm.sh > "$tmp/vm.env"
  bash .ci/tools-libvirt.sh > "$tmp/libvirt.env"
  bash .ci/tools-docker.sh > "$tmp/docker.env"
  bash .ci/tools-browser.sh > "$tmp/browser.env"
  # After the other apt users (one dpkg lock): debootstrap's root, then Ignition's build.
  bash .ci/tools-hostimage.sh > "$tmp/hostimage.env"
  bash .ci/tools-ciroot.sh > "$tmp/ciroot.env"
) 2> "$tmp/apt.log" &
apt=$!
# The Go builds overlap: each spends part of its time downloading and linking on one core.
bash .ci/tools-platforms.sh > "$tmp/go.env" &
go_tools=$!
bash .ci/tools-s3.sh > "$tmp/s3.env" &
s3=$!
bash .ci/tools-gitea.sh > "$tmp/gitea.env" &
gitea=$!
bash .ci/tools-images.sh > "$tmp/images.env" &
images=$!
bash .ci/tools-act.sh > "$tmp/act.env" &
act=$!
for pid in "$go_tools" "$s3" "$gitea" "$images" "$act"; do
  wait "$pid" || { echo "tools-all: a Go tool build failed (see above)" >&2; exit 1; }
done
if ! wait "$apt"; then
  cat "$tmp/apt.log" >&2
  echo "tools-all: installing the Debian packages failed" >&2
  exit 1
fi
cat "$tmp/apt.log" >&2
cat "$tmp/go.env" "$tmp/s3.env" "$tmp/gitea.env" "$tmp/images.env" "$tmp/backup.env" "$tmp/vm.env" "$tmp/libvirt.env" "$tmp/hostimage.env" "$tmp/ciroot.env" "$tmp/docker.env" "$tmp/browser.env" "$tmp/act.env"
