#!/usr/bin/env bash
# The crm examples against a running lab's CIB (LAB=<name>, called by tests/lab/run.sh after `up`):
# - the live cluster, running crm-examples/ap-mode.crm as loaded by crmsh, passes `crm_verify -L`;
# - every crm-examples/*.crm (crmsh) and *.pcs.sh (pcs) loads into a copy of the lab's CIB — its
#   nodes, properties and fence device, with the lab's own resources and constraints taken out —
#   and the result passes crm_verify. (The DRBD and HAST stacks cannot run in the lab: no DRBD
#   module on the host, and HAST is FreeBSD's.)
# Prints one line per check and 'lab-examples: N passed, M failed'.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LAB:?LAB must name a running lab}"
work=$(mktemp -d /tmp/ferroha-lab-examples.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
result() { # ok?, what
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "PASS  $2"; else failed=$((failed + 1)); echo "FAIL  $2"; fi
}

rc=0; lab/ferroha-lab exec n1 crm_verify -L >"$work/verify.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || cat "$work/verify.out"
result "$rc" "crm_verify -L of the lab running crm-examples/ap-mode.crm"

lab/ferroha-lab exec n1 cibadmin -Q >"$work/live.xml"
python3 - "$work/live.xml" "$work/base.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
conf = tree.getroot().find("configuration")
resources, constraints = conf.find("resources"), conf.find("constraints")
for r in list(resources):
    if r.get("id") != "lab-fence":
        resources.remove(r)
for c in list(constraints):
    constraints.remove(c)
# The nodes stay up (node_state kept: a CIB without it would schedule them for startup fencing);
# the removed resources' history goes.
for lrm in tree.getroot().iter("lrm_resources"):
    for r in list(lrm):
        if r.get("id") != "lab-fence":
            lrm.remove(r)
tree.write(sys.argv[2])
EOF

for f in crm-examples/*.crm crm-examples/*.pcs.sh; do
  cib=$work/$(basename "$f").xml
  cp "$work/base.xml" "$cib"
  rc=0; tests/load-example.sh "$f" "$cib" >"$work/out" 2>&1 || rc=$?
  [ "$rc" = 0 ] || cat "$work/out"
  result "$rc" "$f loads into the lab's CIB and passes crm_verify"
done
echo "lab-examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
