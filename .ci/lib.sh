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
  (cd "$work" && env "$@" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  rm -rf "$work"
  log "built $(basename "$out") $version"
}

# wait_all WHAT PID...: waits for the builds, saying every 30 s that they still run;
# fails when one failed.
wait_all() {
  local what=$1 start=$SECONDS rc=0 pid
  shift
  while kill -0 "$@" 2>/dev/null; do
    sleep 5
    if (( (SECONDS - start) % 30 < 5 )) && kill -0 "$@" 2>/dev/null; then
      log "still building $what ($((SECONDS - start)) s)"
    fi
  done
  for pid in "$@"; do
    wait "$pid" || rc=1
  done
  return $rc
}
