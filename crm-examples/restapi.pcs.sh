#!/usr/bin/env bash
# ferroha-api under ocf:ferroha:restapi behind ocf:ferroha:vip, created with pcs.
# Against a live cluster: ./restapi.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./restapi.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create api-vip ocf:ferroha:vip \
    ip=192.0.2.100 cidr_netmask=24 nic=eth0 \
    op monitor interval=10s timeout=20s
# health_url=/health keeps the API up while MariaDB moves; the depth-10 monitor checks /ready
# (database reachable and writable).
pcs_ resource create api ocf:ferroha:restapi \
    binary=/usr/bin/ferroha-api arguments="--config /etc/ferroha/api.conf" \
    user=ferroha-api workdir=/ \
    pidfile=/run/ferroha-restapi-api.pid logfile=/var/log/ferroha-api.log \
    health_url=http://192.0.2.100:8080/health deep_url=http://192.0.2.100:8080/ready \
    expected_status=200 http_timeout=5 stop_timeout=15 \
    op start timeout=60s \
       stop timeout=30s \
       monitor interval=10s timeout=20s \
       monitor interval=60s timeout=20s OCF_CHECK_LEVEL=10
pcs_ constraint colocation add api with api-vip INFINITY
# shellcheck disable=SC1010  # "then" is a word of pcs syntax here, not the shell\'s
pcs_ constraint order start api-vip then start api
