#!/usr/bin/env bash
# Builds what `nassella demo` and `nassella validate` of a Hetzner site need, OpenTofu and
# the hcloud provider, from the Go module proxy, cached outside the repo keyed by version,
# and prints the environment that points nassella and the tests at them:
#   eval "$(.ci/tools.sh)"
# The other platforms' providers (libvirt, openstack) come from .ci/tools-platforms.sh,
# which runs this one; the demo never needs them, so the README's first command does not
# wait for them. On a new machine everything overlaps, so both cores stay busy: the two
# modules' downloads run while Go's standard library is compiled once for both builds
# (warm_std), then the two builds run side by side; from the start, nassella's own packages
# are compiled into Go's build cache with `go run`'s flags, so the `go run` that follows only
# links. Progress goes to stderr every 30 s.
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

start=$SECONDS
# nassella's packages, as `go run ./cmd/nassella` compiles them (its own flags, its own
# standard library): go run builds only its main package differently, without debug
# information (Go 1.26 cmd/go/internal/run/run.go, OmitDebug), and `go list -export` builds
# every package's export data with the same compile actions (cmd/go/internal/list/list.go,
# NeedExport). No link, that is go run's. Cheap when Go's build cache is warm. Not
# this script's failure: a checkout that does not compile is for go run or go vet to report.
(
  cd ..
  if ! { go mod download && go list -deps -export -f '' ./cmd/nassella > /dev/null 2>&1; }; then
    log "nassella's packages were not compiled ahead; go run or go vet says why"
  fi
) &
nassella_pid=$!
pids=("$nassella_pid")
if [ ! -x "$tofu_dir/tofu" ] || [ ! -x "$bin" ]; then
  log "building OpenTofu $TOFU_VERSION and the hcloud provider $HCLOUD_VERSION (once per machine)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  warm_std &
  std_pid=$!
  fetch=()
  if [ ! -x "$tofu_dir/tofu" ]; then
    fetch_module github.com/opentofu/opentofu "v$TOFU_VERSION" > "$tmp/tofu" &
    fetch+=($!)
  fi
  # The provider is served only when the checksum database is skipped for that exact version.
  hcloud_env=(GOSUMDB=off GOFLAGS=-mod=mod)
  if [ ! -x "$bin" ]; then
    fetch_module github.com/hetznercloud/terraform-provider-hcloud "v$HCLOUD_VERSION" "${hcloud_env[@]}" > "$tmp/hcloud" &
    fetch+=($!)
  fi
  wait_all "the downloads and Go's standard library" "$std_pid" "${fetch[@]}"
  if [ -s "$tmp/tofu" ]; then
    build_copy "$(cat "$tmp/tofu")" ./cmd/tofu "$tofu_dir/tofu" &
    pids+=($!)
  fi
  if [ -s "$tmp/hcloud" ]; then
    build_copy "$(cat "$tmp/hcloud")" . "$bin" "${hcloud_env[@]}" &
    pids+=($!)
  fi
fi
wait_all "OpenTofu $TOFU_VERSION, the hcloud provider $HCLOUD_VERSION and nassella" "${pids[@]}"
log "OpenTofu, the hcloud provider and nassella's packages ready in $((SECONDS - start)) s"

mirror_provider "$mirror" hetznercloud/hcloud "$HCLOUD_VERSION" "$bin"
rc=$(write_tofurc "$mirror")

echo "export NASSELLA_TOFU=$tofu_dir/tofu"
echo "export TF_CLI_CONFIG_FILE=$rc"
echo "export NASSELLA_PROVIDER_MIRROR=$mirror"
