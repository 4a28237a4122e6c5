#!/usr/bin/env bash
# Installs what the compose tests run for real: Debian's Docker (dockerd, containerd, runc,
# docker-proxy and the docker client) when dockerd is missing, and builds the Docker Compose
# CLI plugin at the catalog's version (catalog/release.yaml, compose.version) from its Go
# module, cached under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/compose-<version>. The
# daemon is not started here: each test starts its own (internal/testenv/dockertest).
# Same contract as .ci/tools.sh:
#   eval "$(.ci/tools-docker.sh)"
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

# The tests use the client of the same package (/usr/bin/docker), not another docker on
# PATH: client and daemon match, as on a Flatcar host.
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "need dockerd: run as root, or apt-get install -y --no-install-recommends docker.io"
    exit 1
  fi
  # Its services must stay stopped: invoke-rc.d obeys /usr/sbin/policy-rc.d, which
  # tools-all.sh writes.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    log "/usr/sbin/policy-rc.d is missing, so docker.io would start dockerd on this machine: run .ci/tools-all.sh"
    exit 1
  fi
  log "installing docker.io (once per machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends docker.io >&2
fi
dockerd=$(command -v dockerd)
"$dockerd" --version >/dev/null || { log "$dockerd --version failed"; exit 1; }

version=$(awk '/^compose:/ { c = 1; next } /^[^ #]/ { c = 0 } c && $1 == "version:" { print $2; exit }' ../catalog/release.yaml)
[ -n "$version" ] || { log "no compose.version in catalog/release.yaml"; exit 1; }
plugin="$cache/compose-$version/docker-compose"
if [ -x "$plugin" ]; then
  log "docker compose $version cached"
else
  log "building docker compose $version (once per machine, a few minutes)"
  mkdir -p "$(dirname "$plugin")"
  # The module path carries the major version (github.com/docker/compose/v2, .../v5). Its
  # go.mod has exclude directives from v5 on, so `go install mod@version` refuses it: it is
  # built in a copy of the module (module_copy), like build_module in lib.sh, but with the version
  # string set the way compose's own Makefile does (GO_LDFLAGS:
  # -X ${PKG}/internal.Version=${VERSION}, VERSION from `git describe`, so with a "v"),
  # statically like its Dockerfile (CGO_ENABLED=0): `docker compose version` prints
  # v$version.
  module="github.com/docker/compose/v${version%%.*}"
  work=$(module_copy "$module" "v$version") || exit 1
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $module/internal.Version=v$version" -o "$plugin.tmp" ./cmd)
  mv "$plugin.tmp" "$plugin"
  log "built docker compose $version"
fi

echo "export NASSELLA_COMPOSE_PLUGIN=$plugin"
echo "export NASSELLA_DOCKERD=$dockerd"
echo "export NASSELLA_DOCKER=/usr/bin/docker"
