//! The real binary on the host, without DRBD or HAST: bad input exits 2/5/6 with a reason naming
//! the parameter, probes report "not running", and nothing panics. The DRBD behaviour itself is
//! tested against real DRBD 8.4 in qemu guests by tests/drbd/run.sh.

use testkit::{Agent, Env, Outcome};

const VOLUME: &str = env!("CARGO_BIN_EXE_volume");

/// Run `volume <action>` with no tool on `PATH`; `extra` are further environment variables.
fn run(action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> Outcome {
    let env = Env::new(&format!("vol-{}", std::process::id()))
        .var("PATH", "/nonexistent")
        .timeout_ms(5000)
        .params(params);
    let env = extra.iter().fold(env, |e, (k, v)| e.var(k, v));
    Agent::new(VOLUME).run(action, &env)
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
            let r = run(action, params, &[]);
            assert_eq!(r.rc, 6, "{action} {params:?}: {r:?}");
            assert!(r.reason().contains(name), "{action} {params:?}: {r:?} should name {name}");
        }
    }
}

#[test]
fn unknown_action_is_3() {
    let r = run("frobnicate", &[("resource", "r0")], &[]);
    assert_eq!(r.rc, 3);
    assert_eq!(r.reason(), "unknown action 'frobnicate'");
}

fn drbd_loaded() -> bool {
    std::path::Path::new("/proc/drbd").exists()
}

/// Without the DRBD module a probe finds nothing (7); with it, the tools are missing here
/// (PATH=/nonexistent): 5 naming the DRBD tool. Without hastctl, 5 with a reason.
#[test]
fn probes_without_the_software() {
    let r = run("monitor", &[("resource", "r0")], &[("OCF_RESKEY_CRM_meta_interval", "0")]);
    if drbd_loaded() {
        assert_eq!(r.rc, 5, "{r:?}");
        assert!(r.reason().contains("drbdadm") || r.reason().contains("drbdsetup"), "{r:?}");
    } else {
        assert_eq!(r.rc, 7, "{r:?}");
    }
    let r = run("monitor", &[("resource", "shared"), ("backend", "hast")], &[]);
    assert_eq!(r.rc, 5, "{r:?}");
    assert!(r.reason().contains("hastctl"), "{r:?}");
}

/// stop with an invalid configuration succeeds when nothing can be held (no fencing for a
/// typo): an unknown backend holds nothing; a DRBD resource is taken down only when the module
/// is loaded (here drbdadm is missing, so that is 5 naming it).
#[test]
fn stop_with_invalid_configuration() {
    let r = run("stop", &[("resource", "r0"), ("backend", "lvm")], &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    let r = run("stop", &[("resource", "r0"), ("kill_grace", "0")], &[]);
    if drbd_loaded() {
        assert_eq!(r.rc, 5, "{r:?}");
        assert!(r.reason().contains("drbdadm down r0"), "{r:?}");
    } else {
        assert_eq!(r.rc, 0, "{r:?}");
    }
}

#[test]
fn two_primaries_are_refused() {
    let r = run(
        "validate-all",
        &[("resource", "r0")],
        &[("OCF_RESKEY_CRM_meta_promoted_max", "2"), ("OCF_RESKEY_CRM_meta_clone_max", "2")],
    );
    assert_eq!(r.rc, 6);
    assert!(r.reason().contains("promoted-max"), "{r:?}");
}
