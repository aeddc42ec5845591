#!/usr/bin/env bash
# tests/load-example.sh EXAMPLE CIB: load one crm-examples file into the CIB file CIB (crmsh for
# *.crm, pcs -f for *.pcs.sh) and check the result with crm_verify. The one way both example
# suites (tests/crm-examples.sh on an empty CIB, tests/lab/examples.sh on the lab's) load one.
set -euo pipefail
f=$1 cib=$2
case $f in
  *.crm) CIB_file=$cib crm configure load update "$f" ;;
  *.pcs.sh) PCS_FILE=$cib "$f" ;;
  *) echo "load-example: $f is neither *.crm nor *.pcs.sh" >&2; exit 2 ;;
esac
crm_verify --xml-file "$cib"
