//! The OCF contract: meta-data against the schemas, ocf-tester and ferroha-check on a real
//! standalone server (plain primitive and promotable clone), and bad input mapped to 2/5/6 with a
//! reason naming the parameter. Needs root and Debian's mariadb-server.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{AGENT, Lab};
use ferroha_check::schema;
use ocf::Agent;

#[test]
fn meta_data_valid_and_complete() {
    let names: Vec<&str> = mariadb::Mariadb::INFO.params.iter().map(|p| p.name).collect();
    let xml = schema::check_agent(AGENT, &names).unwrap_or_else(|e| panic!("{e}"));
    for a in ["promote", "demote", "notify"] {
        assert!(xml.contains(&format!("<action name=\"{a}\"")), "{a}");
    }
}

/// Parameters of a single standalone node of a lab, as `name=value`.
fn standalone(lab: &Lab) -> Vec<(String, String)> {
    lab.release_port("n1");
    let n = lab.node("n1");
    lab.node_params(n).into_iter().filter(|(k, _)| k != "node_map").collect()
}

#[test]
fn ocf_tester_passes_plain_primitive() {
    let mut lab = Lab::new(1, false);
    let mut cmd = Command::new("/usr/sbin/ocf-tester");
    cmd.args(["-n", "mdb"]);
    for (k, v) in standalone(&lab) {
        cmd.arg("-o").arg(format!("{k}={v}"));
    }
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", lab.dir.path().join("bin").display());
    let out = cmd.arg(AGENT).env("PATH", path).output().expect("ocf-tester");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("passed all tests"), "{text}");
    lab.assert_no_password_leak();
}

fn checker(lab: &Lab) -> ferroha_check::Checker {
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", lab.dir.path().join("bin").display());
    let mut c = ferroha_check::Checker::new(AGENT)
        .instance("mdb")
        .env("PATH", &path)
        .absent("OCF_RESKEY_binary", "/nonexistent/mariadbd");
    for (k, v) in standalone(lab) {
        c = c.param(&k, &v);
    }
    c
}

// ferroha-check runs its role sequence (promote → monitor 8) whenever meta-data advertises
// promote/demote, so it checks this agent as a promotable clone; the plain primitive (where
// promote/demote answer 3) is covered by ocf-tester above.

#[test]
fn ferroha_check_passes_promotable_clone() {
    let mut lab = Lab::new(1, false);
    let report = checker(&lab)
        .env("OCF_RESKEY_CRM_meta_promotable", "true")
        .env("OCF_RESKEY_CRM_meta_notify", "true")
        .env("OCF_RESKEY_CRM_meta_clone_max", "1")
        .run();
    assert!(report.passed(), "{report}");
    let promoted = report.step("monitor (promoted)").expect("promoted monitor step");
    assert_eq!(promoted.rc(), Some(8));
    lab.assert_no_password_leak();
}

/// validate-all with the lab's n1 parameters plus overrides; returns (rc, reason).
fn validate(lab: &Lab, node: &str, extra: &[(&str, &str)]) -> (i32, String) {
    let mut env: Vec<(String, String)> =
        extra.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), (*v).to_owned())).collect();
    env.push(("OCF_RESKEY_CRM_meta_on_node".into(), node.into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = lab.agent("n1", "validate-all", &env);
    (r.rc, r.reason().to_owned())
}

/// Overrides, node, expected rc, expected words of the reason.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, i32, &'a str);

#[test]
fn bad_input_is_refused_with_a_reason_naming_the_parameter() {
    let lab = Lab::new(1, false);
    assert_eq!(validate(&lab, "n1", &[]).0, 0);
    let open = lab.dir.path().join("open.pw");
    fs::write(&open, "x\n").expect("pw");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).expect("chmod");
    let open = open.display().to_string();
    let cases: &[Case] = &[
        (&[("datadir", "/nonexistent/data")], "n1", 2, "parameter 'datadir'"),
        (
            &[("replication_passwd_file", "/nonexistent/pw")],
            "n1",
            2,
            "parameter 'replication_passwd_file'",
        ),
        (&[("replication_passwd_file", &open)], "n1", 2, "group and others must have no access"),
        (&[("max_slave_lag", "soon")], "n1", 6, "parameter 'max_slave_lag' must be an integer"),
        (&[("semi_sync", "maybe")], "n1", 6, "parameter 'semi_sync'"),
        (&[("node_map", "n1=127.0.0.1:x")], "n1", 6, "parameter 'node_map'"),
        (&[], "n9", 2, "parameter 'node_map' has no entry for this node 'n9'"),
        (&[("binary", "/nonexistent/mariadbd")], "n1", 5, "parameter 'binary'"),
        (&[("user", "no-such-user-fh")], "n1", 2, "parameter 'user'"),
        (&[("config", "/nonexistent/my.cnf")], "n1", 2, "parameter 'config'"),
        (
            &[("replication_passwd_file", "")],
            "n1",
            6,
            "parameter 'replication_passwd_file' is required",
        ),
    ];
    for (params, node, rc, reason) in cases {
        let (got, why) = validate(&lab, node, params);
        assert_eq!(got, *rc, "{params:?}: {why}");
        assert!(why.contains(reason), "{params:?}: '{why}' lacks '{reason}'");
    }
    // A stop with a broken configuration succeeds when nothing of ours runs.
    let r = lab.agent("n1", "stop", &[("OCF_RESKEY_datadir", "/nonexistent/data")]);
    assert_eq!(r.rc, 0, "{}", r.stderr);
    // A probe with the binary missing is "not installed", never a crash.
    let r = lab.agent(
        "n1",
        "monitor",
        &[("OCF_RESKEY_binary", "/nonexistent/mariadbd"), ("OCF_RESKEY_CRM_meta_interval", "0")],
    );
    assert!(r.rc == 5 || r.rc == 7, "{}", r.stderr);
}

#[test]
fn stop_signals_only_our_own_server() {
    let lab = Lab::new(1, false);
    // The pid file names a process that is not our mariadbd (a stale file whose pid was reused).
    let other = Command::new("sleep").arg("60").spawn().expect("sleep");
    let n = lab.node("n1");
    fs::write(n.pid_file(), format!("{}\n", other.id())).expect("pid file");
    assert_stop_spares(&lab, other);
}

/// stop succeeds without signalling `other`, and monitor does not take it for our server.
fn assert_stop_spares(lab: &Lab, mut other: std::process::Child) {
    let r = lab.agent("n1", "stop", &[]);
    assert_eq!(r.rc, 0, "{}", r.stderr);
    assert!(other.try_wait().expect("wait").is_none(), "stop signalled a process not ours");
    let m = lab.agent("n1", "monitor", &[]);
    assert_eq!(m.rc, 7, "a process not ours is not our server: {}", m.stderr);
    other.kill().expect("kill");
    let _ = other.wait();
}

/// A stale pid file whose pid now belongs to a younger process with our very command line (a
/// reused pid, or a copy started by hand) is not our server either: the agent did not record
/// it, and it started after the pid file was written.
#[test]
fn stop_never_signals_a_reused_pid_with_our_command_line() {
    let lab = Lab::new(1, false);
    let n = lab.node("n1");
    let params = lab.node_params(n);
    let param = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone()).unwrap();
    let other = Command::new("python3")
        .args(["-c", "import time; time.sleep(60)"])
        .arg(format!("--datadir={}", param("datadir")))
        .arg(format!("--pid-file={}", param("pid")))
        .spawn()
        .expect("python3");
    fs::write(n.pid_file(), format!("{}\n", other.id())).expect("pid file");
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(n.pid_file())
        .and_then(|f| f.set_modified(an_hour_ago))
        .expect("age the pid file");
    assert_stop_spares(&lab, other);
}
