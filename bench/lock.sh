# shellcheck shell=bash
# Sourced by the long benchmarks: take /tmp/ferroha-bench.lock on fd 9 for the rest of the script,
# so no two timing runs on this machine overlap (waiting, with a message, while another holds it).
# Usage: . bench/lock.sh; bench_lock NAME
bench_lock() {
  exec 9>/tmp/ferroha-bench.lock
  if ! flock -n 9; then
    echo "$1: waiting for /tmp/ferroha-bench.lock (another timing run)" >&2
    flock 9
  fi
}
