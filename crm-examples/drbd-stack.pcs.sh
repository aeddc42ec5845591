#!/usr/bin/env bash
# The DRBD-backed MariaDB stack of drbd-stack.crm (ferroha's agents only), created with pcs; the
# comments of drbd-stack.crm explain the order, two_node and the fencing (add your device).
# Against a live cluster: ./drbd-stack.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./drbd-stack.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create vol ocf:ferroha:volume \
    backend=drbd resource=r0 device=/dev/drbd0 directory=/srv/data fstype=ext4 \
    options=noatime run_fsck=auto wfc_timeout=10 kill_grace=5 \
    op monitor interval=20s timeout=20s role=Unpromoted \
    op monitor interval=10s timeout=20s role=Promoted \
    meta priority=10 \
    promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
pcs_ resource create db ocf:ferroha:mariadb \
    config=/etc/mysql/my.cnf datadir=/srv/data/mysql log=/srv/data/mysql/error.log \
    socket=/run/mysqld/mysqld.sock pid=/run/mysqld/mysqld.pid user=mysql group=mysql \
    op monitor interval=10s timeout=30s meta priority=10 --group db-group
pcs_ resource create db-ip ocf:ferroha:vip ip=192.0.2.50 cidr_netmask=24 nic=eth0 \
    op monitor interval=10s timeout=20s --group db-group
pcs_ resource create api ocf:ferroha:restapi binary=/usr/bin/ferroha-api \
    arguments="--config /etc/ferroha/api.conf" health_url="http://127.0.0.1:8080/ready" \
    logfile=/var/log/ferroha/api.log pidfile=/run/ferroha/api.pid \
    op monitor interval=10s timeout=20s --group db-group
pcs_ constraint colocation add db-group with Promoted vol-clone INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order promote vol-clone then start db-group
pcs_ property set priority-fencing-delay=10s
pcs_ resource defaults update resource-stickiness=100
