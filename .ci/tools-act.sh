#!/usr/bin/env bash
# Builds nektos/act, the GitHub Actions runner the site workflows' tests run them under
# (ci-images/workflows_act_test.go), from its Go module at an exact version, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/nassella/act-<version>, and prints the environment:
#   eval "$(.ci/tools-act.sh)"
# MIT-licensed; a test tool only, never in an image or a site repo.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

ACT_VERSION=0.2.89
act="$cache/act-$ACT_VERSION/act"
mkdir -p "$(dirname "$act")"
build_module github.com/nektos/act "v$ACT_VERSION" . "$act"
echo "export NASSELLA_ACT=$act"
