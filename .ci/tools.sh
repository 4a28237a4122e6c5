#!/usr/bin/env bash
# Builds what `nassella demo` and `nassella validate` of a Hetzner site need, OpenTofu and
# the hcloud provider, from the Go module proxy, cached outside the repo keyed by version,
# and prints the environment that points nassella and the tests at them:
#   eval "$(.ci/tools.sh)"
# The other platforms' providers (libvirt, openstack) come from .ci/tools-platforms.sh,
# which runs this one; the demo never needs them, so the README's first command does not
# wait for them. The two builds run side by side (each is mostly single-threaded linking
# and waiting on downloads at its start); progress goes to stderr every 30 s.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

TOFU_VERSION=1.10.10
HCLOUD_VERSION=1.57.0

tofu_dir="$cache/tofu-$TOFU_VERSION"
mirror="$cache/providers-hcloud-$HCLOUD_VERSION"
bin="$cache/hcloud-$HCLOUD_VERSION/terraform-provider-hcloud_v$HCLOUD_VERSION"
mkdir -p "$tofu_dir" "$(dirname "$bin")"

build_module github.com/opentofu/opentofu "v$TOFU_VERSION" ./cmd/tofu "$tofu_dir/tofu" &
tofu_pid=$!
# The provider is served only when the checksum database is skipped for that exact version.
build_module github.com/hetznercloud/terraform-provider-hcloud "v$HCLOUD_VERSION" . "$bin" GOSUMDB=off GOFLAGS=-mod=mod &
hcloud_pid=$!
wait_all "OpenTofu $TOFU_VERSION and the hcloud provider $HCLOUD_VERSION" "$tofu_pid" "$hcloud_pid"

mirror_provider "$mirror" hetznercloud/hcloud "$HCLOUD_VERSION" "$bin"
rc=$(write_tofurc "$mirror")

echo "export NASSELLA_TOFU=$tofu_dir/tofu"
echo "export TF_CLI_CONFIG_FILE=$rc"
echo "export NASSELLA_PROVIDER_MIRROR=$mirror"
