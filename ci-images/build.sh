#!/usr/bin/env bash
# Builds the CI image (the one the site workflows run in) from this checkout with the
# Docker engine of DOCKER_HOST, pulling nothing:
#   bash ci-images/build.sh [TAG]      (default tag: nassella-ci:dev)
# 1. its base is a Debian root made by debootstrap (.ci/tools-ciroot.sh: bash, git, jq,
#    curl, an SSH client, CA certificates, Node.js), imported as nassella-ci-base:<hash>;
# 2. OpenTofu and the providers of every platform come from .ci/tools-platforms.sh, built
#    from the Go module proxy like the tests' own, and a static nassella from this checkout;
# 3. ci-images/Dockerfile puts them on that base.
# Both scripts cache what they build under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella.
# Needs root (debootstrap). The same script builds the published image
# (.github/workflows/ci-image.yml); prints the tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tag=${1:-nassella-ci:dev}

eval "$(bash "$repo/.ci/tools-platforms.sh")"
eval "$(bash "$repo/.ci/tools-ciroot.sh")"
for v in NASSELLA_TOFU NASSELLA_PROVIDER_MIRROR NASSELLA_CIROOT; do
  [ -n "${!v:-}" ] || { echo "build.sh: the tools scripts set no $v" >&2; exit 1; }
done

# The base's tag names its root's hash, so a changed package list is a new base.
root_name=$(basename "$NASSELLA_CIROOT" .tar.gz)
base="nassella-ci-base:${root_name#ciroot-}"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  # An imported root has no configuration at all: the PATH Debian's shells expect.
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$NASSELLA_CIROOT" "$base" >&2
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$context/nassella" ./cmd/nassella)
cp "$NASSELLA_TOFU" "$context/tofu"
# tofu looks providers up under registry.opentofu.org (a site's versions.tf names them
# without a host); the mirror's registry.terraform.io copy is for terraform and stays out.
mkdir -p "$context/providers"
cp -R -L "$NASSELLA_PROVIDER_MIRROR/registry.opentofu.org" "$context/providers/"
cp "$here/Dockerfile" "$context/Dockerfile"
docker build --build-arg "BASE=$base" --tag "$tag" "$context" >&2
echo "$tag"
