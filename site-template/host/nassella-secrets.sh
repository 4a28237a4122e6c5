#!/bin/bash
# Generates app secrets on the data volume at first boot; never prints or changes them.
set -euo pipefail
umask 077
dir=/var/lib/nassella/secrets
mkdir -p "$dir"
gen() {
  local s=""
  while [ ${#s} -lt "$1" ]; do
    s+=$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9')
  done
  printf '%s' "${s:0:$1}"
}
# ensure APP NAME LENGTH
ensure() {
  local f="$dir/$1.env"
  touch "$f"
  grep -q "^$2=" "$f" || printf '%s=%s\n' "$2" "$(gen "$3")" >>"$f"
}
