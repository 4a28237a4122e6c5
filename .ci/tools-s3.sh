#!/usr/bin/env bash
# Builds versitygw, an S3 server (posix backend) for the state and backup tests, from the Go
# module proxy, cached by version. Usage: eval "$(.ci/tools-s3.sh)"
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh
VERSITYGW_VERSION=1.8.0
vgw="$cache/versitygw-$VERSITYGW_VERSION/versitygw"
if [ ! -x "$vgw" ]; then
  log "building versitygw $VERSITYGW_VERSION (once per machine)"
  mkdir -p "$(dirname "$vgw")"
  GOBIN="$(dirname "$vgw")" go install "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
else
  log "versitygw $VERSITYGW_VERSION cached"
fi
echo "export NASSELLA_VERSITYGW=$vgw"
