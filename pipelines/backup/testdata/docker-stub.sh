#!/bin/bash
# docker-stub: a STUB of the docker CLI for tests of the real nassella-backup script. It
# stands in for the two calls the script makes and logs each to $STUB_LOG:
#   docker compose ... exec -T SERVICE CMD...  runs CMD here (as if in the service)
#   docker run [opts] IMAGE ARGS...            runs $NASSELLA_RESTIC ARGS here, with the
#                                              --env-file/-e environment and -w folder
# Volumes (-v) are the same paths inside and out, so they need no emulation.
set -euo pipefail
printf 'docker' >>"$STUB_LOG"
printf ' %q' "$@" >>"$STUB_LOG"
printf '\n' >>"$STUB_LOG"
case ${1:-} in
  compose)
    shift
    while [ $# -gt 0 ] && [ "$1" != exec ]; do shift; done
    [ $# -gt 0 ] || { echo "docker-stub: only 'compose ... exec' is emulated" >&2; exit 2; }
    shift
    [ "${1:-}" = -T ] && shift
    shift # the service
    exec "$@"
    ;;
  run)
    shift
    dir=.
    while [ $# -gt 0 ]; do
      case $1 in
        --rm | -i) shift ;;
        --network | --hostname | -v) shift 2 ;;
        -w) dir=$2; shift 2 ;;
        --env-file)
          # docker reads NAME=value lines literally (no quotes, no expansion)
          while IFS= read -r line || [ -n "$line" ]; do
            case $line in '' | '#'*) continue ;; esac
            export "$line"
          done <"$2"
          shift 2
          ;;
        -e)
          case $2 in *=*) export "${2?}" ;; esac
          shift 2
          ;;
        -*) echo "docker-stub: unknown option $1" >&2; exit 2 ;;
        *) break ;;
      esac
    done
    shift # the image
    cd "$dir"
    exec "${NASSELLA_RESTIC:?}" "$@"
    ;;
  *) echo "docker-stub: $1 is not emulated" >&2; exit 2 ;;
esac
