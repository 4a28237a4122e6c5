#!/usr/bin/env bash
# Adds the providers of the platforms besides Hetzner to what .ci/tools.sh builds (which it
# runs, at the same time as its own builds), in one offline mirror, and prints the
# environment of tools.sh with that mirror instead:
#   eval "$(.ci/tools-platforms.sh)"
# Used by .ci/tools-all.sh (the tests) and the CI image (ci-images/build.sh).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

# dmacvicar/libvirt, the own-hardware platform (site-template/terraform/libvirt); pure Go
# (digitalocean/go-libvirt speaks libvirt's RPC protocol), so no libvirt headers are needed.
LIBVIRT_VERSION=0.8.3
# terraform-provider-openstack, the OpenStack platform (site-template/terraform/openstack);
# MPL-2.0, gophercloud v2 underneath.
OPENSTACK_VERSION=3.4.0

libvirt_bin="$cache/libvirt-$LIBVIRT_VERSION/terraform-provider-libvirt_v$LIBVIRT_VERSION"
openstack_bin="$cache/openstack-$OPENSTACK_VERSION/terraform-provider-openstack_v$OPENSTACK_VERSION"
mkdir -p "$(dirname "$libvirt_bin")" "$(dirname "$openstack_bin")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash ./tools.sh > "$tmp/tools.env" &
tools_pid=$!
# Served only when the checksum database is skipped for these exact versions.
build_module github.com/dmacvicar/terraform-provider-libvirt "v$LIBVIRT_VERSION" . "$libvirt_bin" GOSUMDB=off GOFLAGS=-mod=mod &
libvirt_pid=$!
build_module github.com/terraform-provider-openstack/terraform-provider-openstack/v3 "v$OPENSTACK_VERSION" . "$openstack_bin" GOSUMDB=off GOFLAGS=-mod=mod &
openstack_pid=$!
wait_all "the platforms' providers (libvirt $LIBVIRT_VERSION, openstack $OPENSTACK_VERSION)" "$tools_pid" "$libvirt_pid" "$openstack_pid"

# tools.sh's mirror (the hcloud provider) plus these two, hard-linked into one folder.
hcloud_mirror=$(sed -n 's/^export NASSELLA_PROVIDER_MIRROR=//p' "$tmp/tools.env")
mirror="$hcloud_mirror-libvirt-$LIBVIRT_VERSION-openstack-$OPENSTACK_VERSION"
mkdir -p "$mirror"
cp -a -l -n "$hcloud_mirror/." "$mirror/"
mirror_provider "$mirror" dmacvicar/libvirt "$LIBVIRT_VERSION" "$libvirt_bin"
mirror_provider "$mirror" terraform-provider-openstack/openstack "$OPENSTACK_VERSION" "$openstack_bin"
rc=$(write_tofurc "$mirror")

grep -v -e '^export TF_CLI_CONFIG_FILE=' -e '^export NASSELLA_PROVIDER_MIRROR=' "$tmp/tools.env"
echo "export TF_CLI_CONFIG_FILE=$rc"
echo "export NASSELLA_PROVIDER_MIRROR=$mirror"
