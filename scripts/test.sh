#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, agent tests against the real kernel in
# network namespaces, ocf-tester and ferroha-check runs, meta-data validation, the crm examples
# loaded into a CIB, and the .deb. Needs root (namespaces, addresses) and scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n==> %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "test: run as root (the agent tests create network namespaces)" >&2; exit 1; }

say "cargo fmt --check"
cargo fmt --all --check
say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log=$(mktemp /tmp/ferroha-test.XXXXXX)
trap 'rm -f "$log"' EXIT
say "cargo build (the agent tests run each other's binaries: ferroha-api, restapi)"
cargo build --workspace --locked
say "cargo test (unit tests, agents against real daemons, netns tests)"
cargo test --workspace --locked -- --test-threads=2 2>&1 | tee "$log"
say "crm examples load into a CIB"
tests/crm-examples.sh 2>&1 | tee -a "$log"
say "volume: real DRBD 8.4 in two qemu guests"
tests/drbd/run.sh 2>&1 | tee -a "$log"
say "lab: the ap-mode stack in a 3-node Pacemaker cluster, the seed's failure matrix"
tests/lab/run.sh 2>&1 | tee -a "$log"
say "make deb"
make deb
# Listed once: `dpkg-deb -c | grep -q` would kill dpkg-deb with SIGPIPE, a failure under pipefail.
listing=$(dpkg-deb -c target/*/debian/ferroha_*.deb)
for f in usr/lib/ocf/resource.d/ferroha/{vip,mariadb,volume,restapi} usr/bin/ferroha-{api,check}; do
  grep -q "$f" <<<"$listing" || { echo "deb lacks $f" >&2; exit 1; }
done
# One closing line over every suite: cargo's per-binary results plus the shell suites.
awk '/^test result:/ { p += $4; f += $6 } /^(crm-examples|drbd-volume|lab-examples|lab-e2e):/ { p += $2; f += $4 }
     END { printf "\nall suites: %d passed, %d failed\n", p, f }' "$log"
