#!/usr/bin/env bash
# The cluster layer of the DRBD guests: corosync, pacemaker (daemons, CLI tools, schemas), MariaDB's
# server and client, DRBD's crm-fence-peer handlers, the guest side of the power switch
# (fence_ferroha_qemu) and /etc/init.local (network, cluster start). Packed as a second cpio
# archive and appended to tests/drbd's initrd.img: the kernel unpacks both, the second on top, so
# the plain DRBD suite's image stays as it is. Binaries are the host's, copied with their shared
# libraries (host and guest are both Debian 12), as build-images.sh does for bash.
# Usage: build-image.sh CACHE_DIR   (after tests/drbd/build-images.sh CACHE_DIR)
# Output: CACHE_DIR/initrd-cluster.img. Rebuilds only when this script, the guest files or the base
# image change.
set -euo pipefail
W=${1:?usage: build-image.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$W/initrd.img" ] || { echo "build-image: run tests/drbd/build-images.sh $W first" >&2; exit 1; }
stamp=$(cat "$here/build-image.sh" "$here/init.local" "$here/fence_ferroha_qemu" "$W/stamp" | sha256sum | cut -c1-16)
if [ -f "$W/initrd-cluster.img" ] && [ "$(cat "$W/stamp-cluster" 2>/dev/null)" = "$stamp" ]; then
  echo "build-image: cluster image up to date in $W"; exit 0
fi
for f in /usr/sbin/corosync /usr/sbin/pacemakerd /usr/sbin/mariadbd; do
  [ -x "$f" ] || { echo "build-image: $f missing (scripts/setup.sh installs corosync, pacemaker, mariadb-server)" >&2; exit 1; }
done
R=$W/rootfs-cluster
rm -rf "$R"
mkdir -p "$R"/{etc/corosync,etc/mysql,etc/ferroha,usr/sbin,usr/bin,usr/lib/pacemaker,usr/share,lib/drbd,usr/lib/drbd}
mkdir -p "$R"/var/lib/{corosync,pacemaker/cib,pacemaker/pengine,pacemaker/blackbox,pacemaker/cores}
mkdir -p "$R"/var/log/{pacemaker,cluster,corosync,ferroha,mysql} "$R/usr/lib/ocf/resource.d/ferroha"
bins=()
for f in corosync corosync-cfgtool corosync-quorumtool corosync-cmapctl pacemakerd cibadmin crm_attribute \
    crm_mon crm_node crm_resource stonith_admin attrd_updater crm_verify crm_failcount crm_standby \
    crm_error crmadmin mariadbd; do
  cp "/usr/sbin/$f" "$R/usr/sbin/"; bins+=("$R/usr/sbin/$f")
done
cp /usr/sbin/crm_master "$R/usr/sbin/"   # a bash script around crm_attribute
cp /usr/bin/mariadb "$R/usr/bin/"; bins+=("$R/usr/bin/mariadb")
# GNU sed and grep over busybox's: crm-fence-peer.sh's sed scripts need GNU sed (busybox's fails
# with "no address after comma", and the unfence handler then finds no constraint to remove).
mkdir -p "$R/bin"
for f in sed grep; do cp "/bin/$f" "$R/bin/$f"; bins+=("$R/bin/$f"); done
for f in /usr/lib/pacemaker/*; do cp "$f" "$R/usr/lib/pacemaker/"; bins+=("$R/usr/lib/pacemaker/$(basename "$f")"); done
cp -a /usr/share/pacemaker "$R/usr/share/"
mkdir -p "$R/usr/share/mysql"
cp -a /usr/share/mysql/english /usr/share/mysql/charsets "$R/usr/share/mysql/"
# DRBD 8.4's fence-peer handlers (bash, over cibadmin/crm_mon): the drbd-utils package's own.
cp "$W"/drbdu/usr/lib/drbd/{crm-fence-peer.sh,crm-unfence-peer.sh} "$R/usr/lib/drbd/"
for b in "${bins[@]}"; do
  { ldd "$b" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' | while read -r lib; do
    mkdir -p "$R$(dirname "$lib")"; [ -e "$R$lib" ] || cp -L "$lib" "$R$lib"
  done
done
# The base image's libraries already there are left as they are (same files).
install -m 755 "$here/fence_ferroha_qemu" "$R/usr/sbin/fence_ferroha_qemu"
install -m 755 "$here/init.local" "$R/etc/init.local"
# The agents and ferroha-api come over 9p from the run directory (rebuilt per run, not per image).
for a in volume mariadb vip restapi; do ln -s "/mnt/host/bin/$a" "$R/usr/lib/ocf/resource.d/ferroha/$a"; done
ln -s /mnt/host/bin/ferroha-api "$R/usr/bin/ferroha-api"
ln -s /mnt/host/bin/ferroha-check "$R/usr/bin/ferroha-check"
# The base image's passwd/group plus the cluster's and MariaDB's users, with the host's ids (the
# seeded datadir comes over 9p with the host's owners).
{ echo "root:x:0:0:root:/root:/bin/sh"; echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh"
  getent passwd hacluster mysql | awk -F: -v OFS=: '{print $1, "x", $3, $4, $5, $6, "/bin/false"}'; } > "$R/etc/passwd"
{ printf 'root:x:0:\nnogroup:x:65534:\n'
  getent group haclient mysql | awk -F: -v OFS=: '{print $1, "x", $3, ""}'; } > "$R/etc/group"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$W/cluster.cpio.gz")
cat "$W/initrd.img" "$W/cluster.cpio.gz" > "$W/initrd-cluster.img.new" && mv "$W/initrd-cluster.img.new" "$W/initrd-cluster.img"
rm -f "$W/cluster.cpio.gz"
echo "$stamp" > "$W/stamp-cluster"
echo "build-image: $(du -h "$W/initrd-cluster.img" | cut -f1) cluster initramfs"
