#!/usr/bin/env bash
# The whole test suite: formatting, lints (Rust, shell, Python), docs, unit and property tests, and
# the system tests: agent tests against the real kernel in network namespaces and against real
# mariadbd servers, ocf-tester and ferroha-check runs, meta-data validation, the crm examples loaded
# into a CIB, DRBD in qemu guests (the volume agent alone, then the whole DRBD stack under
# Pacemaker), the .deb, and the lab's suite (which installs that .deb). Needs
# root (namespaces, addresses) and scripts/setup.sh first.
#
# A plain `cargo test --workspace` is the other tier: it runs unprivileged with only the Rust
# toolchain. The system tests are #[ignore = "system: <what they need>"] (run here with
# --include-ignored) and, for mariadb, compiled only with its `system-tests` feature.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n==> %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "test: run as root (the agent tests create network namespaces)" >&2; exit 1; }

say "cargo fmt --check"
cargo fmt --all --check
say "shellcheck and flake8 (every shell script and Python file)"
scripts/lint.sh
say "cargo clippy (also over the feature-gated system tests)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
say "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items --locked
log=$(mktemp /tmp/ferroha-test.XXXXXX)
trap 'rm -f "$log"' EXIT
say "cargo build (the agent tests run other binaries of the workspace: ferroha-api, the testkit's stubborn daemon)"
cargo build --workspace --locked
say "cargo test, system tests included (unit and property tests, agents against real daemons, netns tests)"
# Property tests: a bounded number of cases per property (proptest's default is 256).
export PROPTEST_CASES="${PROPTEST_CASES:-256}"
cargo test --workspace --locked --features ferroha-mariadb/system-tests -- --include-ignored \
  --test-threads=2 2>&1 | tee "$log"
say "crm examples load into a CIB"
tests/crm-examples.sh 2>&1 | tee -a "$log"
say "volume: real DRBD 8.4 in two qemu guests"
tests/drbd/run.sh 2>&1 | tee -a "$log"
say "DRBD cluster: Pacemaker + Corosync in the two qemu guests running drbd-stack.crm (issue 12)"
tests/drbd-cluster/run.sh 1 3 4 2 2>&1 | tee -a "$log"
say "make deb (the lab's upgrade task installs it)"
make deb
# Listed once: `dpkg-deb -c | grep -q` would kill dpkg-deb with SIGPIPE, a failure under pipefail.
listing=$(dpkg-deb -c target/*/debian/ferroha_*.deb)
for f in usr/lib/ocf/resource.d/ferroha/{vip,mariadb,volume,restapi} usr/bin/ferroha-{api,check} \
    usr/sbin/ferroha-mariadb-rebuild usr/share/man/man8/ferroha-mariadb-rebuild.8; do
  grep -q "$f" <<<"$listing" || { echo "deb lacks $f" >&2; exit 1; }
done
say "lab: the ap-mode stack in a 3-node Pacemaker cluster, the operator's runbook and its failure matrix"
tests/lab/run.sh 2>&1 | tee -a "$log"
# One closing line over every suite: cargo's per-binary results plus the shell suites.
awk '/^test result:/ { p += $4; f += $6 } /^(crm-examples|drbd-volume|drbd-cluster|lab-examples|lab-e2e):/ { p += $2; f += $4 }
     END { printf "\nall suites: %d passed, %d failed\n", p, f }' "$log"
