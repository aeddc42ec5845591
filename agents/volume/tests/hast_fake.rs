//! The HAST code paths of the real binary against a **fake** `hastctl` (a script that keeps the
//! role and dirty count in files and prints `hastctl list` in the layout of FreeBSD's
//! hastctl.c). No FreeBSD is available here: this tests the agent's state machine, dirty
//! refusal, the wait for the device and the scores, not real hastd behaviour.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Records each call twice: in `calls` (read and cleared by [`Fake::calls`]) and in `scores`
/// (never cleared: its last line is the attribute's current value).
const FAKE_CRM_ATTRIBUTE: &str = "#!/bin/sh\necho \"crm_attribute $*\" >> \"$FAKE_HAST_DIR/calls\"\n\
     echo \"crm_attribute $*\" >> \"$FAKE_HAST_DIR/scores\"\n";

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in [("hastctl", FAKE_HASTCTL), ("crm_attribute", FAKE_CRM_ATTRIBUTE)] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write fake");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::write(dir.path().join("dirty"), "0\n").expect("dirty");
        Fake { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_dirty(&self, n: u64) {
        std::fs::write(self.path("dirty"), format!("{n}\n")).expect("dirty");
    }

    /// The recorded calls since the last look.
    fn calls(&self) -> String {
        let text = std::fs::read_to_string(self.path("calls")).unwrap_or_default();
        let _ = std::fs::remove_file(self.path("calls"));
        text
    }

    /// The promotion score as Pacemaker would hold it now (the agent publishes only changes).
    fn score(&self) -> Option<String> {
        last_score(&std::fs::read_to_string(self.path("scores")).unwrap_or_default())
    }

    fn run(&self, action: &str, extra: &[(&str, &str)]) -> (i32, String) {
        let dev = self.path("dev");
        let mut cmd = Command::new(VOLUME);
        cmd.arg(action)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.dir.path().display()))
            .env("FAKE_HAST_DIR", self.dir.path())
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "hv")
            .env("OCF_RESKEY_CRM_meta_timeout", "10000")
            .env("OCF_RESKEY_CRM_meta_interval", "10000")
            .env("OCF_RESKEY_backend", "hast")
            .env("OCF_RESKEY_resource", "shared")
            .env("OCF_RESKEY_device", &dev)
            .env("OCF_RESKEY_wfc_timeout", "2")
            .env("OCF_RESKEY_state_dir", self.path("state"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run volume");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stderr)
    }
}

fn last_score(calls: &str) -> Option<String> {
    calls.lines().rev().find_map(|l| {
        if let Some(rest) = l.split("--update ").nth(1) {
            return rest.split_whitespace().next().map(str::to_owned);
        }
        l.contains("--delete").then(|| "delete".to_owned())
    })
}

#[test]
fn hast_lifecycle_with_dirty_refusal() {
    let f = Fake::new();
    let probe = [("OCF_RESKEY_CRM_meta_interval", "0")];
    assert_eq!(f.run("monitor", &probe).0, 7, "init is down");

    let (rc, err) = f.run("start", &[]);
    assert_eq!(rc, 0, "{err}");
    let calls = f.calls();
    assert!(calls.contains("hastctl role secondary shared"), "{calls}");
    assert_eq!(f.score().as_deref(), Some("1000"), "clean secondary: {calls}");
    assert_eq!(f.run("monitor", &[]).0, 0);

    f.set_dirty(6_291_456);
    let (rc, err) = f.run("promote", &[]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("6291456 dirty bytes"), "{err}");
    assert!(!f.calls().contains("role primary"), "no role switch when refused");
    assert_eq!(f.run("monitor", &[]).0, 0);
    assert_eq!(f.score().as_deref(), Some("delete"), "dirty: no score");

    let (rc, err) = f.run("promote", &[("OCF_RESKEY_force_promote", "true")]);
    assert_eq!(rc, 0, "{err}");
    assert!(f.calls().contains("hastctl role primary shared"));
    assert!(Path::new(&f.path("dev")).exists());
    assert_eq!(f.run("monitor", &[]).0, 8);
    assert_eq!(f.score().as_deref(), Some("10000"));
    // An unchanged score is not published again; a probe always publishes it.
    f.calls();
    assert_eq!(f.run("monitor", &[]).0, 8);
    assert!(!f.calls().contains("crm_attribute"), "steady monitor ran crm_attribute");
    assert_eq!(f.run("monitor", &probe).0, 8);
    assert!(f.calls().contains("crm_attribute"), "a probe must publish");

    f.set_dirty(0);
    assert_eq!(f.run("demote", &[]).0, 0);
    assert_eq!(f.run("monitor", &[]).0, 0);
    assert_eq!(f.run("promote", &[]).0, 0, "clean: no force needed");
    f.calls();
    let (rc, err) = f.run("stop", &[]);
    assert_eq!(rc, 0, "{err}");
    let calls = f.calls();
    let secondary = calls.find("role secondary").expect("demoted on stop");
    let init = calls.find("role init").expect("init on stop");
    assert!(secondary < init, "{calls}");
    assert_eq!(f.score().as_deref(), Some("delete"));
    assert_eq!(f.run("monitor", &[]).0, 7);
    assert_eq!(f.run("stop", &[]).0, 0, "stop when stopped");
}
