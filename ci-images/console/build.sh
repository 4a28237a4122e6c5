#!/usr/bin/env bash
# Builds the console's image from this checkout (ci-images/console/Dockerfile) with the
# Docker engine of DOCKER_HOST: a static nassella-console and this machine's CA certificates go
# into a fresh build context; nothing is pulled and nothing is written to the repo.
#   bash ci-images/console/build.sh [TAG]      (default tag: nassella-console:dev)
# NASSELLA_CA_CERTS names another CA bundle than Debian's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-nassella-console:dev}
certs=${NASSELLA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$certs" ] || { echo "build.sh: no CA certificates at $certs (Debian: apt-get install ca-certificates)" >&2; exit 1; }
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
# Static (no libc in the image) and without the build machine's paths; -s -w leave out
# the symbol tables, which panics' stack traces do not need.
(cd "$here/../.." && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$context/nassella-console" ./cmd/nassella-console)
cp "$certs" "$context/ca-certificates.crt"
chmod 0644 "$context/ca-certificates.crt"
mkdir -p "$context/tmp-root/tmp"
chmod 1777 "$context/tmp-root/tmp"
cp "$here/Dockerfile" "$context/Dockerfile"
docker build --tag "$tag" "$context" >&2
echo "$tag"
