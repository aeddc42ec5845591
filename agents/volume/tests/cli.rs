//! The real binary on the host, without DRBD or HAST: bad input exits 2/5/6 with a reason naming
//! the parameter, probes report "not running", and nothing panics. The DRBD behaviour itself is
//! tested against real DRBD 8.4 in qemu guests by tests/drbd/run.sh.

use std::process::Command;

const VOLUME: &str = env!("CARGO_BIN_EXE_volume");

fn run(action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(VOLUME);
    cmd.arg(action)
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", format!("vol-{}", std::process::id()))
        .env("OCF_RESKEY_CRM_meta_timeout", "5000");
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run volume");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let reason = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
        .unwrap_or("")
        .to_owned();
    (out.status.code().unwrap_or(-1), reason)
}

#[test]
fn bad_parameters_are_6_with_the_name() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "resource"),
        (&[("resource", "r0 x")], "resource"),
        (&[("resource", "r0"), ("backend", "lvm")], "backend"),
        (&[("resource", "r0"), ("directory", "/srv")], "fstype"),
        (&[("resource", "r0"), ("directory", "/"), ("fstype", "ext4")], "directory"),
        (&[("resource", "r0"), ("kill_grace", "0")], "kill_grace"),
        (&[("resource", "r0"), ("force_promote", "perhaps")], "force_promote"),
    ];
    for (params, name) in cases {
        for action in ["validate-all", "start", "promote"] {
            let (rc, reason) = run(action, params, &[]);
            assert_eq!(rc, 6, "{action} {params:?}: {reason}");
            assert!(reason.contains(name), "{action} {params:?}: '{reason}' should name {name}");
        }
    }
}

#[test]
fn unknown_action_is_3() {
    let (rc, reason) = run("frobnicate", &[("resource", "r0")], &[]);
    assert_eq!(rc, 3);
    assert!(reason.contains("frobnicate"));
}

/// Without the DRBD module, a probe finds nothing (7); without hastctl, 5 with a reason.
#[test]
fn probes_without_the_software() {
    if std::path::Path::new("/proc/drbd").exists() {
        eprintln!("the drbd module is loaded on this host; the 'not loaded' probe is not checked");
    } else {
        let (rc, _) =
            run("monitor", &[("resource", "r0")], &[("OCF_RESKEY_CRM_meta_interval", "0")]);
        assert_eq!(rc, 7);
    }
    let (rc, reason) = run(
        "monitor",
        &[("resource", "shared"), ("backend", "hast")],
        &[("OCF_RESKEY_CRM_meta_interval", "10000")],
    );
    assert_eq!(rc, 5, "{reason}");
    assert!(reason.contains("hastctl"), "{reason}");
}

/// stop with an invalid configuration succeeds when nothing can be held (no fencing for a typo).
#[test]
fn stop_with_invalid_configuration() {
    let (rc, reason) = run("stop", &[("resource", "r0"), ("backend", "lvm")], &[]);
    if std::path::Path::new("/proc/drbd").exists() {
        eprintln!("drbd loaded here: stop would run drbdadm down; rc={rc} {reason}");
    } else {
        assert_eq!(rc, 0, "{reason}");
    }
}

#[test]
fn two_primaries_are_refused() {
    let (rc, reason) = run(
        "validate-all",
        &[("resource", "r0")],
        &[("OCF_RESKEY_CRM_meta_promoted_max", "2"), ("OCF_RESKEY_CRM_meta_clone_max", "2")],
    );
    assert_eq!(rc, 6);
    assert!(reason.contains("promoted-max"), "{reason}");
}
