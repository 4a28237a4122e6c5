#!/bin/bash
# The only command admin.backup_key may run (forced in authorized_keys): start a backup and
# wait for it; asked for nassella-backup-status, print the last backup's status record;
# asked for nassella-backup-settings, take new backup settings on stdin (the settings
# script checks every line before it writes anything).
set -euo pipefail
if [ "${SSH_ORIGINAL_COMMAND:-}" = nassella-backup-status ]; then
  exec sudo -n cat /var/lib/nassella/backup/status.json
fi
if [ "${SSH_ORIGINAL_COMMAND:-}" = nassella-backup-settings ]; then
  exec sudo -n /opt/nassella/bin/nassella-backup-settings set
fi
if sudo -n systemctl start nassella-backup.service; then
  sudo -n cat /var/lib/nassella/backup/status.json
else
  sudo -n cat /var/lib/nassella/backup/status.json >&2 || true
  echo "the backup failed; see journalctl -u nassella-backup.service on the server (nassella logs)" >&2
  exit 1
fi
