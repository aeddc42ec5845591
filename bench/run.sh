#!/usr/bin/env bash
# All benchmarks (make bench). Results: Markdown tables on stdout, raw JSON in target/bench/.
# Not run here: bench/failover.sh (make bench-failover, ~11 min: two labs, 10 power-offs each);
# nor bench/volume.sh (make bench-volume, ~8 min of emulated DRBD guests).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in bench/vip.sh bench/mariadb.sh bench/restapi.sh; do
  "$b"
done
