//! The HAST code paths of the real binary against a **fake** `hastctl` (a script that keeps the
//! role and dirty count in files and prints `hastctl list` in the layout of FreeBSD's
//! hastctl.c). No FreeBSD is available here: this tests the agent's state machine, dirty
//! refusal, the wait for the device and the scores, not real hastd behaviour.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use testkit::{Agent, Env, FakeCrmAttribute, Outcome};

const VOLUME: &str = env!("CARGO_BIN_EXE_volume");

const FAKE_HASTCTL: &str = r#"#!/bin/sh
d=$FAKE_HAST_DIR
echo "hastctl $*" >> "$d/calls"
case "$1" in
  list)
    role=$(cat "$d/role" 2>/dev/null || echo init)
    printf '%s:\n  role: %s\n  provname: %s\n  localpath: /dev/ada1\n' "$2" "$role" "$2"
    printf '  extentsize: 2097152 (2.0MB)\n  keepdirty: 64\n  remoteaddr: tcp4://10.0.0.2\n'
    printf '  replication: memsync\n'
    [ "$role" = init ] || printf '  status: complete\n'
    printf '  dirty: %s (0B)\n  statistics:\n    reads: 0\n' "$(cat "$d/dirty")"
    ;;
  role)
    echo "$2" > "$d/role"
    if [ "$2" = primary ]; then : > "$d/dev"; else rm -f "$d/dev"; fi
    ;;
  *) exit 64 ;;
esac
"#;

/// The fake `hastctl` (its calls in `calls`), and the fake `crm_attribute`.
struct Fake {
    dir: tempfile::TempDir,
    crm: FakeCrmAttribute,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("hastctl");
        std::fs::write(&p, FAKE_HASTCTL).expect("write fake");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::write(dir.path().join("dirty"), "0\n").expect("dirty");
        Fake { dir, crm: FakeCrmAttribute::new() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_dirty(&self, n: u64) {
        std::fs::write(self.path("dirty"), format!("{n}\n")).expect("dirty");
    }

    /// The `hastctl` calls since the last look.
    fn calls(&self) -> String {
        let text = std::fs::read_to_string(self.path("calls")).unwrap_or_default();
        let _ = std::fs::remove_file(self.path("calls"));
        text
    }

    /// Whether the agent ran `crm_attribute` since the last look.
    fn published(&self) -> bool {
        !self.crm.take_calls().is_empty()
    }

    /// The promotion score as Pacemaker would hold it now (the agent publishes only changes).
    fn score(&self) -> Option<String> {
        self.crm.score(None)
    }

    fn run(&self, action: &str, extra: &[(&str, &str)]) -> Outcome {
        let env = Env::new("hv")
            .var("PATH", self.crm.path(&format!("{}:/usr/bin:/bin", self.dir.path().display())))
            .var("FAKE_HAST_DIR", self.dir.path().display().to_string())
            .timeout_ms(10000)
            .interval_ms(10000)
            .param("backend", "hast")
            .param("resource", "shared")
            .param("device", self.path("dev").display().to_string())
            .param("wfc_timeout", "2")
            .param("state_dir", self.path("state").display().to_string());
        let env = extra.iter().fold(env, |e, (k, v)| e.var(k, v));
        Agent::new(VOLUME).run(action, &env)
    }
}

#[test]
fn hast_lifecycle_with_dirty_refusal() {
    let f = Fake::new();
    let probe = [("OCF_RESKEY_CRM_meta_interval", "0")];
    assert_eq!(f.run("monitor", &probe).rc, 7, "init is down");

    let r = f.run("start", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    let calls = f.calls();
    assert!(calls.contains("hastctl role secondary shared"), "{calls}");
    assert_eq!(f.score().as_deref(), Some("1000"), "clean secondary: {calls}");
    assert_eq!(f.run("monitor", &[]).rc, 0);

    f.set_dirty(6_291_456);
    let r = f.run("promote", &[]);
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(r.reason().contains("6291456 dirty bytes"), "{r:?}");
    assert!(!f.calls().contains("role primary"), "no role switch when refused");
    assert_eq!(f.run("monitor", &[]).rc, 0);
    assert_eq!(f.score(), None, "dirty: no score");

    let r = f.run("promote", &[("OCF_RESKEY_force_promote", "true")]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(f.calls().contains("hastctl role primary shared"));
    assert!(Path::new(&f.path("dev")).exists());
    assert_eq!(f.run("monitor", &[]).rc, 8);
    assert_eq!(f.score().as_deref(), Some("10000"));
    // An unchanged score is not published again; a probe always publishes it.
    f.published();
    assert_eq!(f.run("monitor", &[]).rc, 8);
    assert!(!f.published(), "steady monitor ran crm_attribute");
    assert_eq!(f.run("monitor", &probe).rc, 8);
    assert!(f.published(), "a probe must publish");

    f.set_dirty(0);
    assert_eq!(f.run("demote", &[]).rc, 0);
    assert_eq!(f.run("monitor", &[]).rc, 0);
    assert_eq!(f.run("promote", &[]).rc, 0, "clean: no force needed");
    f.calls();
    let r = f.run("stop", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    let calls = f.calls();
    let secondary = calls.find("role secondary").expect("demoted on stop");
    let init = calls.find("role init").expect("init on stop");
    assert!(secondary < init, "{calls}");
    assert_eq!(f.score(), None, "deleted on stop");
    assert_eq!(f.run("monitor", &[]).rc, 7);
    assert_eq!(f.run("stop", &[]).rc, 0, "stop when stopped");
}
