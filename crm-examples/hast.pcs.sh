#!/usr/bin/env bash
# The FreeBSD HAST + UFS + MariaDB configuration of hast.crm, created with pcs (pcs names the
# clone hast-vol-clone).
# Against a live cluster: ./hast.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./hast.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create hast-vol ocf:ferroha:volume \
    backend=hast resource=shared directory=/var/db/mysql fstype=ufs \
    run_fsck=auto force_promote=false wfc_timeout=10 \
    op monitor interval=20s timeout=20s role=Unpromoted \
    op monitor interval=10s timeout=20s role=Promoted \
    promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
pcs_ resource create hast-db ocf:ferroha:mariadb binary=/usr/local/libexec/mariadbd \
    config=/usr/local/etc/mysql/my.cnf datadir=/var/db/mysql socket=/var/run/mysql/mysql.sock \
    pid=/var/run/mysql/mysqld.pid user=mysql group=mysql \
    op monitor interval=10s timeout=30s
pcs_ constraint colocation add hast-db with Promoted hast-vol-clone INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order promote hast-vol-clone then start hast-db
