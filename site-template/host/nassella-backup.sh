#!/bin/bash
# nassella-backup run | check | restore [--snapshot ID] [--app NAME] [--target DIR] | snapshots | restore-first-boot
# Backs the nassella data volume up with restic to the site's S3 target: app dumps first
# (/etc/nassella/backup-hooks.sh), then the whole volume but the excluded caches, then retention.
# Writes /var/lib/nassella/backup/status.json after every run. Secrets come from /etc/nassella/outside.env.
set -Eeuo pipefail
umask 077
mode=${1:-}
data=${NASSELLA_DATA:-/var/lib/nassella}
config=${NASSELLA_CONFIG:-/etc/nassella}
cache=${NASSELLA_RESTIC_CACHE:-/var/cache/nassella/restic}
state="$data/backup"
status="$state/status.json"
outside="$config/outside.env"
# shellcheck source=/dev/null
. "$config/backup.env"
export RESTIC_REPOSITORY
settings="$config/backup-settings.env"

# read_settings: schedule, retention and heartbeat, which change on a running server
# (nassella-backup-settings checks and writes them): read as KEY=VALUE lines, never run.
read_settings() {
  local line key
  [ -r "$settings" ] || failed "$settings is missing (Terraform writes it at first boot; nassella apply sends new settings)"
  while IFS= read -r line || [ -n "$line" ]; do
    key=${line%%=*}
    case $key in
      NASSELLA_SCHEDULE | NASSELLA_KEEP_DAILY | NASSELLA_KEEP_WEEKLY | NASSELLA_KEEP_MONTHLY | NASSELLA_HEARTBEAT_URL) printf -v "$key" '%s' "${line#*=}" ;;
    esac
  done <"$settings"
}

log() { echo "nassella-backup: $*" >&2; }

# restic runs in the catalog's pinned image with the volume at the same path, so paths in
# snapshots are the host's.
# A restore into a folder outside the volume gets it mounted too (mounts+=): without it
# restic would write into the throwaway container (found by the compose rehearsal).
mounts=(-v "$data:$data" -v "$cache:$cache")
restic() {
  docker run --rm --network host --hostname "$NASSELLA_SITE" \
    --env-file "$outside" -e RESTIC_REPOSITORY \
    "${mounts[@]}" -w "$data" \
    "$NASSELLA_RESTIC_IMAGE" --cache-dir "$cache" $region_opt "$@"
}

json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  s=${s//$'\r'/ }
  s=${s//$'\t'/ }
  printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\037')"
}

# write_status RESULT ERROR: the status record, atomically.
write_status() {
  local result=$1 err=$2 now last size used avail pct
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  last=""
  if [ "$result" = ok ]; then
    last=$now
  elif [ -f "$status" ]; then
    last=$(sed -n 's/.*"last_success": *"\([^"]*\)".*/\1/p' "$status")
  fi
  read -r size used avail < <(df -B1 --output=size,used,avail "$data" | tail -n 1) || true
  pct=0
  if [ "${size:-0}" -gt 0 ]; then pct=$(( (used * 100 + size - 1) / size )); fi
  mkdir -p "$state"
  cat >"$status.tmp" <<JSON
{
  "time": "$now",
  "result": "$result",
  "error": $(json_string "$err"),
  "snapshot": "${snapshot:-}",
  "size_bytes": ${total_bytes:-0},
  "added_bytes": ${added_bytes:-0},
  "duration_seconds": $(( $(date +%s) - started )),
  "last_success": "$last",
  "schedule": "${NASSELLA_SCHEDULE:-}",
  "disk": {"size_bytes": ${size:-0}, "used_bytes": ${used:-0}, "avail_bytes": ${avail:-0}, "used_percent": $pct}
}
JSON
  mv -f "$status.tmp" "$status"
}

failed() {
  local msg=$1
  log "FAILED: $msg"
  if [ "$mode" = run ]; then write_status failed "$msg" || true; fi
  exit 1
}
trap 'failed "line $LINENO: $BASH_COMMAND exited with $?"' ERR

# hook APP SERVICE OUTPUT COMMAND...: a dump of the app, kept only when the command works.
hook() {
  local app=$1 svc=$2 out=$3
  shift 3
  local dir="$data/apps/$app/dumps"
  mkdir -p "$dir"
  local tmp="$dir/.$out.tmp"
  log "$app: dumping service $svc into dumps/$out"
  if ! docker compose --project-name "$app" --env-file "$data/secrets/$app.env" \
    --file "$config/apps/$app/compose.yaml" exec -T "$svc" "$@" >"$tmp" 2>"$tmp.err"; then
    local why
    why=$(tail -c 400 "$tmp.err")
    rm -f "$tmp" "$tmp.err"
    failed "$app: the backup hook in service $svc failed ($why); no backup was made. Is the app running? See nassella logs $app"
  fi
  rm -f "$tmp.err"
  if [ ! -s "$tmp" ]; then
    rm -f "$tmp"
    failed "$app: the backup hook in service $svc printed nothing; no backup was made. See nassella logs $app"
  fi
  mv -f "$tmp" "$dir/$out"
}

ensure_repo() {
  if ! restic cat config >/dev/null 2>&1; then
    log "no repository at $RESTIC_REPOSITORY yet: creating it"
    restic init >&2 || failed "cannot reach or create the repository $RESTIC_REPOSITORY; check backups.target in site.yaml and the BACKUP_* secrets"
  fi
}

run_backup() {
  read_settings
  # shellcheck source=/dev/null
  . "$config/backup-hooks.sh"
  ensure_repo
  local args=(backup . --json --host "$NASSELLA_SITE" --tag nassella --exclude "$data/lost+found" --exclude "$state/.lock" --exclude "$state/*.tmp")
  local e
  for e in "${NASSELLA_EXCLUDE[@]}"; do args+=(--exclude "$data/$e"); done
  local out
  out=$(restic "${args[@]}") || failed "restic backup failed; see the lines above"
  local summary
  summary=$(printf '%s\n' "$out" | grep '"message_type":"summary"' | tail -n 1)
  snapshot=$(printf '%s' "$summary" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p')
  total_bytes=$(printf '%s' "$summary" | sed -n 's/.*"total_bytes_processed":\([0-9]*\).*/\1/p')
  added_bytes=$(printf '%s' "$summary" | sed -n 's/.*"data_added":\([0-9]*\).*/\1/p')
  [ -n "$snapshot" ] || failed "restic backup gave no snapshot id"
  log "snapshot $snapshot: ${total_bytes:-0} bytes, ${added_bytes:-0} new"
  restic forget --prune --host "$NASSELLA_SITE" --tag nassella \
    --keep-daily "$NASSELLA_KEEP_DAILY" --keep-weekly "$NASSELLA_KEEP_WEEKLY" --keep-monthly "$NASSELLA_KEEP_MONTHLY" >&2 ||
    failed "restic forget --prune failed (the snapshot $snapshot was made)"
  write_status ok ""
  if [ -n "${NASSELLA_HEARTBEAT_URL:-}" ]; then
    curl -fsS -m 30 --retry 3 -o /dev/null "$NASSELLA_HEARTBEAT_URL" || log "warning: the heartbeat URL did not answer"
  fi
  log "backup done"
}

run_restore() {
  local snapshot=latest app="" target=$data
  while [ $# -gt 0 ]; do
    case $1 in
      --snapshot) snapshot=$2; shift 2 ;;
      --app) app=$2; shift 2 ;;
      --target) target=$2; shift 2 ;;
      *) log "unknown option $1; use restore [--snapshot ID] [--app NAME] [--target DIR]"; exit 2 ;;
    esac
  done
  target=$(realpath -m "$target")
  case $target/ in "$data"/*) ;; *) mounts+=(-v "$target:$target") ;; esac
  # Only the site's own snapshots: restic filters "latest" by host and tag, but takes any
  # snapshot named by ID, so an ID is looked up among the site's first.
  if [ "$snapshot" != latest ]; then
    case $snapshot in '' | *[!0-9a-f]*) log "--snapshot takes a snapshot ID (hex) or latest, not '$snapshot'"; exit 2 ;; esac
    local own
    own=$(restic snapshots --json --host "$NASSELLA_SITE" --tag nassella) || failed "cannot list the snapshots in $RESTIC_REPOSITORY"
    [[ $own == *"\"id\":\"$snapshot"* ]] ||
      failed "snapshot $snapshot is not one of site $NASSELLA_SITE's backups (tag nassella) in $RESTIC_REPOSITORY; nassella-backup snapshots lists them"
  fi
  local args=(restore "$snapshot" --host "$NASSELLA_SITE" --tag nassella --target "$target" --verify)
  if [ -n "$app" ]; then args+=(--include "/apps/$app" --include "/secrets/$app.env"); fi
  local units=()
  # On a first boot (restore_first_boot) nothing runs yet, and stopping a unit whose start
  # is queued would cancel it.
  if [ "$target" = "$data" ] && [ -z "${first_boot:-}" ]; then
    # The whole volume holds Caddy's storage too: a Caddy left running keeps serving what
    # it had in memory over the restored certificates and CA (found by the rehearsal's
    # restore onto a fresh server), so it stops with the apps and starts with them.
    if [ -n "$app" ]; then units=("nassella-app-$app.service"); else mapfile -t units < <(systemctl list-units --plain --no-legend nassella-proxy.service 'nassella-app-*.service' | cut -d' ' -f1); fi
    [ ${#units[@]} -eq 0 ] || systemctl stop "${units[@]}"
  fi
  mkdir -p "$target"
  log "restoring ${app:-every app} from snapshot $snapshot into $target"
  restic "${args[@]}" || failed "restic restore failed"
  [ ${#units[@]} -eq 0 ] || systemctl start "${units[@]}"
}

# restore_first_boot: what a server taking a site over does before its apps start, when
# apply gave it restore.env (nassella-restore.service): restore the named snapshot onto
# the data volume if the volume is blank (nothing on it but lost+found and this script's
# backup folder) or holds a restore that began and did not finish (the pending mark).
# Never over data: a volume with anything else on it is left alone, and the apps start on
# it.
restore_first_boot() {
  local want="" pending="$data/.nassella-restore-pending" other
  if [ -r "$config/restore.env" ]; then
    want=$(sed -n 's/^NASSELLA_RESTORE_SNAPSHOT=//p' "$config/restore.env" | tail -n 1)
  fi
  if [ -z "$want" ]; then
    log "restore.env names no snapshot: nothing to restore"
    return 0
  fi
  if [ ! -e "$pending" ]; then
    other=$(find "$data" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name backup -print -quit)
    if [ -n "$other" ]; then
      log "the data volume holds data ($other): not restoring over it"
      return 0
    fi
    : >"$pending"
  fi
  log "this server takes the site over: restoring snapshot $want onto the blank data volume before any app starts"
  first_boot=1
  run_restore --snapshot "$want"
  rm -f "$pending"
  log "restored snapshot $want; the apps start on it"
}

started=$(date +%s)
region_opt=""
if [ -n "${NASSELLA_S3_REGION:-}" ]; then region_opt="--option=s3.region=$NASSELLA_S3_REGION"; fi
[ -r "$outside" ] || { log "$outside is missing: Terraform writes it at apply (the BACKUP_* secrets)"; exit 1; }
mkdir -p "$cache" "$state"
exec 9>"$state/.lock"
flock 9
case $mode in
  run) shift; run_backup "$@" ;;
  check) shift; restic check --read-data-subset=5% >&2 || failed "restic check found a problem in $RESTIC_REPOSITORY" ;;
  restore) shift; run_restore "$@" ;;
  snapshots) shift; restic snapshots --host "$NASSELLA_SITE" --tag nassella "$@" ;;
  restore-first-boot) restore_first_boot ;;
  *) log "use: nassella-backup run | check | restore [--snapshot ID] [--app NAME] [--target DIR] | snapshots | restore-first-boot"; exit 2 ;;
esac
