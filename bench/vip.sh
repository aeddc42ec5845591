#!/usr/bin/env bash
# vip monitor vs ocf:heartbeat:IPaddr2 monitor, same address, same namespace, one interleaved run;
# then vip start (the duplicate-address probe and the first gratuitous ARP) in start/stop cycles
# (bench/start_cycle.py): IPaddr2 start, vip start with the default arping_timeout (500 ms) and
# with the crm examples' 50 ms. VIP_BEFORE=/path/to/an/older/vip adds that binary at 50 ms.
# Needs root, the release build (make build) and resource-agents.
# Writes target/bench/vip.json and target/bench/vip-start.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lock.sh
bench_lock bench-vip
RUNS=${RUNS:-200} START_RUNS=${START_RUNS:-30} BEFORE=${VIP_BEFORE:-}
VIP=$PWD/target/$(rustc -vV | sed -n "s/^host: //p")/release/vip
IPADDR2=/usr/lib/ocf/resource.d/heartbeat/IPaddr2
[ -x "$VIP" ] || { echo "bench: build first (make build)" >&2; exit 1; }
[ -x "$IPADDR2" ] || { echo "bench: resource-agents is not installed" >&2; exit 1; }
ns=fhbench$$
cleanup() { ip netns del "${ns}a" 2>/dev/null || true; ip netns del "${ns}b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "${ns}a"; ip netns add "${ns}b"
ip -n "${ns}a" link add fh0 type veth peer name fh1 netns "${ns}b"
ip -n "${ns}a" link set fh0 up; ip -n "${ns}b" link set fh1 up; ip -n "${ns}a" link set lo up
ip -n "${ns}a" addr add 192.0.2.1/24 dev fh0
mkdir -p target/bench
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=benchvip \
  OCF_RESKEY_ip=192.0.2.100 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=fh0 \
  OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=20000 \
  HA_RSCTMP=/run/resource-agents
mkdir -p /run/resource-agents
ip netns exec "${ns}a" "$VIP" start
ip netns exec "${ns}a" python3 bench/compare.py --runs "$RUNS" --json target/bench/vip.json \
  --title "monitor of a floating IPv4 address (running)" \
  "IPaddr2=$IPADDR2 monitor" "vip=$VIP monitor"
ip netns exec "${ns}a" "$VIP" stop
# start::stop pairs for start_cycle.py; arguments are split on spaces, VAR=value words go into the
# environment.
cycle() { # name binary [VAR=value...]
  local name=$1 bin=$2; shift 2
  echo "$name=$* $bin start::$* $bin stop"
}
b=()
[ -z "$BEFORE" ] || b=("$(cycle vip-before-50ms "$BEFORE" OCF_RESKEY_arping_timeout=50)")
ip netns exec "${ns}a" python3 bench/start_cycle.py --runs "$START_RUNS" \
  --json target/bench/vip-start.json \
  --title "start of a floating IPv4 address (probe, add, first announcement)" \
  "$(cycle IPaddr2 "$IPADDR2")" "$(cycle vip-500ms "$VIP")" \
  "$(cycle vip-50ms "$VIP" OCF_RESKEY_arping_timeout=50)" "${b[@]}"
