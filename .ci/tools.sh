#!/usr/bin/env bash
# Builds the external tools the tests run for real (OpenTofu, the hcloud provider) from the Go
# module proxy, cached outside the repo keyed by version, and prints the environment that
# points the tests at them. Usage: eval "$(.ci/tools.sh)"
set -euo pipefail

TOFU_VERSION=1.10.10
HCLOUD_VERSION=1.57.0
VERSITYGW_VERSION=1.8.0

cache="${XDG_CACHE_HOME:-$HOME/.cache}/nassella"
mkdir -p "$cache"

log() { echo "tools: $*" >&2; }

# build_module MODULE VERSION PKG OUT [env...]: go build PKG of MODULE@VERSION into OUT.
build_module() {
  local module=$1 version=$2 pkg=$3 out=$4
  shift 4
  if [ -x "$out" ]; then
    log "$(basename "$out") $version cached"
    return
  fi
  log "building $module@$version (once per machine)"
  local dir work
  dir=$(env "$@" go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "go mod download $module@$version gave no Dir"; exit 1; }
  work=$(mktemp -d "$cache/build.XXXXXX")
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && env "$@" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

tofu_dir="$cache/tofu-$TOFU_VERSION"
mkdir -p "$tofu_dir"
build_module github.com/opentofu/opentofu "v$TOFU_VERSION" ./cmd/tofu "$tofu_dir/tofu"

# The provider is served only when the checksum database is skipped for that exact version.
mirror="$cache/providers-hcloud-$HCLOUD_VERSION"
bin="$cache/hcloud-$HCLOUD_VERSION/terraform-provider-hcloud_v$HCLOUD_VERSION"
mkdir -p "$(dirname "$bin")"
build_module github.com/hetznercloud/terraform-provider-hcloud "v$HCLOUD_VERSION" . "$bin" GOSUMDB=off GOFLAGS=-mod=mod

# tofu looks under registry.opentofu.org, terraform under registry.terraform.io; symlinked
# folders are ignored, so hard-link the binary into both.
for host in registry.terraform.io registry.opentofu.org; do
  d="$mirror/$host/hetznercloud/hcloud/$HCLOUD_VERSION/linux_amd64"
  mkdir -p "$d"
  [ -e "$d/terraform-provider-hcloud_v$HCLOUD_VERSION" ] || ln "$bin" "$d/terraform-provider-hcloud_v$HCLOUD_VERSION"
done

rc="$cache/tofurc-hcloud-$HCLOUD_VERSION"
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

# versitygw: an S3 server (posix backend) for the state and backup tests.
vgw="$cache/versitygw-$VERSITYGW_VERSION/versitygw"
if [ ! -x "$vgw" ]; then
  log "building versitygw $VERSITYGW_VERSION (once per machine)"
  mkdir -p "$(dirname "$vgw")"
  GOBIN="$(dirname "$vgw")" go install "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
else
  log "versitygw $VERSITYGW_VERSION cached"
fi

echo "export NASSELLA_TOFU=$tofu_dir/tofu"
echo "export NASSELLA_VERSITYGW=$vgw"
echo "export TF_CLI_CONFIG_FILE=$rc"
echo "export NASSELLA_PROVIDER_MIRROR=$mirror"
