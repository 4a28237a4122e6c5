# shellcheck shell=bash
# Shared by the .ci/tools-*.sh scripts: the cache folder and building a Go module's
# command at an exact version from the module proxy. Sourced, not run.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nassella"
mkdir -p "$cache"

log() { echo "tools: $*" >&2; }

# apt_install PKG...: installs Debian packages without their recommendations, as root; says
# how otherwise.
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    log "need $*: run as root, or apt-get install -y --no-install-recommends $*"
    return 1
  fi
  log "installing $* (once per machine)"
  DEBIAN_FRONTEND=noninteractive apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

# module_dir MODULE VERSION [env...]: prints the module's folder in the (read-only) module
# cache, downloading it from the proxy first.
module_dir() {
  local module=$1 version=$2 dir
  shift 2
  dir=$(env "$@" go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "go mod download $module@$version gave no Dir"; return 1; }
  echo "$dir"
}

# module_copy MODULE VERSION [env...]: prints a writable copy of the module under the cache
# folder, to build in with the module's own go.mod (the caller removes it).
module_copy() {
  local dir work
  dir=$(module_dir "$@") || return 1
  work=$(mktemp -d "$cache/build.XXXXXX")
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  echo "$work"
}

# fetch_module MODULE VERSION [env...]: prints a writable copy of the module (as
# module_copy) with the modules it needs downloaded, so building it next only compiles.
# Without arguments go mod download fetches those needed to build and test the module's
# packages (`go help mod download`), in parallel; a build fetches them as it meets them.
fetch_module() {
  local module=$1 version=$2 work
  shift 2
  work=$(module_copy "$module" "$version" "$@") || return 1
  if ! (cd "$work" && env "$@" go mod download); then
    rm -rf "$work"
    log "downloading what $module@$version imports failed"
    return 1
  fi
  echo "$work"
}

# build_copy WORK PKG OUT [env...]: go build PKG in a module copy (fetch_module, module_copy)
# into OUT, then removes the copy. Static (the CI image's Debian root has an older glibc than
# a build machine may) and stripped; warm_std builds the standard library with these flags.
build_copy() {
  local work=$1 pkg=$2 out=$3
  shift 3
  (cd "$work" && env "$@" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  rm -rf "$work"
  log "built $(basename "$out")"
}

# warm_std: compiles Go's standard library with build_copy's flags into the build cache, so
# builds started after it do not each compile it again at the same time.
warm_std() {
  CGO_ENABLED=0 go build -trimpath std
}

# build_module MODULE VERSION PKG OUT [env...]: go build PKG of MODULE@VERSION into OUT,
# unless OUT exists. The module is copied out of the read-only module cache first (some
# have replace directives, so `go install` refuses them).
build_module() {
  local module=$1 version=$2 pkg=$3 out=$4
  shift 4
  if [ -x "$out" ]; then
    log "$(basename "$out") $version cached"
    return
  fi
  log "building $module@$version (once per machine)"
  local work
  work=$(module_copy "$module" "$version" "$@") || return 1
  build_copy "$work" "$pkg" "$out" "$@"
}

# wait_all WHAT PID...: waits for the builds, saying every 30 s that they still run;
# fails when one failed.
wait_all() {
  local what=$1 start=$SECONDS last=$SECONDS rc=0 pid
  shift
  # A short poll, so cached tools cost no waiting; the progress line every 30 s.
  while kill -0 "$@" 2>/dev/null; do
    sleep 0.2
    if (( SECONDS - last >= 30 )) && kill -0 "$@" 2>/dev/null; then
      last=$SECONDS
      log "still building $what ($((SECONDS - start)) s)"
    fi
  done
  for pid in "$@"; do
    wait "$pid" || rc=1
  done
  return $rc
}

# mirror_provider MIRROR SOURCE VERSION BIN: puts a provider binary in an OpenTofu filesystem
# mirror. tofu looks under registry.opentofu.org, terraform under registry.terraform.io;
# symlinked folders are ignored, so the binary is hard-linked into both.
mirror_provider() {
  local mirror=$1 source=$2 version=$3 bin=$4 host d
  for host in registry.terraform.io registry.opentofu.org; do
    d="$mirror/$host/$source/$version/linux_amd64"
    mkdir -p "$d"
    [ -e "$d/$(basename "$bin")" ] || ln "$bin" "$d/$(basename "$bin")"
  done
}

# write_tofurc MIRROR: writes the OpenTofu CLI configuration that installs providers from
# MIRROR only (never the network) next to it, and prints its path.
write_tofurc() {
  local mirror=$1 rc
  rc="$cache/tofurc-$(basename "$mirror" | sed 's/^providers-//')"
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
  echo "$rc"
}

# debian_mirror prints the Debian mirror apt already uses here (deb822 or one-line
# sources), else Debian's CDN, for debootstrap.
debian_mirror() {
  local mirror
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

# debootstrap_root WORK SUITE MIRROR PKG...: makes a minbase Debian SUITE root with PKG in
# WORK/root (its log in WORK/debootstrap.log); on failure shows the logs' last lines.
debootstrap_root() {
  local work=$1 suite=$2 mirror=$3 include
  shift 3
  include=$(IFS=,; echo "$*")
  if ! debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$work/root/debootstrap/debootstrap.log" ] && tail -n 30 "$work/root/debootstrap/debootstrap.log" >&2
    log "debootstrap $suite failed"
    return 1
  fi
}
