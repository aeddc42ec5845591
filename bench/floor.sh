#!/usr/bin/env bash
# shellcheck disable=SC2030,SC2031  # each agent's environment is exported in its own subshell, on purpose
# Monitor cost at the exec floor (make bench-floor): each agent's steady monitor side by side with a
# static `busybox true` (one execve of a static binary, nothing else: what creating a process costs
# here), in the same `hyperfine -N` invocation (no shell in between), medians and ratios to the
# floor. One invocation per agent and mode, each with its own floor, so a load change between them
# shows in the floor too.
#   vip        a running IPv4 address on a veth in the namespace
#   restapi    a running ferroha-api, GET /health over loopback
#   mariadb    standalone and as a replica of a primary (3 nodes in node_map), OCF_CHECK_LEVEL=10
# Everything runs inside one private network namespace (loopback + a veth pair, no route out):
# mariadbd and ferroha-api listen on its loopback. The volume monitor needs DRBD, which only the
# qemu guests of tests/drbd have: its floor figure is in bench/volume.sh (floor-true).
# MARIADB_BEFORE=/path/to/an/older/mariadb adds that binary to the mariadb runs (before/after).
# Needs root, the release build (make build), busybox-static and mariadb-server; installs hyperfine
# from Debian if missing. Holds /tmp/ferroha-bench.lock. Writes target/bench/floor-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-floor: run as root (it builds a network namespace)" >&2; exit 1; }
. bench/lock.sh
bench_lock bench-floor
RUNS=${RUNS:-300} WARMUP=${WARMUP:-30}
REL=$PWD/target/$(rustc -vV | sed -n "s/^host: //p")/release
[ -x "$REL/vip" ] || REL=$PWD/target/release
FLOOR=/bin/busybox
for b in vip restapi mariadb ferroha-api; do
  [ -x "$REL/$b" ] || { echo "bench-floor: build first (make build): no $REL/$b" >&2; exit 1; }
done
[ -x "$FLOOR" ] || { echo "bench-floor: busybox-static is not installed (the floor)" >&2; exit 1; }
if ! command -v hyperfine >/dev/null; then
  apt-get update >&2 && apt-get install -y hyperfine >&2
fi
ns=fhfloor$$
work=$(mktemp -d /run/fhbench-floor.XXXXXX)
chmod 755 "$work"
cleanup() {
  OCF_RESKEY_pidfile="$work/api.pid" "$REL/restapi" stop >/dev/null 2>&1 || true
  for n in n1 n2 n3; do
    f=$work/$n/mariadbd.pid
    if [ -f "$f" ]; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  done
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "${ns}b" 2>/dev/null || true
  sleep 0.5; rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"; ip netns add "${ns}b"
ip -n "$ns" link add fh0 type veth peer name fh1 netns "${ns}b"
ip -n "$ns" link set lo up; ip -n "$ns" link set fh0 up; ip -n "${ns}b" link set fh1 up
ip -n "$ns" addr add 192.0.2.1/24 dev fh0
in_ns() { ip netns exec "$ns" "$@"; }
mkdir -p target/bench /run/resource-agents
export OCF_ROOT=/usr/lib/ocf OCF_RESKEY_CRM_meta_timeout=20000 HA_RSCTMP=/run/resource-agents

# floor NAME AGENT-COMMAND [EXPECT [BEFORE-COMMAND]]: one hyperfine run of the floor and the agent's monitor, in the
# namespace, with the caller's environment.
# EXPECT (default 0) is the monitor's exit status, checked once first (8 = running promoted):
# hyperfine only accepts 0 without -i, and -i is given only after that check.
floor() {
  local rc=0 ignore=() cmd
  read -ra cmd <<< "$2"
  in_ns "${cmd[@]}" >/dev/null 2>&1 || rc=$?
  if [ "$rc" != "${3:-0}" ]; then
    echo "bench-floor: $1 monitor exited $rc, expected ${3:-0}" >&2; exit 1
  fi
  [ "$rc" = 0 ] || ignore=(-i)
  local more=()
  [ -z "${4:-}" ] || more=(-n "$1 before" "$4")
  in_ns hyperfine -N "${ignore[@]}" --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "target/bench/floor-$1.json" -n "busybox true (static)" "$FLOOR true" -n "$1" "$2" \
    "${more[@]}" >&2
}

# vip: the address held, a recurring monitor.
(
  export OCF_RESOURCE_INSTANCE=floorvip OCF_RESKEY_ip=192.0.2.100 OCF_RESKEY_cidr_netmask=24 \
    OCF_RESKEY_nic=fh0 OCF_RESKEY_CRM_meta_interval=10000
  in_ns "$REL/vip" start
  floor vip "$REL/vip monitor"
  in_ns "$REL/vip" stop
)

# restapi: ferroha-api started by the agent, /health over the namespace's loopback.
umask 077
echo "floor-token-$$" > "$work/token"
printf 'listen = 127.0.0.1:8080\ndb_port = 1\ntoken_file = %s\n' "$work/token" > "$work/api.conf"
umask 022
(
  export OCF_RESOURCE_INSTANCE=floorapi OCF_RESKEY_CRM_meta_interval=10000 \
    OCF_RESKEY_binary="$REL/ferroha-api" OCF_RESKEY_arguments="--config $work/api.conf" \
    OCF_RESKEY_health_url="http://127.0.0.1:8080/health" OCF_RESKEY_pidfile="$work/api.pid"
  in_ns "$REL/restapi" start
  floor restapi "$REL/restapi monitor"
  in_ns "$REL/restapi" stop
)

# mariadb: three throwaway mariadbd on the namespace's loopback (as bench/mariadb.sh).
. bench/mdb_nodes.sh
mdb_prepare "$work"
map=""
for i in 1 2 3; do
  map="$map,n$i=127.0.0.1:$((3305 + i))"
  mdb_node "$work" "n$i" "$i" $((3305 + i))
done
export PATH="$work/bin:/usr/sbin:/usr/bin:/sbin:/bin" OCF_RESOURCE_INSTANCE=floordb OCF_CHECK_LEVEL=10 \
  OCF_RESKEY_user=root OCF_RESKEY_group=root \
  OCF_RESKEY_replication_user=benchrepl OCF_RESKEY_replication_passwd_file="$work/repl.pw" \
  OCF_RESKEY_node_map="${map#,}"
node_env() {
  local n=$1
  export OCF_RESKEY_CRM_meta_on_node=$n OCF_RESKEY_config=$work/$n/my.cnf OCF_RESKEY_datadir=$work/$n/data \
    OCF_RESKEY_socket=$work/$n/s.sock OCF_RESKEY_pid=$work/$n/mariadbd.pid OCF_RESKEY_log=$work/$n/error.log \
    OCF_RESKEY_port=$((3305 + ${n#n})) OCF_RESKEY_state_dir=$work/$n/state
}
clone_env() { export OCF_RESKEY_CRM_meta_promotable=true OCF_RESKEY_CRM_meta_notify=true OCF_RESKEY_CRM_meta_clone_max=2; }
export OCF_RESKEY_CRM_meta_interval=0
( node_env n1; clone_env; in_ns "$REL/mariadb" start; in_ns "$REL/mariadb" promote )
( node_env n2; clone_env; OCF_RESKEY_CRM_meta_notify_promoted_uname=n1 in_ns "$REL/mariadb" start )
( node_env n3; in_ns "$REL/mariadb" start )
export OCF_RESKEY_CRM_meta_interval=20000
before=${MARIADB_BEFORE:+$MARIADB_BEFORE monitor}
( node_env n3; floor mariadb-standalone "$REL/mariadb monitor" 0 "$before" )
( node_env n2; clone_env; floor mariadb-replica "$REL/mariadb monitor" 0 "$before" )
( node_env n1; clone_env; floor mariadb-promoted "$REL/mariadb monitor" 8 "$before" )

python3 - target/bench/floor-{vip,restapi,mariadb-standalone,mariadb-replica,mariadb-promoted}.json <<'PY'
import json
import sys

print("| monitor | floor median ms | monitor median ms | monitor mean ± σ ms | ÷ floor (median) |")
print("|---|---|---|---|---|")
for path in sys.argv[1:]:
    floor, *mons = json.load(open(path))["results"]
    f = floor["median"] * 1000
    for mon in mons:
        m = mon["median"] * 1000
        print(f"| {mon['command']} | {f:.2f} | {m:.2f} | {mon['mean'] * 1000:.2f} ± "
              f"{mon['stddev'] * 1000:.2f} | {m / f:.2f}× |")
PY
