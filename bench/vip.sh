#!/usr/bin/env bash
# vip monitor vs ocf:heartbeat:IPaddr2 monitor, same address, same namespace, one interleaved run.
# Needs root, the release build (make build) and resource-agents. Writes target/bench/vip.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
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
