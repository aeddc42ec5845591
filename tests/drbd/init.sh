#!/bin/sh
# PID 1 of a DRBD test guest (drbd-in-qemu.md section 5). drbdvm.node=N on the kernel command line
# selects hostname nodeN and address 10.99.0.N/24; there is no default route.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
rmdir /var/run 2>/dev/null; ln -s /run /var/run; mkdir -p /run/lock; ln -s /run/lock /var/lock
NODE=1
read -r cmdline </proc/cmdline
for x in $cmdline; do case "$x" in drbdvm.node=*) NODE=${x#*=};; esac; done
for m in virtio_pci virtio_blk virtio_net virtio_console 9pnet_virtio 9p crc32c_generic drbd ext4; do
  modprobe "$m" || echo "modprobe $m failed"
done
hostname "node$NODE"
ip link set lo up
ip addr add "10.99.0.$NODE/24" dev eth0 && ip link set eth0 up
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /mnt/host 2>/dev/null && echo "9p share mounted on /mnt/host"
[ -f /mnt/host/drbd.conf ] && cp /mnt/host/drbd.conf /etc/drbd.conf
echo "DRBDVM-READY node$NODE uptime=$(cut -d' ' -f1 /proc/uptime) $(head -1 /proc/drbd)"
P=
for n in /sys/class/virtio-ports/*/name; do
  [ "$(cat "$n" 2>/dev/null)" = ctl ] && P=/dev/$(basename "$(dirname "$n")")
done
[ -n "$P" ] && ( while :; do sh -s <>"$P" 1>&0 2>&0; sleep 0.1; done ) &
# The cluster image (tests/drbd-cluster/build-image.sh) adds this: network, corosync, pacemaker.
[ -x /etc/init.local ] && /etc/init.local "$NODE" </dev/null >/dev/ttyS0 2>&1 &
while :; do setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'; sleep 1; done
