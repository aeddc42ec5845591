#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root): every Debian package and tool the project needs,
# a release build, and the agents installed under /usr/lib/ocf/resource.d/ferroha/.
# Idempotent: run it again after pulling.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages and the agents)"
command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian 12"

PACKAGES=(
  # the cluster stack and the reference agents we test and benchmark against
  pacemaker pacemaker-cli-utils corosync crmsh pcs resource-agents
  # meta-data validation (xmllint), netns tests, packet capture, benchmarks
  libxml2-utils iproute2 tcpdump iputils-ping iputils-arping hyperfine strace time
  # the lab's firewall drops (ferroha-lab block: the replication path cut, issue 15)
  nftables
  # restapi's https tests: a throwaway CA and certificates, and `openssl s_server` as the daemon
  openssl
  # later agents: MariaDB replication, DRBD
  mariadb-server drbd-utils
  # ferroha-mariadb-rebuild copies a primary with mariadb-backup and mbstream
  mariadb-backup
  # building
  build-essential pkg-config ca-certificates curl git python3
  # lints of the shell scripts and the Python tooling (scripts/lint.sh); flake8 from Debian rather
  # than ruff from PyPI: no pip or virtualenv on the machine, a version fixed with the release
  shellcheck flake8
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
say "apt-get update"
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  # policy-rc.d keeps the packages from starting daemons on this machine.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

say "packages for the DRBD guests (qemu runtime libraries, busybox)"
tests/drbd/packages.sh

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo not found; install Rust 1.95 (rustup) first"
if ! command -v cargo-deb >/dev/null; then
  say "cargo install cargo-deb"
  cargo install --locked --quiet cargo-deb
fi

say "building (release)"
make build
say "installing the agents"
make install
say "installed: $(cd /usr/lib/ocf/resource.d/ferroha && echo *)"
