#!/usr/bin/env bash
# Builds Gitea (a real forge for the update-bot and bootstrap tests) from the Go module
# proxy, cached under ${XDG_CACHE_HOME:-$HOME/.cache}/nassella keyed by version, and prints
# the environment pointing the tests at it. Usage: eval "$(.ci/tools-gitea.sh)"
set -euo pipefail
GITEA_VERSION=1.26.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nassella"
dir="$cache/gitea-$GITEA_VERSION"
if [ ! -x "$dir/gitea" ]; then
  echo "tools: building gitea $GITEA_VERSION (once per machine, ~5 min)" >&2
  src=$(go mod download -json "code.gitea.io/gitea@v$GITEA_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] || { echo "tools: go mod download code.gitea.io/gitea@v$GITEA_VERSION gave no Dir" >&2; exit 1; }
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  cp -r "$src/." "$dir.tmp/src/"
  chmod -R u+w "$dir.tmp"
  (cd "$dir.tmp/src" && CGO_ENABLED=1 go build -tags 'sqlite sqlite_unlock_notify' \
    -ldflags "-s -w -X main.Version=$GITEA_VERSION" -o ../gitea . >&2)
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
else
  echo "tools: gitea $GITEA_VERSION cached" >&2
fi
echo "export NASSELLA_GITEA=$dir/gitea"
# Gitea has no bundled assets in this build: it serves templates and static files from here.
echo "export NASSELLA_GITEA_STATIC=$dir/src"
