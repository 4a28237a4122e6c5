#!/bin/bash
# Prepares the data volume named in /etc/nassella/volume.env (written by Terraform).
set -euo pipefail
dev=${NASSELLA_DATA_DEVICE:?missing: Terraform writes it to /etc/nassella/volume.env}
# Terraform attaches the volume after the server exists, so it may come minutes into the
# boot. Wait for it however long it takes (the mount and everything after it wait too),
# saying so once a minute: failing would leave the host down until a reboot.
waited=0
until [ -b "$dev" ]; do
  if [ $((waited % 60)) -eq 0 ]; then
    echo "waiting for the data volume $dev (${waited}s so far); is it attached?" >&2
  fi
  sleep 1
  waited=$((waited + 1))
done
fstype=$(blkid -p -o value -s TYPE "$dev" || true)
label=$(blkid -p -o value -s LABEL "$dev" || true)
if [ -z "$fstype" ]; then
  echo "formatting the blank data volume $dev"
  mkfs.ext4 -q -L nassella-data "$dev"
  udevadm settle
elif [ "$label" != nassella-data ]; then
  echo "$dev holds a $fstype filesystem labelled '$label', not nassella-data: refusing to use or format it" >&2
  exit 1
fi
