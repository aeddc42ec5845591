#!/usr/bin/env bash
# Build the guest kernel + initramfs for the DRBD qemu pair (recipe: shared/notes/drbd-in-qemu.md).
# Usage: build-images.sh CACHE_DIR
# Downloads (apt-get download, not install) qemu-system, firmware, Debian's kernel and drbd-utils into
# CACHE_DIR/debs once, extracts them, and builds CACHE_DIR/initrd.img (busybox, drbd-utils, e2fsprogs,
# bash, xmllint, ocf-tester and its shell library; for bench/volume.sh also LINBIT's drbd agent,
# heartbeat's Filesystem agent, GNU time, strace, fsck and fuser). The agent itself is NOT in the
# image: run.sh shares it into the guests over 9p. Rebuilds only when this script changes.
set -euo pipefail
W=${1:?usage: build-images.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
stamp=$(sha256sum "$here/build-images.sh" "$here/init.sh" | sha256sum | cut -c1-16)
if [ -f "$W/initrd.img" ] && [ -f "$W/vmlinuz" ] && [ "$(cat "$W/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build-images: up to date in $W"; exit 0
fi
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2; exit}')
KVER=${KPKG#linux-image-}
mkdir -p "$W/debs"
( cd "$W/debs"
  for p in qemu-system-x86 qemu-system-common qemu-system-data seabios ipxe-qemu drbd-utils "$KPKG"; do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p"
  done )
rm -rf "$W/qemu" "$W/kern" "$W/drbdu" "$W/fw" "$W/rootfs"
mkdir -p "$W/qemu" "$W/kern" "$W/drbdu" "$W/fw"
for p in qemu-system-x86 qemu-system-common qemu-system-data seabios ipxe-qemu; do
  dpkg -x "$W"/debs/${p}_*.deb "$W/qemu"
done
dpkg -x "$W/debs/${KPKG}"_*.deb "$W/kern"
dpkg -x "$W"/debs/drbd-utils_*.deb "$W/drbdu"
for d in "$W/qemu/usr/share/qemu" "$W/qemu/usr/share/seabios" "$W/qemu/usr/lib/ipxe/qemu"; do
  for f in "$d"/*; do ln -sf "$(readlink -f "$f")" "$W/fw/"; done
done
cp "$W/kern/boot/vmlinuz-$KVER" "$W/vmlinuz"
/bin/busybox depmod -b "$W/kern" "$KVER"

R=$W/rootfs
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt/host,var/lib/drbd,lib/drbd,root,usr/bin,usr/sbin,usr/share}
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
rm -f "$R/bin/bash" "$R/bin/sh"; ln -s busybox "$R/bin/sh"
# Binaries copied with their shared libraries (guest and host are both Debian 12 / glibc 2.36).
bins=()
for f in drbdadm drbdsetup drbdmeta; do cp "$W/drbdu/sbin/$f" "$R/sbin/"; bins+=("$R/sbin/$f"); done
for f in drbdadm-84 drbdsetup-84; do cp "$W/drbdu/lib/drbd/$f" "$R/lib/drbd/"; bins+=("$R/lib/drbd/$f"); done
cp /bin/bash "$R/bin/bash"; bins+=("$R/bin/bash")
for f in mke2fs e2fsck; do cp "/sbin/$f" "$R/sbin/"; bins+=("$R/sbin/$f"); done
ln -sf mke2fs "$R/sbin/mkfs.ext4"; ln -sf e2fsck "$R/sbin/fsck.ext4"
cp /usr/bin/xmllint "$R/usr/bin/"; bins+=("$R/usr/bin/xmllint")
# For bench/volume.sh (the suite does not use them): GNU time (peak RSS), strace (process count),
# and fsck and fuser, which heartbeat's Filesystem agent requires to exist (check_binary).
for f in time strace fuser; do cp "/usr/bin/$f" "$R/usr/bin/"; bins+=("$R/usr/bin/$f"); done
cp /sbin/fsck "$R/sbin/"; bins+=("$R/sbin/fsck")
for b in "${bins[@]}"; do
  ldd "$b" 2>/dev/null | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' | while read -r lib; do
    mkdir -p "$R$(dirname "$lib")"; [ -e "$R$lib" ] || cp -L "$lib" "$R$lib"
  done
done
mkdir -p "$R/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
# ocf-tester and the shell library it sources; the DTD it validates meta-data against.
cp /usr/sbin/ocf-tester "$R/usr/sbin/"
mkdir -p "$R/usr/lib/ocf/lib" "$R/usr/lib/ocf/resource.d/ferroha" "$R/usr/share/resource-agents"
cp -a /usr/lib/ocf/lib/heartbeat "$R/usr/lib/ocf/lib/"
cp /usr/share/resource-agents/ra-api-1.dtd /usr/share/resource-agents/metadata.rng "$R/usr/share/resource-agents/"
# The anchors of bench/volume.sh: LINBIT's drbd agent from the same drbd-utils package (it sources
# the shell library above and its own drbd.shellfuncs.sh) and heartbeat's Filesystem agent.
mkdir -p "$R/usr/lib/ocf/resource.d/linbit" "$R/usr/lib/ocf/resource.d/heartbeat"
cp "$W"/drbdu/usr/lib/ocf/resource.d/linbit/{drbd,drbd.shellfuncs.sh} "$R/usr/lib/ocf/resource.d/linbit/"
cp /usr/lib/ocf/resource.d/heartbeat/Filesystem "$R/usr/lib/ocf/resource.d/heartbeat/"
# Kernel modules: the dependency closure of what init loads.
M=lib/modules/$KVER
mkdir -p "$R/$M"
want="virtio_pci virtio_blk virtio_net virtio_console 9pnet_virtio 9p crc32c_generic drbd ext4"
closure() { # module name -> relative paths of it and its dependencies, from modules.dep
  local rel; rel=$(awk -F: -v m="/$1.ko" 'index($1, m) && substr($1, length($1)-length(m)+1) == m {print; exit}' "$W/kern/$M/modules.dep")
  [ -n "$rel" ] || { echo "module $1 not found" >&2; return 1; }
  echo "${rel%%:*}"; for d in ${rel#*:}; do echo "$d"; done
}
for m in $want; do closure "${m//_/-}" 2>/dev/null || closure "$m"; done | sort -u | while read -r rel; do
  mkdir -p "$R/$M/$(dirname "$rel")"; cp "$W/kern/$M/$rel" "$R/$M/$rel"
done
cp "$W/kern/$M/modules.order" "$W/kern/$M/modules.builtin" "$R/$M/"
/bin/busybox depmod -b "$R" "$KVER"
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh" >> "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
install -m 755 "$here/init.sh" "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$W/initrd.img.new") && mv "$W/initrd.img.new" "$W/initrd.img"
echo "$stamp" > "$W/stamp"
echo "build-images: $(du -h "$W/initrd.img" | cut -f1) initramfs, kernel $KVER, $(find "$R/$M" -name '*.ko*' | wc -l) modules"
