#!/usr/bin/env bash
# The lab's end-to-end suite: bring up a private lab (its own namespaces, LAB=e2e<pid>) with the
# ap-mode stack, check the crm examples against its CIB (tests/lab/examples.sh), run
# tests/lab/scenarios.py against it, and remove it whatever happens.
# Needs root and the agents + ferroha-api installed (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB=e2e$$
work=$(mktemp -d /tmp/ferroha-e2e.XXXXXX)
cleanup() { lab/ferroha-lab down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
lab/ferroha-lab up
examples=0
tests/lab/examples.sh || examples=$?
mkdir -p target/bench
python3 tests/lab/scenarios.py --workdir "$work" --json target/bench/lab-failover.json "$@"
exit "$examples"
