#!/bin/bash
# Creates an app's administrator once, before anyone can reach the app: waits until the
# app answers its health check, runs the catalog's claim steps (rendered per app into
# claim.sh), then marks the app claimed, which is what makes Caddy serve it. A failed
# step leaves the reason beside the marker and the app shut.
#   nassella-claim run APP            claim APP (nothing to do once claimed)
#   nassella-claim credentials [APP]  one line per app: APP STATE LOGIN PASSWORD REASON
# Secrets and answers are never printed by run; credentials prints them, for the owner.
# Tools: bash, curl (--header @file), flock, GNU sed -E and grep -E, all in Flatcar's image
# (flatcar/scripts coreos-overlay coreos-base/coreos-0.0.1.ebuild: app-shells/bash,
# net-misc/curl, sys-apps/util-linux, sys-apps/sed, sys-apps/grep), and docker.
set -euo pipefail
umask 077
data=${NASSELLA_DATA:-/var/lib/nassella}
config=${NASSELLA_CONFIG:-/etc/nassella}
claims="$data/claims"
# How long an app may take to answer its health check the first time (Nextcloud installs
# itself, Immich migrates its database), and how long one request may take.
wait_max=${NASSELLA_CLAIM_WAIT:-2700}
step_max=${NASSELLA_CLAIM_STEP_TIMEOUT:-120}
proxy_net=nassella-proxy
# Set by the app's claim file.
title="" host="" login="" password="" service="" port="" health_path="" health_status=""

usage() {
  echo "usage: nassella-claim run APP | credentials [APP]" >&2
  exit 2
}

# app_file APP prints the app's claim file; an unknown app is refused.
app_file() {
  if [[ ! $1 =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || [ ! -r "$config/apps/$1/claim.sh" ]; then
    echo "no app $1 on this server" >&2
    exit 2
  fi
  printf '%s' "$config/apps/$1/claim.sh"
}

declare -A vals=()
# load_secrets APP reads the app's secrets file into vals; it is never sourced. Values
# written by the secrets script are letters and digits; quoted lines are not for claims.
load_secrets() {
  local f="$data/secrets/$1.env" line
  [ -r "$f" ] || return 0
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z][A-Z0-9_]*)=([A-Za-z0-9]*)$ ]]; then
      vals[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
  done <"$f"
}

# fill S replaces each ${NAME} in S with its value, literally: a value is never run or
# expanded again.
fill() {
  local s=$1 out="" rest name open="\${"
  while [[ $s == *"$open"* ]]; do
    out+=${s%%"$open"*}
    rest=${s#*"$open"}
    name=${rest%%\}*}
    if [[ $rest != *\}* || ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      out+=$open
      s=$rest
      continue
    fi
    if [[ ! -v "vals[$name]" ]]; then
      echo "step $n: no value for \${$name}" >&2
      return 1
    fi
    out+=${vals[$name]}
    s=${rest#*\}}
  done
  printf '%s' "$out$s"
}

# address prints the address of the app's http container on the proxy network.
address() {
  local id
  id=$(docker ps --quiet --filter "label=com.docker.compose.project=$app" \
    --filter "label=com.docker.compose.service=$service" | head -n 1)
  [ -n "$id" ] || return 1
  docker inspect --format "{{with index .NetworkSettings.Networks \"$proxy_net\"}}{{.IPAddress}}{{end}}" "$id"
}

# request METHOD PATH [curl options...] asks the app as Caddy would (its host name,
# https as the scheme the visitor used), keeping cookies for the whole claim; the answer
# lands in $tmp/head and $tmp/body and its status is printed.
request() {
  local method=$1 path=$2
  shift 2
  curl --silent --show-error --max-time "$step_max" --request "$method" \
    --header "Host: $host" --header "X-Forwarded-Proto: https" --header "X-Forwarded-Host: $host" \
    --cookie "$tmp/jar" --cookie-jar "$tmp/jar" --dump-header "$tmp/head" --output "$tmp/body" \
    --write-out '%{http_code}' "$@" "http://$addr:$port$path"
}

wait_healthy() {
  local deadline=$((SECONDS + wait_max)) code=""
  while :; do
    if addr=$(address) && [ -n "$addr" ]; then
      code=$(request GET "$health_path" 2>/dev/null || true)
      [ "$code" = "$health_status" ] && return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      fail "it did not answer its health check $health_path with $health_status within $((wait_max / 60)) minutes (last answer: ${code:-none})"
    fi
    sleep 5
  done
}

fail() {
  echo "claiming $app failed: $1" >&2
  printf '%s\n' "$1" | tr -d '\t' | head -c 500 >"$claims/$app.failed.new"
  mv "$claims/$app.failed.new" "$claims/$app.failed"
  exit 1
}

n=0
# step_exec SERVICE USER ARG... runs a command in one of the app's containers.
step_exec() {
  local svc=$1 user=$2 a
  shift 2
  n=$((n + 1))
  local argv=()
  for a in "$@"; do
    argv+=("$(fill "$a")") || fail "step $n: a value is missing"
  done
  local opts=(exec -T)
  [ -z "$user" ] || opts+=(--user "$user")
  echo "step $n: running ${argv[0]} in $svc"
  docker compose --project-name "$app" --env-file "$data/secrets/$app.env" \
    --file "$config/apps/$app/compose.yaml" "${opts[@]}" "$svc" "${argv[@]}" >"$tmp/body" 2>&1 ||
    fail "step $n (${argv[0]} in $svc) exited with status $?$(said)"
}

# said prints ": " and the last line the step's command wrote, every secret and saved
# value in it masked, for the reason of a failure ("user already exists").
said() {
  local l v
  l=$(grep -av '^[[:space:]]*$' "$tmp/body" | tail -n 1 | tr -d '\t\r' | cut -c1-200) || true
  for v in "${vals[@]}"; do
    [ -z "$v" ] || l=${l//"$v"/...}
  done
  [ -z "$l" ] || printf ': %s' "$l"
}

# step_http METHOD PATH [--status CODES] [--json BODY | --form BODY] [--header H]...
#   [--expect ERE [--repeat N]] [--save NAME ERE]... sends a request to the app and checks
#   its answer; a GET whose answer lacks what expect looks for is sent again up to N times
#   (a long-polled stream answers with what it has so far).
step_http() {
  local method=$1 path status="" expect="" code kind="" shown=${2%%\?*} repeat=0
  n=$((n + 1))
  path=$(fill "$2") || fail "step $n: a value is missing"
  shift 2
  local saves=() opts=()
  : >"$tmp/headers"
  while [ $# -gt 0 ]; do
    case $1 in
      --status) status=$2 ;;
      --json | --form)
        kind=$1
        fill "$2" >"$tmp/request" || fail "step $n: a value is missing"
        ;;
      --header) { fill "$2" || fail "step $n: a value is missing"; echo; } >>"$tmp/headers" ;;
      --expect) expect=$2 ;;
      --repeat) repeat=$2 ;;
      --save)
        saves+=("$2" "$3")
        shift
        ;;
      *) fail "step $n: unknown option $1 (the claim file and this script are from different releases)" ;;
    esac
    shift 2
  done
  case $kind in
    --json) opts+=(--header "Content-Type: application/json" --data-binary "@$tmp/request") ;;
    --form) opts+=(--header "Content-Type: application/x-www-form-urlencoded" --data-binary "@$tmp/request") ;;
  esac
  # Headers from a file: a token in them stays out of the process list.
  opts+=(--header "@$tmp/headers")
  echo "step $n: $method $shown"
  while :; do
    code=$(request "$method" "$path" "${opts[@]}") || fail "step $n ($method $shown): no answer"
    case " $status " in
      *" $code "*) ;;
      *) fail "step $n ($method $shown) answered $code, want $status" ;;
    esac
    cat "$tmp/head" "$tmp/body" >"$tmp/answer"
    if [ -z "$expect" ] || grep -Eaq -- "$expect" "$tmp/answer"; then
      break
    fi
    if [ "$repeat" -le 0 ]; then
      fail "step $n ($method $shown) answered $code without what it should say"
    fi
    repeat=$((repeat - 1))
  done
  local i v
  for ((i = 0; i < ${#saves[@]}; i += 2)); do
    v=$(sed -nE "s"$'\x01'".*${saves[i + 1]}.*"$'\x01'"\\1"$'\x01'"p" "$tmp/answer" | head -n 1)
    [ -n "$v" ] || fail "step $n ($method $shown) answered without ${saves[i]}"
    vals[${saves[i]}]=$v
  done
}

run() {
  local f
  f=$(app_file "$1")
  app=$1
  mkdir -p "$claims"
  if [ -e "$claims/$app" ]; then
    echo "$app is claimed already"
    return 0
  fi
  exec 9>"$claims/.$app.lock"
  flock --nonblock 9 || {
    echo "$app is being claimed already" >&2
    exit 1
  }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # shellcheck source=/dev/null
  . "$f"
  load_secrets "$app"
  echo "waiting for $title to answer its health check"
  wait_healthy
  steps
  printf 'claimed %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$claims/$app.new"
  mv "$claims/$app.new" "$claims/$app"
  rm -f "$claims/$app.failed"
  echo "$title is claimed: its administrator is $login; the proxy now serves it"
}

credentials() {
  local names=() a state reason pw
  if [ $# -gt 0 ]; then
    app_file "$1" >/dev/null
    names=("$1")
  else
    for a in "$config"/apps/*/claim.sh; do
      [ -e "$a" ] || continue
      a=${a%/claim.sh}
      names+=("${a##*/}")
    done
  fi
  for a in "${names[@]}"; do
    (
      # shellcheck source=/dev/null
      . "$config/apps/$a/claim.sh"
      vals=()
      load_secrets "$a"
      state=pending reason=""
      if [ -e "$claims/$a" ]; then
        state=claimed
      elif [ -e "$claims/$a.failed" ]; then
        state=failed
        reason=$(head -n 1 "$claims/$a.failed" | tr -d '\t')
      fi
      pw=""
      [ -z "$password" ] || pw=${vals[$password]:-}
      printf '%s\t%s\t%s\t%s\t%s\n' "$a" "$state" "$login" "$pw" "$reason"
    )
  done
}

case ${1:-} in
  run)
    [ $# -eq 2 ] || usage
    run "$2"
    ;;
  credentials)
    [ $# -le 2 ] || usage
    shift
    credentials "$@"
    ;;
  *) usage ;;
esac
