#!/bin/busybox sh
# /init of the vmtest boot kit: a Debian kernel and busybox standing in for Flatcar in the
# harness's own tests. It does what the harness relies on a real host for:
#   - reads the config the harness passed through fw_cfg (where Flatcar's Ignition looks)
#     and serves it over HTTP on port 80, so injection and the port forward are proven;
#   - formats the data disk (serial nassella-data) only when blank, counts boots on it and
#     keeps a marker written by the first boot, so persistence across boots is proven;
#   - prints "vmkit: ..." lines on the serial console;
#   - powers off on request: GET /cgi-bin/poweroff, or the ACPI power button (what the
#     harness's Shutdown presses, as it does for Flatcar).
# Kernel command line: vmkit.hang makes it stop before the network, for timeout tests.

/bin/busybox mkdir -p /proc /sys /dev /tmp /data /www/cgi-bin
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "vmkit: $*"; }
halt_now() {
	say "powering off"
	umount /data 2>/dev/null
	sync
	poweroff -f
	sleep 5
}

say "init started on kernel $(uname -r)"
while read -r m; do
	insmod "/lib/modules/$m" || say "could not load $m"
done </etc/modules

# The config from fw_cfg.
cfg=/sys/firmware/qemu_fw_cfg/by_name/opt/org.flatcar-linux/config/raw
if [ -r "$cfg" ]; then
	cat "$cfg" >/www/config
	say "config read: $(wc -c </www/config) bytes, sha256 $(sha256sum </www/config | cut -c1-64)"
else
	: >/www/config
	say "no config in fw_cfg"
fi

# The data disk, found by its serial like /dev/disk/by-id/virtio-nassella-data on Flatcar.
dev=
for _ in $(seq 1 100); do
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = nassella-data ] && dev=/dev/${b##*/}
	done
	[ -n "$dev" ] && break
	sleep 0.1
done
if [ -n "$dev" ]; then
	if ! mount -t ext4 "$dev" /data 2>/dev/null; then
		if [ -z "$(dd if="$dev" bs=4096 count=16 2>/dev/null | tr -d '\000' | head -c 1)" ]; then
			say "formatting the blank data disk $dev"
			mke2fs -q -L nassella-data "$dev" >/dev/null && mount -t ext4 "$dev" /data
		else
			say "$dev is not blank and not mountable: refusing to format it"
		fi
	fi
fi
if grep -q " /data " /proc/mounts; then
	boots=$(cat /data/boots 2>/dev/null || echo 0)
	boots=$((boots + 1))
	echo "$boots" >/data/boots
	if [ -s /data/marker ]; then
		say "marker found: $(cat /data/marker)"
	else
		sha256sum </www/config | cut -c1-64 >/data/marker
		say "marker written: $(cat /data/marker)"
	fi
	sync
	cp /data/boots /data/marker /www/
	say "boot $boots on the data disk"
else
	say "no data disk"
fi

if grep -q vmkit.hang /proc/cmdline; then
	say "hanging on purpose (vmkit.hang): no network"
	while :; do
		[ -e /tmp/poweroff ] && halt_now
		sleep 1
	done
fi

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\npowering off\\n"\ntouch /tmp/poweroff\n' >/www/cgi-bin/poweroff
chmod 755 /www/cgi-bin/poweroff
# The ACPI power button: wait for its first input event.
for e in /sys/class/input/event*; do
	if [ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ]; then
		(dd if="/dev/input/${e##*/}" bs=24 count=1 >/dev/null 2>&1 && touch /tmp/poweroff) &
	fi
done
httpd -p 80 -h /www
say "ready"

while [ ! -e /tmp/poweroff ]; do
	sleep 0.2
done
halt_now
