#!/bin/bash
# The only command admin.logs_key may run (forced in authorized_keys): read the journal.
# It runs as core, which reads the whole journal without sudo: core is in wheel (Flatcar's
# hardening guide), and journalctl(1) lets wheel, adm and systemd-journal read all of it.
# The request (SSH_ORIGINAL_COMMAND) is exactly, in this order:
#   logs [--app NAME] [--lines N] [--since 'WHEN'] [--follow]
set -euo pipefail
config=${NASSELLA_CONFIG:-/etc/nassella}
re="^logs( --app ([a-z0-9][a-z0-9-]{0,62}))?( --lines ([1-9][0-9]{0,3}|10000))?( --since '([A-Za-z0-9 :.+@-]{1,40})')?( --follow)?\$"
if ! [[ ${SSH_ORIGINAL_COMMAND:-} =~ $re ]]; then
  echo "this key may only read logs: logs [--app NAME] [--lines N] [--since 'WHEN'] [--follow]" >&2
  exit 2
fi
app=${BASH_REMATCH[2]} lines=${BASH_REMATCH[4]} since=${BASH_REMATCH[6]} follow=${BASH_REMATCH[7]}
args=(--output=json --no-pager --quiet)
[ -n "$since$lines" ] || lines=200
[ -z "$since" ] || args+=("--since=$since")
[ -z "$lines" ] || args+=("--lines=$lines")
[ -z "$follow" ] || args+=(--follow)
case $app in
  '') ;;
  proxy) args+=(SYSLOG_IDENTIFIER=proxy + _SYSTEMD_UNIT=nassella-proxy.service) ;;
  backup) args+=(SYSLOG_IDENTIFIER=backup + _SYSTEMD_UNIT=nassella-backup.service) ;;
  *)
    if [ ! -d "$config/apps/$app" ]; then
      echo "there is no app $app on this server" >&2
      exit 2
    fi
    args+=("SYSLOG_IDENTIFIER=$app" + "_SYSTEMD_UNIT=nassella-app-$app.service") ;;
esac
exec journalctl "${args[@]}"
