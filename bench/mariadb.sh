#!/usr/bin/env bash
# mariadb monitor vs ocf:heartbeat:mysql monitor on the same servers, one interleaved run per role:
# standalone (plain primitive), replica and promoted (promotable clone), OCF_CHECK_LEVEL=10 for both
# (the heartbeat agent forces it for clones; for a primitive level 0 would only test the pid).
# Three throwaway mariadbd instances on loopback, own datadirs under a temp directory, stopped by
# their pid files at exit. A recorder named crm_attribute first in PATH stands in for Pacemaker's
# attribute store (both agents publish scores through it).
# Needs root, the release build, mariadb-server and resource-agents. Writes target/bench/mariadb-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
AGENT=$PWD/target/$(rustc -vV | sed -n "s/^host: //p")/release/mariadb
[ -x "$AGENT" ] || AGENT=$PWD/target/release/mariadb
MYSQL=/usr/lib/ocf/resource.d/heartbeat/mysql
[ -x "$AGENT" ] || { echo "bench: build first (cargo build --release -p ferroha-mariadb)" >&2; exit 1; }
[ -x "$MYSQL" ] || { echo "bench: resource-agents is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/fh-mdb-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
  for n in n1 n2 n3; do
    f=$work/$n/mariadbd.pid
    if [ -f "$f" ]; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  done
  sleep 0.5; rm -rf "$work"
}
trap cleanup EXIT

. bench/mdb_nodes.sh
mdb_prepare "$work"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
map=""
for i in 1 2 3; do
  n=n$i; p=$(port); eval "port_$n=$p"; map="$map,$n=127.0.0.1:$p"
  mdb_node "$work" "$n" "$i" "$p"
done
export PATH="$work/bin:/usr/sbin:/usr/bin:/sbin:/bin" OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=benchdb \
  OCF_RESKEY_CRM_meta_timeout=30000 OCF_CHECK_LEVEL=10 HA_RSCTMP=/run/resource-agents \
  OCF_RESKEY_user=root OCF_RESKEY_group=root OCF_RESKEY_test_user=root OCF_RESKEY_test_table=mysql.user
mkdir -p /run/resource-agents target/bench
node_env() {
  local n=$1 p; eval "p=\$port_$n"
  export OCF_RESKEY_CRM_meta_on_node=$n OCF_RESKEY_config=$work/$n/my.cnf OCF_RESKEY_datadir=$work/$n/data \
    OCF_RESKEY_socket=$work/$n/s.sock OCF_RESKEY_pid=$work/$n/mariadbd.pid OCF_RESKEY_log=$work/$n/error.log \
    OCF_RESKEY_port=$p OCF_RESKEY_state_dir=$work/$n/state
}
clone_env() { export OCF_RESKEY_CRM_meta_promotable=true OCF_RESKEY_CRM_meta_notify=true OCF_RESKEY_CRM_meta_clone_max=2; }
ours="env OCF_RESKEY_replication_user=benchrepl OCF_RESKEY_replication_passwd_file=$work/repl.pw OCF_RESKEY_node_map=${map#,} $AGENT"
# The heartbeat agent reads replica state as root over the socket (no password on its argv).
export OCF_RESKEY_replication_user=root OCF_RESKEY_CRM_meta_interval=0
( node_env n1; clone_env; $ours start; $ours promote )
( node_env n2; clone_env; OCF_RESKEY_CRM_meta_notify_promoted_uname=n1 $ours start )
( node_env n3; $AGENT start )
export OCF_RESKEY_CRM_meta_interval=20000
bench() {
  local mode=$1 node=$2 title=$3 cmd
  if [ "$mode" = standalone ]; then cmd=$AGENT; else cmd=$ours; fi
  ( node_env "$node"; [ "$mode" = standalone ] || clone_env
    python3 bench/compare.py --runs "$RUNS" --json "target/bench/mariadb-$mode.json" --title "$title" \
      "heartbeat-mysql=$MYSQL monitor" "ferroha-mariadb=$cmd monitor" )
}
bench standalone n3 "monitor of a standalone MariaDB (plain primitive, OCF_CHECK_LEVEL=10)"
bench replica n2 "monitor of a MariaDB replica (promotable clone, 3 nodes in node_map)"
bench promoted n1 "monitor of the promoted MariaDB (promotable clone)"
