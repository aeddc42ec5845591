#!/usr/bin/env bash
# The DRBD cluster suite (issue 12): lab/drbd-lab brings up two emulated qemu guests with real DRBD
# 8.4, corosync and pacemaker running crm-examples/drbd-stack.crm with power fencing, then
# scenario.py runs the scenarios (default 1 3 4 2: power-off of the primary, replication link cut,
# split brain, planned switchover) with a client writing through the VIP, and the lab is removed
# (qemu killed by its pidfiles, the bridge and taps deleted by name), also on TERM/INT.
# Usage (root): tests/drbd-cluster/run.sh [--keep] [SCENARIO...]
# Ends with "drbd-cluster: N passed, M failed". Needs scripts/setup.sh (packages, agents installed
# for crmsh's parameter checks); images are cached in $FERROHA_DRBD_CACHE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
keep=0
if [ "${1:-}" = --keep ]; then keep=1; shift; fi
[ "$(id -u)" = 0 ] || { echo "drbd-cluster: run as root" >&2; exit 1; }
export DRBD_LAB=dc$$
t0=$(date +%s)
spid=
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  if [ "$keep" = 1 ]; then
    echo "drbd-cluster (run.sh): lab kept: DRBD_LAB=$DRBD_LAB $root/lab/drbd-lab status | down"; return
  fi
  "$root/lab/drbd-lab" down
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rc=0
"$root/lab/drbd-lab" up & spid=$!
wait "$spid" || rc=$?
spid=
if [ $rc != 0 ]; then
  echo "drbd-cluster (run.sh): the lab did not come up"
  for f in "/tmp/ferroha-drbd-lab/$DRBD_LAB"/node*.console.*; do tail -n 20 "$f" 2>/dev/null | sed "s|^|$(basename "$f")| |"; done
  echo "drbd-cluster: 0 passed, 1 failed"; exit 1
fi
echo "drbd-cluster (run.sh): lab up in $(( $(date +%s) - t0 )) s"
python3 -B "$here/scenario.py" "$@" & spid=$!
wait "$spid" || rc=$?
spid=
if [ $rc != 0 ]; then "$root/lab/drbd-lab" status || true; fi
echo "drbd-cluster (run.sh): total $(( $(date +%s) - t0 )) s"
exit $rc
