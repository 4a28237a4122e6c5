#!/usr/bin/env bash
# Builds the two real programs of the rehearsal's container images (internal/testenv/standin)
# from the Go module proxy, at the versions catalog/release.yaml pins: Caddy (proxy.tag) and
# restic (backup.tag), static linux/amd64 binaries the way each project builds its releases,
# cached under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/<tool>-<version>. Same contract as
# .ci/tools.sh: eval "$(.ci/tools-images.sh)"
# The two builds run one after the other: each alone keeps a small machine's cores busy.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

# release_version KEY: the semantic version in the tag of release.yaml's KEY image
# (proxy: 2.10.2-alpine → 2.10.2).
release_version() {
  local v
  v=$(sed -n "/^$1:/,/^[a-z]/s/^  tag: *\"\{0,1\}\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p" ../catalog/release.yaml | head -n 1)
  [ -n "$v" ] || { log "catalog/release.yaml: no $1.tag with a version"; return 1; }
  echo "$v"
}

# One run at a time (tools-all.sh runs this script; so may a helper beside it): the second
# waits, then finds the binaries cached.
exec 9>"$cache/tools-images.lock"
flock 9

CADDY_VERSION=$(release_version proxy)
RESTIC_VERSION=$(release_version backup)
caddy="$cache/caddy-$CADDY_VERSION/caddy"
restic="$cache/restic-$RESTIC_VERSION/restic"
mkdir -p "$(dirname "$caddy")" "$(dirname "$restic")"

# Caddy's release build (caddyserver/caddy .goreleaser.yml, v2.10.2 to v2.11.4):
# cmd/caddy/main.go in a module of its own that requires Caddy at the tag (so `caddy version`
# reads the version from the dependency; there is no version ldflag), built with -trimpath
# -ldflags "-s -w" and the tags nobadger,nomysql,nopgx, CGO_ENABLED=0.
if [ -x "$caddy" ]; then
  log "caddy $CADDY_VERSION cached"
else
  log "building caddy $CADDY_VERSION (once per machine)"
  src=$(module_dir github.com/caddyserver/caddy/v2 "v$CADDY_VERSION") || exit 1
  work=$(mktemp -d "$cache/build.XXXXXX")
  cp "$src/cmd/caddy/main.go" "$work/main.go"
  (
    cd "$work"
    go mod init caddy 2>/dev/null
    go mod edit -require="github.com/caddyserver/caddy/v2@v$CADDY_VERSION"
    go mod tidy
    CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -mod=readonly -ldflags "-s -w" \
      -tags nobadger,nomysql,nopgx -o "$caddy.tmp" .
  )
  mv "$caddy.tmp" "$caddy"
  rm -rf "$work"
  log "built caddy $CADDY_VERSION"
fi

# restic's release binaries (restic/restic helpers/build-release-binaries/main.go, v0.18.1 and
# v0.19.1, used by docker/Dockerfile.release): go build -ldflags "-s -w" -tags
# selfupdate,disable_grpc_modules ./cmd/restic, CGO_ENABLED=0. The version is a constant in
# the source at the tag (internal/global/global.go in 0.19); no ldflag sets it.
build_module github.com/restic/restic "v$RESTIC_VERSION" ./cmd/restic "$restic" \
  GOOS=linux GOARCH=amd64 "GOFLAGS=$(go env GOFLAGS) -tags=selfupdate,disable_grpc_modules"

echo "export NASSELLA_CADDY_BIN=$caddy"
echo "export NASSELLA_RESTIC_BIN=$restic"
