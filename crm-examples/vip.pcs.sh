#!/usr/bin/env bash
# A floating IPv4 (and IPv6) address with ocf:ferroha:vip, created with pcs.
# Against a live cluster: ./vip.pcs.sh ; against a CIB file: PCS_FILE=cib.xml ./vip.pcs.sh
set -euo pipefail
pcs_() { pcs ${PCS_FILE:+-f "$PCS_FILE"} "$@"; }

pcs_ resource create vip ocf:ferroha:vip \
    ip=192.0.2.100 cidr_netmask=24 nic=eth0 arp_count=5 check_link_status=true \
    op monitor interval=10s timeout=20s
pcs_ resource create vip6 ocf:ferroha:vip \
    ip=2001:db8::100 cidr_netmask=64 nic=eth0 \
    op monitor interval=10s timeout=20s
pcs_ constraint colocation add vip6 with vip INFINITY
pcs_ resource defaults update resource-stickiness=100
