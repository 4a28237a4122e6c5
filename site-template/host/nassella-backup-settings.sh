#!/bin/bash
# nassella-backup-settings set | timer DIR
# The backup settings that change on a running server, without a rebuild: schedule,
# retention and heartbeat, as KEY=VALUE lines in /etc/nassella/backup-settings.env
# (Terraform writes the first ones at first boot). The file is read, never sourced: only
# the known keys, each value matched against its pattern.
#   set        new settings on stdin (nassella apply sends them through the backup key's
#              forced command): checked, written, and the backup timer restarted with them.
#   timer DIR  the systemd generator (/etc/systemd/system-generators/nassella-backup-schedule,
#              run at boot and at every daemon-reload): the timer's schedule as a drop-in in DIR.
set -euo pipefail
config=${NASSELLA_CONFIG:-/etc/nassella}
file="$config/backup-settings.env"
keys=(NASSELLA_SCHEDULE NASSELLA_KEEP_DAILY NASSELLA_KEEP_WEEKLY NASSELLA_KEEP_MONTHLY NASSELLA_HEARTBEAT_URL)

die() {
  echo "nassella-backup-settings: $*" >&2
  exit 1
}

# allowed KEY VALUE: whether VALUE may be KEY's. The heartbeat address refuses what
# site.yaml's check refuses; values are never printed (the address may hold a token).
allowed() {
  case $1 in
    NASSELLA_SCHEDULE) [[ $2 =~ ^(hourly|daily\ ([01][0-9]|2[0-3]):[0-5][0-9])$ ]] ;;
    NASSELLA_KEEP_DAILY | NASSELLA_KEEP_WEEKLY | NASSELLA_KEEP_MONTHLY) [[ $2 =~ ^(0|[1-9][0-9]{0,3})$ ]] ;;
    NASSELLA_HEARTBEAT_URL) [[ -z $2 || ($2 == https://?* && ${#2} -le 512 && $2 != *[[:space:][:cntrl:]\'\"\\\`\$]*) ]] ;;
  esac
}

# read_settings: KEY=VALUE lines from stdin, comments and blank lines aside; any other
# key, a value not allowed, a key given twice or missing fails, and nothing is set.
read_settings() {
  local line key value n=0
  local -A got=()
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    [ "$n" -le 100 ] || die "more than 100 lines: not a settings file"
    case $line in '' | '#'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    [ "$key" != "$line" ] || die "line $n is not KEY=VALUE"
    case $key in
      NASSELLA_SCHEDULE | NASSELLA_KEEP_DAILY | NASSELLA_KEEP_WEEKLY | NASSELLA_KEEP_MONTHLY | NASSELLA_HEARTBEAT_URL) ;;
      *) die "line $n: unknown setting (known: ${keys[*]})" ;;
    esac
    allowed "$key" "$value" || die "line $n: the value of $key is not allowed"
    [ -z "${got[$key]+set}" ] || die "line $n: $key is given twice"
    got[$key]=$value
  done
  for key in "${keys[@]}"; do
    [ -n "${got[$key]+set}" ] || die "$key is missing"
  done
  for key in "${keys[@]}"; do
    printf -v "$key" '%s' "${got[$key]}"
  done
}

# The timer's schedule, in the server's local time (the site's timezone).
timer_dropin() {
  local calendar=hourly delay=5min
  if [ "$NASSELLA_SCHEDULE" != hourly ]; then
    calendar="*-*-* ${NASSELLA_SCHEDULE#daily }:00"
    delay=30min
  fi
  printf '# Written by nassella-backup-settings from %s.\n[Timer]\nOnCalendar=%s\nRandomizedDelaySec=%s\n' "$file" "$calendar" "$delay"
}

case ${1:-} in
  set)
    read_settings
    umask 022
    {
      echo "# Written by nassella-backup-settings; nassella apply sends new settings from host/backup-settings.env."
      for key in "${keys[@]}"; do printf '%s=%s\n' "$key" "${!key}"; done
    } >"$file.tmp"
    mv -f "$file.tmp" "$file"
    # daemon-reload runs the generator again, which writes the timer's new schedule.
    systemctl daemon-reload
    systemctl restart nassella-backup.timer
    heartbeat=off
    [ -z "$NASSELLA_HEARTBEAT_URL" ] || heartbeat=on
    echo "backups: $NASSELLA_SCHEDULE; keep $NASSELLA_KEEP_DAILY daily, $NASSELLA_KEEP_WEEKLY weekly, $NASSELLA_KEEP_MONTHLY monthly; heartbeat $heartbeat"
    ;;
  timer)
    dir=${2:?"give the output folder (systemd passes it to generators)"}
    [ -r "$file" ] || die "$file is missing: the backup timer has no schedule (Terraform writes the file at first boot)"
    read_settings <"$file"
    mkdir -p "$dir/nassella-backup.timer.d"
    timer_dropin >"$dir/nassella-backup.timer.d/schedule.conf"
    ;;
  *)
    die "use: nassella-backup-settings set (the settings on stdin) | timer DIR"
    ;;
esac
