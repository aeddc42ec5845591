#!/usr/bin/env bash
# restapi against ocf:heartbeat:anything with an http-mon.sh-style curl monitor_hook, each section
# one interleaved run, with a static `true` (busybox) as the floor: the cost of an exec.
#   1. monitor of a running ferroha-api (GET /health on loopback, http://);
#   2. monitor of an https:// daemon (`openssl s_server -www` with a throwaway CA): curl --cacert
#      vs restapi with ca_file = that CA, and with ca_file = the system bundle plus that CA;
#   3. the same monitors once the daemon is stopped (the probe path);
#   4. start until healthy, in start/stop cycles (bench/start_cycle.py): ferroha-api, and
#      ferroha-api made to answer 50 ms after the spawn.
# RESTAPI_BEFORE=/path/to/an/older/restapi adds that binary to the http sections, for before/after.
# Needs root, the release build (make build), resource-agents, curl, openssl and busybox-static.
# Writes target/bench/restapi{,-https,-stopped,-start,-start-late}.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lock.sh
bench_lock bench-restapi
RUNS=${RUNS:-200} START_RUNS=${START_RUNS:-30}
REL=$PWD/target/$(rustc -vV | sed -n "s/^host: //p")/release
[ -x "$REL/restapi" ] || REL=$PWD/target/release
RESTAPI=$REL/restapi API=$REL/ferroha-api BEFORE=${RESTAPI_BEFORE:-}
ANYTHING=/usr/lib/ocf/resource.d/heartbeat/anything
FLOOR=/bin/busybox
if [ ! -x "$RESTAPI" ] || [ ! -x "$API" ]; then echo "bench: build first (make build)" >&2; exit 1; fi
[ -x "$ANYTHING" ] || { echo "bench: resource-agents is not installed" >&2; exit 1; }
for tool in curl openssl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
[ -x "$FLOOR" ] || { echo "bench: busybox-static is not installed (the floor)" >&2; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "bench: RESTAPI_BEFORE=$BEFORE is not executable" >&2; exit 1; }
# On tmpfs, as the default pid file (/run/ferroha-restapi-<instance>.pid) is: the pid file's fsync
# at start costs nothing there, and tens of milliseconds on a busy disk.
work=$(mktemp -d /run/fhbench-restapi.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) tport=$(free_port)
umask 077
echo "bench-token-$$" > "$work/token"
printf 'listen = 127.0.0.1:%s\ndb_port = 1\ntoken_file = %s\n' "$port" "$work/token" > "$work/api.conf"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=benchapi$$ \
  OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=20000 \
  OCF_RESKEY_binary="$API" OCF_RESKEY_arguments="--config $work/api.conf" \
  OCF_RESKEY_health_url="http://127.0.0.1:$port/health" \
  OCF_RESKEY_binfile="$API" OCF_RESKEY_cmdline_options="--config $work/api.conf" \
  OCF_RESKEY_monitor_hook="curl -o /dev/null -sSf --noproxy '*' --interface 127.0.0.1 http://127.0.0.1:$port/health"
# The TLS daemon's parameters, as VAR=value words in front of a command (env, compare.py).
tls_env=(OCF_RESOURCE_INSTANCE=benchtls$$ OCF_RESKEY_binary=/usr/bin/openssl
  "OCF_RESKEY_arguments=s_server -www -quiet -accept 127.0.0.1:$tport -cert $work/srv.pem -key $work/srv.key"
  "OCF_RESKEY_health_url=https://127.0.0.1:$tport/health" OCF_RESKEY_pidfile="$work/tls.pid"
  OCF_RESKEY_ca_file="$work/ca.pem")
tls_q=$(printf '%q ' "${tls_env[@]}")  # the same, quoted for compare.py's word splitting
cleanup() {
  OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" stop || true
  env "${tls_env[@]}" "$RESTAPI" stop || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p target/bench
floor="true (static)=$FLOOR true"
before() { [ -z "$BEFORE" ] || echo "restapi-before=$* $BEFORE monitor"; }

# 1. Running, http://.
OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" start
head -1 "$work/restapi.pid" > "$work/anything.pid"  # anything gets a bare pid file, same daemon
mapfile -t b < <(before "OCF_RESKEY_pidfile=$work/restapi.pid")
python3 bench/compare.py --runs "$RUNS" --json target/bench/restapi.json --floor "true (static)" \
  --title "monitor of a running HTTP daemon (ferroha-api, GET /health)" \
  "anything+curl=OCF_RESKEY_pidfile=$work/anything.pid $ANYTHING monitor" "$floor" \
  "restapi=OCF_RESKEY_pidfile=$work/restapi.pid $RESTAPI monitor" "${b[@]}"

# 2. Running, https://: a throwaway CA and a certificate for 127.0.0.1.
(
  cd "$work"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req "${ec[@]}" -keyout srv.key -out srv.csr -subj "/CN=bench" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > srv.ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
    -extfile srv.ext 2>/dev/null
  cat /etc/ssl/certs/ca-certificates.crt ca.pem > bundle.pem
)
env "${tls_env[@]}" "$RESTAPI" start
head -1 "$work/tls.pid" > "$work/anything-tls.pid"
python3 bench/compare.py --runs "$RUNS" --json target/bench/restapi-https.json --floor "true (static)" \
  --title "monitor of a running HTTPS daemon (openssl s_server -www, TLS 1.3, P-256)" \
  "anything+curl=$tls_q OCF_RESKEY_pidfile=$work/anything-tls.pid OCF_RESKEY_binfile=/usr/bin/openssl \
OCF_RESKEY_monitor_hook=curl\ -o\ /dev/null\ -sSf\ --noproxy\ \'*\'\ --cacert\ $work/ca.pem\ https://127.0.0.1:$tport/health \
$ANYTHING monitor" "$floor" \
  "restapi=$tls_q $RESTAPI monitor" \
  "restapi+bundle=$tls_q OCF_RESKEY_ca_file=$work/bundle.pem $RESTAPI monitor"
env "${tls_env[@]}" "$RESTAPI" stop

# 3. Stopped (what probes see): restapi also scans /proc for the daemon without a pid file.
OCF_RESKEY_pidfile="$work/restapi.pid" "$RESTAPI" stop
rm -f "$work/anything.pid"
mapfile -t b < <(before "OCF_RESKEY_pidfile=$work/restapi.pid")
python3 bench/compare.py --runs "$RUNS" --json target/bench/restapi-stopped.json --floor "true (static)" \
  --title "monitor of a stopped HTTP daemon (probe path)" \
  "anything=OCF_RESKEY_pidfile=$work/anything.pid $ANYTHING monitor" "$floor" \
  "restapi=OCF_RESKEY_pidfile=$work/restapi.pid $RESTAPI monitor" "${b[@]}"

# 4. Start until healthy, then an untimed stop. ferroha-api binds its port a few milliseconds after
# the exec, about when the agent makes its first check, so whether the first check succeeds is a
# race; the second table makes the daemon ready 50 ms after the spawn (busybox sh sleeps, then
# execs it: same pid), so the pause between checks shows.
cycle() { echo "$1=OCF_RESKEY_pidfile=$work/$1.pid ${3:-} $2 start::OCF_RESKEY_pidfile=$work/$1.pid ${3:-} $2 stop"; }
mapfile -t b < <([ -z "$BEFORE" ] || cycle restapi-before "$BEFORE")
python3 bench/start_cycle.py --runs "$START_RUNS" --json target/bench/restapi-start.json \
  --title "start of ferroha-api until /health answers (anything: until its monitor_hook passes once)" \
  "$(cycle anything "$ANYTHING")" "$(cycle restapi "$RESTAPI")" "${b[@]}"
late=$(printf '%q ' OCF_RESKEY_binary="$FLOOR" \
  "OCF_RESKEY_arguments=sh -c 'sleep 0.05; exec $API --config $work/api.conf'")
mapfile -t b < <([ -z "$BEFORE" ] || cycle restapi-before "$BEFORE" "$late")
python3 bench/start_cycle.py --runs "$START_RUNS" --json target/bench/restapi-start-late.json \
  --title "start of a daemon that answers 50 ms after the spawn (ferroha-api after a sleep)" \
  "$(cycle restapi "$RESTAPI" "$late")" "${b[@]}"
