#!/usr/bin/env bash
# The lab's end-to-end suite: bring up a private lab (its own namespaces, LAB=e2e<pid> unless LAB is
# set; LAB_SUBNET and LAB_BIN are passed on) with the ap-mode stack, check the crm examples against
# its CIB (tests/lab/examples.sh), run tests/lab/scenarios.py against it (the runbook, with the .deb
# of `make deb` for its upgrade task, then the failure matrix), and remove it whatever happens.
# Needs root and the agents + ferroha-api installed (scripts/setup.sh), or LAB_BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB=${LAB:-e2e$$}
export PYTHONPATH=$PWD/lab${PYTHONPATH:+:$PYTHONPATH}
work=$(mktemp -d /tmp/ferroha-e2e.XXXXXX)
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { lab/ferroha-lab down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# The upgrade task installs the package the release build makes (built here if missing).
debs=(target/*/debian/ferroha_*.deb)
[ -f "${debs[0]}" ] || make deb >&2
debs=(target/*/debian/ferroha_*.deb)
lab/ferroha-lab up
examples=0
tests/lab/examples.sh || examples=$?
mkdir -p target/bench
python3 tests/lab/scenarios.py --workdir "$work" --json target/bench/lab-failover.json --deb "$PWD/${debs[-1]}" "$@"
exit "$examples"
