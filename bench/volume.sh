#!/usr/bin/env bash
# volume monitor vs LINBIT's drbd monitor (ocf:linbit:drbd from drbd-utils 9.22) on real DRBD 8.4,
# inside the emulated (TCG) qemu guests of the DRBD suite: tests/drbd/run.sh boots the pair (static
# build of the agent, cached Debian packages in /var/cache/ferroha-drbd) and runs
# bench/volume_guest.py instead of the test scenario; it always stops both qemu processes by their
# pidfiles and removes its run directory. The measurement (bench/compare.py, A/B interleaved, RUNS
# runs each, default 100) runs inside node1 for the roles Unpromoted and Promoted.
# Needs root and tests/drbd/packages.sh once. Writes target/bench/volume-{unpromoted,promoted}.json.
# Holds /tmp/ferroha-bench.lock throughout (TCG is CPU-heavy: no other timing run may overlap).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-volume: run as root" >&2; exit 1; }
. bench/lock.sh
bench_lock bench-volume
# run.sh in the background (without the lock's fd, which the daemonized qemu would otherwise keep),
# so that a TERM or Ctrl-C here reaches it and its cleanup stops the guests.
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 130' INT TERM
tests/drbd/run.sh --scenario bench/volume_guest.py 9>&- & child=$!
rc=0; wait "$child" || rc=$?
child=
exit $rc
