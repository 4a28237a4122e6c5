#!/usr/bin/env bash
# Installs what the backup, restore and logs tests run for real: restic (Debian's, 0.14),
# OpenSSH's server (the logs test starts its own sshd on 127.0.0.1), shellcheck (for the
# host scripts in site-template/host) and iptables (the metadata guard's rule, run in a
# network namespace of its own; systemd brings systemd-networkd and systemd-tmpfiles),
# then prints the environment that points the tests at them. Same contract as .ci/tools.sh:
#   eval "$(.ci/tools-backup.sh)"
set -euo pipefail

log() { echo "tools-backup: $*" >&2; }

missing=()
[ -x /usr/bin/restic ] || missing+=(restic)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/shellcheck ] || missing+=(shellcheck)
[ -x /usr/sbin/iptables ] || missing+=(iptables)
[ -x /lib/systemd/systemd-networkd ] || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "need ${missing[*]}: run as root, or apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]} (once per machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
else
  log "restic, sshd, shellcheck and iptables installed"
fi

echo "export NASSELLA_RESTIC=/usr/bin/restic"
echo "export NASSELLA_SSHD=/usr/sbin/sshd"
echo "export NASSELLA_SHELLCHECK=/usr/bin/shellcheck"
echo "export NASSELLA_IPTABLES=/usr/sbin/iptables"
echo "export NASSELLA_NETWORKD=/lib/systemd/systemd-networkd"
echo "export NASSELLA_TMPFILES=/usr/bin/systemd-tmpfiles"
