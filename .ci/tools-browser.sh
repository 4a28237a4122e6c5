#!/usr/bin/env bash
# Installs what the console's browser test (pipelines/console/chromium_test.go) runs for real:
# Debian's Chromium, driven headless over the DevTools protocol, and a font so its screenshots
# for the owner docs are readable, when missing; then prints the environment that points the
# test at it. Same contract as .ci/tools.sh:
#   eval "$(.ci/tools-browser.sh)"
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
. ./lib.sh

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
else
  log "chromium installed"
fi
# Debian's launcher (/etc/chromium.d/dev-shm) may complain on stderr about /dev/shm while
# working: its output is shown only when the browser does not start.
if ! out=$(/usr/bin/chromium --version 2>&1); then
  log "/usr/bin/chromium --version failed: $out"
  exit 1
fi

echo "export NASSELLA_CHROMIUM=/usr/bin/chromium"
