#!/usr/bin/env bash
# The DRBD-backed MariaDB stack of drbd-stack.crm, created with pcs.
# Against a live cluster: ./drbd-stack.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./drbd-stack.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create vol ocf:ferroha:volume \
    backend=drbd resource=r0 device=/dev/drbd0 directory=/srv/data fstype=ext4 \
    options=noatime run_fsck=auto wfc_timeout=10 kill_grace=5 \
    op monitor interval=20s timeout=20s role=Unpromoted \
    op monitor interval=10s timeout=20s role=Promoted \
    promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
pcs_ resource create db ocf:heartbeat:mysql \
    binary=/usr/bin/mysqld_safe config=/etc/mysql/my.cnf datadir=/srv/data/mysql \
    pid=/run/mysqld/mysqld.pid socket=/run/mysqld/mysqld.sock user=mysql group=mysql \
    op monitor interval=20s timeout=30s --group db-group
pcs_ resource create db-ip ocf:ferroha:vip ip=192.0.2.50 cidr_netmask=24 nic=eth0 \
    op monitor interval=10s timeout=20s --group db-group
pcs_ constraint colocation add db-group with Promoted vol-clone INFINITY
pcs_ constraint order promote vol-clone then start db-group
pcs_ resource defaults update resource-stickiness=100
