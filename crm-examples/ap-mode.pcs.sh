#!/usr/bin/env bash
# The active/standby (ap-mode) stack (same as ap-mode.crm, which the lab loads), created with pcs:
# vip + mariadb promotable clone + restapi running ferroha-api, on nodes n1 n2 n3 (10.77.0.11-13).
# Against a live cluster: ./ap-mode.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./ap-mode.pcs.sh
# Fencing is site hardware and not in this file, but the stack needs it (see ap-mode.crm).
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create db ocf:ferroha:mariadb \
    config=/etc/mysql/my.cnf datadir=/var/lib/mysql log=/var/lib/mysql/error.log \
    replication_user=repl replication_passwd_file=/etc/ferroha/repl.pw \
    node_map="n1=10.77.0.11 n2=10.77.0.12 n3=10.77.0.13" \
    semi_sync=true max_slave_lag=30 peer_timeout=1 \
    op start timeout=120s \
       stop timeout=120s \
       promote timeout=120s \
       demote timeout=120s \
       notify timeout=90s \
       monitor interval=3s role=Promoted timeout=20s \
       monitor interval=4s role=Unpromoted timeout=20s \
    promotable promoted-max=1 promoted-node-max=1 clone-max=3 clone-node-max=1 notify=true \
    migration-threshold=3
pcs_ resource create vip ocf:ferroha:vip \
    ip=10.77.0.100 cidr_netmask=24 nic=eth0 arping_timeout=50 \
    op monitor interval=3s timeout=20s
pcs_ resource create api ocf:ferroha:restapi \
    binary=/usr/bin/ferroha-api arguments="--config /etc/ferroha/api.conf" \
    health_url=http://127.0.0.1:8080/ready logfile=/var/log/ferroha/api.log \
    pidfile=/run/ferroha/api.pid \
    op start timeout=60s \
       stop timeout=30s \
       monitor interval=3s timeout=20s
# The VIP sits on the primary and starts once it is writable; the API follows the VIP.
pcs_ constraint colocation add vip with Promoted db-clone INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order promote db-clone then start vip
pcs_ constraint colocation add api with vip INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order start vip then start api
pcs_ property set no-quorum-policy=stop
# No preempt; a failed API on the active node moves the service (a crashed mariadbd is restarted
# in place first: migration-threshold=3 on db-clone, see ap-mode.crm).
pcs_ resource defaults update resource-stickiness=100 migration-threshold=1 failure-timeout=10min
