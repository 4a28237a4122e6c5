#!/bin/bash
# Prepares the data volume named in /etc/nassella/volume.env (written by Terraform).
set -euo pipefail
dev=${NASSELLA_DATA_DEVICE:?missing: Terraform writes it to /etc/nassella/volume.env}
for _ in $(seq 1 300); do
  [ -b "$dev" ] && break
  sleep 1
done
if [ ! -b "$dev" ]; then
  echo "data volume $dev did not appear within 5 minutes; is it attached?" >&2
  exit 1
fi
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
