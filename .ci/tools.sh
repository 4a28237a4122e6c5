#!/usr/bin/env bash
# Builds what `nassella demo` and `nassella validate` need, OpenTofu and the providers of the
# platforms (hcloud, libvirt, openstack), from the Go module proxy, cached outside the repo keyed by version, and prints
# the environment that points nassella and the tests at them. Usage: eval "$(.ci/tools.sh)"
# The two builds run side by side (each is mostly single-threaded linking and waiting on
# downloads at its start); progress goes to stderr every 30 s.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TOFU_VERSION=1.10.10
HCLOUD_VERSION=1.57.0
# dmacvicar/libvirt, the own-hardware platform (site-template/terraform/libvirt); pure Go
# (digitalocean/go-libvirt speaks libvirt's RPC protocol), so no libvirt headers are needed.
LIBVIRT_VERSION=0.8.3
# terraform-provider-openstack, the OpenStack platform (site-template/terraform/openstack);
# MPL-2.0, gophercloud v2 underneath.
OPENSTACK_VERSION=3.4.0

tofu_dir="$cache/tofu-$TOFU_VERSION"
mirror="$cache/providers-hcloud-$HCLOUD_VERSION-libvirt-$LIBVIRT_VERSION-openstack-$OPENSTACK_VERSION"
bin="$cache/hcloud-$HCLOUD_VERSION/terraform-provider-hcloud_v$HCLOUD_VERSION"
libvirt_bin="$cache/libvirt-$LIBVIRT_VERSION/terraform-provider-libvirt_v$LIBVIRT_VERSION"
openstack_bin="$cache/openstack-$OPENSTACK_VERSION/terraform-provider-openstack_v$OPENSTACK_VERSION"
mkdir -p "$tofu_dir" "$(dirname "$bin")" "$(dirname "$libvirt_bin")" "$(dirname "$openstack_bin")"

build_module github.com/opentofu/opentofu "v$TOFU_VERSION" ./cmd/tofu "$tofu_dir/tofu" &
tofu_pid=$!
# The provider is served only when the checksum database is skipped for that exact version.
build_module github.com/hetznercloud/terraform-provider-hcloud "v$HCLOUD_VERSION" . "$bin" GOSUMDB=off GOFLAGS=-mod=mod &
hcloud_pid=$!
build_module github.com/dmacvicar/terraform-provider-libvirt "v$LIBVIRT_VERSION" . "$libvirt_bin" GOSUMDB=off GOFLAGS=-mod=mod &
libvirt_pid=$!
build_module github.com/terraform-provider-openstack/terraform-provider-openstack/v3 "v$OPENSTACK_VERSION" . "$openstack_bin" GOSUMDB=off GOFLAGS=-mod=mod &
openstack_pid=$!
wait_all "OpenTofu $TOFU_VERSION and the providers (hcloud $HCLOUD_VERSION, libvirt $LIBVIRT_VERSION, openstack $OPENSTACK_VERSION)" "$tofu_pid" "$hcloud_pid" "$libvirt_pid" "$openstack_pid"

# tofu looks under registry.opentofu.org, terraform under registry.terraform.io; symlinked
# folders are ignored, so hard-link the binary into both.
for host in registry.terraform.io registry.opentofu.org; do
  d="$mirror/$host/hetznercloud/hcloud/$HCLOUD_VERSION/linux_amd64"
  mkdir -p "$d"
  [ -e "$d/terraform-provider-hcloud_v$HCLOUD_VERSION" ] || ln "$bin" "$d/terraform-provider-hcloud_v$HCLOUD_VERSION"
  d="$mirror/$host/dmacvicar/libvirt/$LIBVIRT_VERSION/linux_amd64"
  mkdir -p "$d"
  [ -e "$d/terraform-provider-libvirt_v$LIBVIRT_VERSION" ] || ln "$libvirt_bin" "$d/terraform-provider-libvirt_v$LIBVIRT_VERSION"
  d="$mirror/$host/terraform-provider-openstack/openstack/$OPENSTACK_VERSION/linux_amd64"
  mkdir -p "$d"
  [ -e "$d/terraform-provider-openstack_v$OPENSTACK_VERSION" ] || ln "$openstack_bin" "$d/terraform-provider-openstack_v$OPENSTACK_VERSION"
done

rc="$cache/tofurc-hcloud-$HCLOUD_VERSION-libvirt-$LIBVIRT_VERSION-openstack-$OPENSTACK_VERSION"
cat > "$rc.tmp" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*", "registry.opentofu.org/*/*"]
  }
  direct { exclude = ["*/*/*"] }
}
RC
mv "$rc.tmp" "$rc"

echo "export NASSELLA_TOFU=$tofu_dir/tofu"
echo "export TF_CLI_CONFIG_FILE=$rc"
echo "export NASSELLA_PROVIDER_MIRROR=$mirror"
