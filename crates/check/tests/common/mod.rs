//! A throw-away agent for the integration tests: a small, correct, promotable bash agent whose
//! environment variable `BUG` switches on exactly one defect, so each test proves that the checker
//! catches that defect and nothing else.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The agent's source. Defects, selected with `BUG=<name>`:
/// - `sticky-stop`: stop leaves the state file, so monitor still says 0 afterwards
/// - `no-reason`: a missing required parameter gives rc 1 without an exit reason
/// - `monitor-ignores-role`: monitor says 0 instead of 8 while promoted
/// - `slow-notify`: notify hangs far past its 1 s timeout
/// - `start-fails`: start fails (with a reason)
/// - `no-demote`: meta-data advertises promote but not demote
/// - `needs-wrapper`: every action except meta-data fails unless `WRAPPED=1` (set by a wrapper)
const AGENT: &str = r#"#!/bin/bash
reason() { printf '%s%s\n' "${OCF_EXIT_REASON_PREFIX:-ocf-exit-reason:}" "$*" >&2; }

meta_data() {
    local demote='<action name="demote" timeout="10s"/>'
    [ "$BUG" = no-demote ] && demote=''
    # read, not cat: meta-data must work with PATH=/nonexistent too.
    local xml
    read -r -d '' xml <<XML
<?xml version="1.0"?>
<resource-agent name="testagent" version="0.1">
<version>1.0</version>
<longdesc lang="en">Keeps its role in a state file.</longdesc>
<shortdesc lang="en">Test agent</shortdesc>
<parameters>
<parameter name="state" required="1" unique="1">
<longdesc lang="en">State file</longdesc>
<shortdesc lang="en">State file</shortdesc>
<content type="string"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="10s"/>
<action name="stop" timeout="10s"/>
<action name="monitor" timeout="5s" interval="10s" role="Promoted"/>
<action name="monitor" timeout="5s" interval="11s" role="Unpromoted"/>
<action name="promote" timeout="10s"/>
$demote
<action name="notify" timeout="1s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
XML
    printf '%s\n' "$xml"
}

# Builtins only: the "software absent" probe runs with PATH=/nonexistent.
monitor() {
    [ -f "$STATE" ] || return 7
    read -r role < "$STATE"
    case "$role" in
    promoted) [ "$BUG" = monitor-ignores-role ] && return 0; return 8 ;;
    unpromoted) return 0 ;;
    *) reason "unexpected content '$role' in $STATE"; return 1 ;;
    esac
}

[ "$1" = meta-data ] && { meta_data; exit 0; }
if [ "$BUG" = needs-wrapper ] && [ "$WRAPPED" != 1 ]; then
    reason "not run through the wrapper"
    exit 1
fi
case "$1" in
start|stop|monitor|promote|demote|notify|validate-all) ;;
*) reason "action '$1' is not implemented"; exit 3 ;;
esac
STATE=$OCF_RESKEY_state
if [ -z "$STATE" ]; then
    [ "$BUG" = no-reason ] && exit 1
    reason "parameter state is required"
    exit 6
fi
case "$1" in
validate-all) exit 0 ;;
monitor) monitor; exit $? ;;
start)
    [ "$BUG" = start-fails ] && { reason "start fails on purpose"; exit 1; }
    monitor; rc=$?
    case $rc in 0|8) exit 0 ;; 7) echo unpromoted > "$STATE"; exit 0 ;; *) exit $rc ;; esac ;;
stop)
    [ "$BUG" = sticky-stop ] || rm -f "$STATE"
    exit 0 ;;
promote|demote)
    monitor; rc=$?
    case $rc in
    0|8) if [ "$1" = promote ]; then echo promoted > "$STATE"; else echo unpromoted > "$STATE"; fi
         exit 0 ;;
    7) reason "cannot $1: not running"; exit 1 ;;
    *) exit $rc ;;
    esac ;;
notify)
    [ "$BUG" = slow-notify ] && sleep 30
    exit 0 ;;
esac
"#;

/// A private directory holding the agent (`agent`) and room for its state file (`state`).
pub struct TestAgent {
    /// Kept so the directory lives as long as the test.
    pub _dir: tempfile::TempDir,
    pub agent: PathBuf,
    pub state: PathBuf,
}

pub fn test_agent() -> TestAgent {
    let dir = tempfile::tempdir().expect("create a temp dir");
    // The checker runs meta-data as nobody, who must be able to reach the script.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("open up the temp dir");
    let agent = dir.path().join("testagent");
    std::fs::write(&agent, AGENT).expect("write the agent");
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755))
        .expect("make the agent executable");
    let state = dir.path().join("state");
    TestAgent { _dir: dir, agent, state }
}
