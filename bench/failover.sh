#!/usr/bin/env bash
# Failover and idle cost, ferroha stack vs heartbeat stack, side by side (make bench-failover):
# two private labs in turn, 10 power-offs of the primary's node each, ~11 min in all. Method in
# bench/failover.py (arguments are passed on: --crashes N, --idle-seconds S, --stacks ...).
# Holds /tmp/ferroha-bench.lock for the whole run, so no other timing run on this machine overlaps.
# Needs root and the agents + ferroha-api installed (make install); INSTALL=1 runs `make build
# install` first, inside the lock, so no other run measures half-installed agents. Raw figures:
# target/bench/failover.json (+ the nodes' logs in target/bench/failover-logs/); Markdown on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-failover: run as root (it builds network namespaces)" >&2; exit 1; }
. bench/lock.sh
bench_lock bench-failover
if [ "${INSTALL:-0}" = 1 ]; then
  make build install >&2
fi
mkdir -p target/bench
export PYTHONPATH=$PWD/lab${PYTHONPATH:+:$PYTHONPATH}   # labctl
exec python3 bench/failover.py "$@"
