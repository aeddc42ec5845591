#!/usr/bin/env bash
# restapi monitor vs ocf:heartbeat:anything monitor with an http-mon.sh-style curl monitor_hook,
# both checking the same running ferroha-api (GET /health on loopback), one interleaved run; then
# the same two monitors once it is stopped (the probe path).
# Needs root, the release build (make build) and resource-agents + curl.
# Writes target/bench/restapi.json and target/bench/restapi-stopped.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
REL=$PWD/target/$(rustc -vV | sed -n "s/^host: //p")/release
[ -x "$REL/restapi" ] || REL=$PWD/target/release
RESTAPI=$REL/restapi API=$REL/ferroha-api
ANYTHING=/usr/lib/ocf/resource.d/heartbeat/anything
[ -x "$RESTAPI" ] && [ -x "$API" ] || { echo "bench: build first (make build)" >&2; exit 1; }
[ -x "$ANYTHING" ] || { echo "bench: resource-agents is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/fhbench-restapi.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
umask 077
echo "bench-token-$$" > "$work/token"
printf 'listen = 127.0.0.1:%s\ndb_port = 1\ntoken_file = %s\n' "$port" "$work/token" > "$work/api.conf"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=benchapi$$ \
  OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=20000 \
  OCF_RESKEY_binary="$API" OCF_RESKEY_arguments="--config $work/api.conf" \
  OCF_RESKEY_health_url="http://127.0.0.1:$port/health" \
  OCF_RESKEY_binfile="$API" \
  OCF_RESKEY_monitor_hook="curl -o /dev/null -sSf --noproxy '*' --interface 127.0.0.1 http://127.0.0.1:$port/health"
cleanup() { OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" stop || true; rm -rf "$work"; }
trap cleanup EXIT
OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" start
# anything gets a bare pid file naming the same daemon.
head -1 "$work/restapi.pid" > "$work/anything.pid"
mkdir -p target/bench
python3 bench/compare.py --runs "$RUNS" --json target/bench/restapi.json \
  --title "monitor of a running HTTP daemon (ferroha-api, GET /health)" \
  "anything+curl=env OCF_RESKEY_pidfile=$work/anything.pid $ANYTHING monitor" \
  "restapi=env OCF_RESKEY_pidfile=$work/restapi.pid $RESTAPI monitor"
# The stopped path (what probes see): restapi also scans /proc for the daemon without a pid file.
OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" stop
rm -f "$work/anything.pid"
python3 bench/compare.py --runs "$RUNS" --json target/bench/restapi-stopped.json \
  --title "monitor of a stopped HTTP daemon (probe path)" \
  "anything=env OCF_RESKEY_pidfile=$work/anything.pid $ANYTHING monitor" \
  "restapi=env OCF_RESKEY_pidfile=$work/restapi.pid $RESTAPI monitor"
