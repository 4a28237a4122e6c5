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
mail=/etc/nassella/mail.env
# The proxy serves an app only once it is marked in $claims (nassella-claim). A volume
# that has apps but no claims folder comes from a release before claims: its apps were
# set up by their owners already, so each is marked claimed rather than shut and claimed
# again. On a new volume the apps' folders do not exist yet (their units make them
# after this one).
claims=/var/lib/nassella/claims
apps=/var/lib/nassella/apps
if [ ! -d "$claims" ]; then
  rm -rf "$claims.new"
  mkdir -p "$claims.new"
  if [ -d "$apps" ]; then
    for a in "$apps"/*/; do
      [ -d "$a" ] || continue
      a=${a%/}
      printf 'set up before nassella created administrators\n' >"$claims.new/${a##*/}"
    done
  fi
  mv "$claims.new" "$claims"
fi
# relay APP gives the app the mail relay's password, which Terraform writes to $mail at
# apply (the CI secret SMTP_PASSWORD). It is replaced at every boot: a new password comes
# with a new server. Compose reads the line single-quoted, as it is (compose-go dotenv:
# no expansion inside ''), which holds any password without a ' or a final \.
relay() {
  local f="$dir/$1.env" pw=""
  if [ -r "$mail" ]; then
    pw=$(sed -n 's/^SMTP_PASSWORD=//p' "$mail" | head -n 1)
  fi
  case $pw in
    *"'"* | *\\)
      echo "the mail password (SMTP_PASSWORD) has a ' or ends with \\; $1 gets none" >&2
      pw=""
      ;;
  esac
  { grep -v '^NASSELLA_SMTP_PASSWORD=' "$f" || true; printf "NASSELLA_SMTP_PASSWORD='%s'\n" "$pw"; } >"$f.new"
  mv "$f.new" "$f"
}
