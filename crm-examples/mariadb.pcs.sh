#!/usr/bin/env bash
# MariaDB GTID replication with ocf:ferroha:mariadb as a promotable clone, and the VIP on the
# promoted instance, created with pcs.
# Against a live cluster: ./mariadb.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./mariadb.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create db ocf:ferroha:mariadb \
    config=/etc/mysql/my.cnf datadir=/var/lib/mysql \
    replication_user=repl replication_passwd_file=/etc/mysql/repl.pw \
    semi_sync=true max_slave_lag=60 \
    node_map="node1=192.0.2.11 node2=192.0.2.12 node3=192.0.2.13" \
    op monitor interval=10s role=Promoted timeout=30s \
    op monitor interval=21s role=Unpromoted timeout=30s \
    promotable promoted-max=1 promoted-node-max=1 clone-node-max=1 notify=true
pcs_ resource create db-vip ocf:ferroha:vip ip=192.0.2.50 cidr_netmask=24 \
    op monitor interval=10s timeout=20s
# The VIP follows the promoted (writable) instance and starts only after the promotion.
pcs_ constraint colocation add db-vip with Promoted db-clone INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order promote db-clone then start db-vip
