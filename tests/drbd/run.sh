#!/usr/bin/env bash
# The DRBD suite for ocf:ferroha:volume: two emulated (TCG) qemu guests with Debian's kernel
# (in-tree DRBD 8.4), the agent binary shared into both over 9p, and scenario.py driving it.
# Usage (root): tests/drbd/run.sh [--keep] [--record-fixtures] [--scenario FILE]
#   --keep             leave the guests running (prints how to reach and stop them)
#   --record-fixtures  copy the /proc/drbd outputs captured in each state to
#                      agents/volume/tests/fixtures/proc_drbd_84_rec_*.txt
#   --scenario FILE    run FILE (a Python script, given the run directory) instead of scenario.py
#                      against the booted guests; bench/volume.sh uses it
# Needs tests/drbd/packages.sh once. Downloads and images are cached in $FERROHA_DRBD_CACHE
# (default /var/cache/ferroha-drbd). Everything else lives in /tmp/ferroha-drbd-<pid> and is removed
# on exit; the two qemu processes are killed by the PIDs in their pidfiles.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
keep=0; record=0; scenario=$here/scenario.py
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1;;
    --record-fixtures) record=1;;
    --scenario) [ $# -ge 2 ] || { echo "--scenario needs a file" >&2; exit 2; }
      scenario=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
  shift
done
[ -f "$scenario" ] || { echo "drbd: no scenario $scenario" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "drbd: run as root" >&2; exit 1; }
CACHE=${FERROHA_DRBD_CACHE:-/var/cache/ferroha-drbd}
RUN=/tmp/ferroha-drbd-$$
t0=$(date +%s)

# shellcheck disable=SC2317  # run by the EXIT trap (cleanup)
stop_guests() {
  for n in 1 2; do
    pf=$RUN/node$n.pid
    [ -f "$pf" ] || continue
    pid=$(cat "$pf")
    if [ -n "$pid" ] && grep -qa qemu "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    rm -f "$pf"
  done
}
spid=
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  if [ "$keep" = 1 ]; then
    echo "drbd: guests kept in $RUN; e.g. $here/guestctl.py $RUN/node1.ctl 'cat /proc/drbd'"
    echo "drbd: stop with: kill \$(cat $RUN/node1.pid) \$(cat $RUN/node2.pid); rm -rf $RUN"
    return
  fi
  stop_guests; rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "drbd: building static binaries"
( cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
    -p ferroha-volume -p ferroha-check --target x86_64-unknown-linux-gnu )
"$here/build-images.sh" "$CACHE"

mkdir -p "$RUN/share/bin" "$RUN/share/out"
cp "$root/target/x86_64-unknown-linux-gnu/release/volume" "$RUN/share/volume"
cp "$root/target/x86_64-unknown-linux-gnu/release/ferroha-check" "$RUN/share/bin/ferroha-check"
# Pacemaker is not in the guests: this recorder stands in for crm_attribute, so the scenario can
# assert the promotion scores the agent sets. It writes to the guest's own /tmp (one per node).
cat > "$RUN/share/bin/crm_attribute" <<'REC'
#!/bin/sh
echo "$*" >> /tmp/crm_attribute.log
REC
chmod 755 "$RUN/share/bin/crm_attribute"
cat > "$RUN/share/drbd.conf" <<'CONF'
global { usage-count no; }
common {
  net { protocol C; }
  disk { resync-rate 100M; }
}
CONF
# The resource itself, shared with the Pacemaker cluster of tests/drbd-cluster.
cat "$here/r0.res" >> "$RUN/share/drbd.conf"
# A free TCP port on loopback for the point-to-point guest link.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export QEMU_MODULE_DIR=$CACHE/qemu/usr/lib/x86_64-linux-gnu/qemu
for n in 1 2; do
  qemu-img create -q -f raw "$RUN/node$n.img" 64M
  if [ $n = 1 ]; then net="listen=127.0.0.1:$port"; else net="connect=127.0.0.1:$port"; fi
  "$CACHE/qemu/usr/bin/qemu-system-x86_64" -nodefaults -accel tcg -smp 1 -m 256 -machine pc \
    -display none -no-reboot -L "$CACHE/fw" -kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.img" \
    -append "console=ttyS0 quiet panic=-1 drbdvm.node=$n" \
    -serial "file:$RUN/node$n.console" \
    -drive "file=$RUN/node$n.img,if=virtio,format=raw,cache=unsafe" \
    -netdev "socket,id=n0,$net" \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:99:00:0$n,romfile=" \
    -device virtio-serial-pci -chardev "socket,id=ctl,path=$RUN/node$n.ctl,server=on,wait=off" \
    -device virtserialport,chardev=ctl,name=ctl \
    -virtfs "local,path=$RUN/share,mount_tag=host,security_model=none,id=fs0" \
    -pidfile "$RUN/node$n.pid" -daemonize
done
echo "drbd: guests started ($(( $(date +%s) - t0 )) s), run dir $RUN"
rc=0
# In the background + wait, so that a TERM to this script runs the cleanup trap at once.
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" python3 -B "$scenario" "$RUN" & spid=$!
wait "$spid" || rc=$?
spid=""
if [ "$record" = 1 ]; then
  for f in "$RUN"/share/out/proc_drbd_*.txt; do
    [ -f "$f" ] && cp "$f" "$root/agents/volume/tests/fixtures/proc_drbd_84_rec_$(basename "$f" | sed 's/^proc_drbd_//')"
  done
fi
if [ $rc != 0 ]; then
  echo "drbd: FAILED; console tails:"; for n in 1 2; do tail -n 15 "$RUN/node$n.console" 2>/dev/null | sed "s/^/node$n| /"; done
fi
echo "drbd: total $(( $(date +%s) - t0 )) s"
exit $rc
