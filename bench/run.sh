#!/usr/bin/env bash
# All benchmarks (make bench). Results: Markdown tables on stdout, raw JSON in target/bench/.
# Not run here either: bench/volume.sh (make bench-volume, ~8 min of emulated DRBD guests).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in bench/vip.sh bench/mariadb.sh bench/restapi.sh; do
  "$b"
done
