//! The whole pair: `ocf:ferroha:restapi` (the agent binary from this workspace's target
//! directory) managing `ferroha-api` with `health_url=/ready` against a real MariaDB. A database
//! turned read-only (a stale primary) fails the API's monitor; writable again, it passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Mariadb, Target, unique};

const PW: &str = "e2e-Pw-41d";

/// `target/<profile>/restapi`, beside this test's `deps/`; built when missing.
fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let bin = exe.parent().and_then(Path::parent).expect("target/<profile>").join("restapi");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let st = Command::new(cargo).args(["build", "-p", "ferroha-restapi"]).status();
        assert!(st.is_ok_and(|s| s.success()), "cargo build -p ferroha-restapi failed");
    }
    assert!(bin.exists(), "{} is missing; run cargo build -p ferroha-restapi", bin.display());
    bin
}

fn agent(action: &str, params: &[(&str, String)]) -> (i32, String) {
    let mut cmd = Command::new(agent_binary());
    cmd.arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "api-e2e")
        .env("OCF_RESKEY_CRM_meta_timeout", "20000")
        .env("OCF_RESKEY_CRM_meta_interval", if action == "monitor" { "10000" } else { "0" })
        .stdin(Stdio::null());
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    let out = cmd.output().expect("run restapi");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let reason = err.lines().rev().find_map(|l| l.strip_prefix("ocf-exit-reason:")).unwrap_or("");
    (out.status.code().unwrap_or(-1), reason.to_owned())
}

#[test]
fn restapi_monitor_follows_database_writability() {
    let db = Mariadb::start();
    let name = unique("t");
    db.database(&name, "api", PW);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target { port: db.port, db_name: &name, user: "api", password: PW };
    let (conf, port, _token) = common::write_config(dir.path(), &target, "");
    let d = dir.path().display();
    let params = [
        ("binary", common::API.to_owned()),
        ("arguments", format!("--config {}", conf.display())),
        ("pidfile", format!("{d}/api.pid")),
        ("logfile", format!("{d}/api.log")),
        ("health_url", format!("http://127.0.0.1:{port}/ready")),
        ("http_timeout", "3".to_owned()),
    ];
    let log = || std::fs::read_to_string(dir.path().join("api.log")).unwrap_or_default();
    assert_eq!(agent("start", &params), (0, String::new()), "{}", log());
    assert_eq!(agent("monitor", &params).0, 0);
    db.set_read_only(true);
    let (rc, reason) = agent("monitor", &params);
    assert_eq!(rc, 1);
    assert!(
        reason
            .ends_with(&format!("http://127.0.0.1:{port}/ready: answered HTTP 503, expected 200")),
        "{reason}"
    );
    db.set_read_only(false);
    assert_eq!(agent("monitor", &params).0, 0);
    drop(db);
    assert_eq!(agent("monitor", &params).0, 1, "database gone");
    assert_eq!(agent("stop", &params).0, 0);
    assert_eq!(agent("monitor", &params).0, 7);
    assert!(log().contains("shutting down"), "{}", log());
}
