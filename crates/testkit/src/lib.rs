//! The test harness of the ferroha agents' black-box tests (a dev-dependency only).
//!
//! Every agent test does the same three things: run the agent binary for one action with a clean
//! OCF environment, read its exit status and exit reason, and look at what it told Pacemaker.
//! This crate does each once:
//!
//! - [`Env`] builds the environment Pacemaker would give: parameters (`OCF_RESKEY_<name>`),
//!   meta attributes (`OCF_RESKEY_CRM_meta_<name>`), notify variables, with the defaults of a
//!   recurring monitor or a one-off action;
//! - [`Agent`] runs the binary (optionally behind a prefix such as `ip netns exec NS`) with
//!   exactly that environment and returns an [`Outcome`]: rc, exit reason and stderr. The
//!   reason is read strictly: it must be the last stderr line, and a failure code without one
//!   fails the test, as it would fail `ferroha-check`;
//! - [`FakeCrmAttribute`] stands in for Pacemaker's attribute store: it records every call and
//!   answers what the promotion score is now;
//! - [`workspace_binary`] finds (and builds if needed) another binary of the workspace, such as
//!   `ferroha-api` or the [`STUBBORN`] daemon.
//!
//! # Example
//!
//! ```no_run
//! use testkit::{Agent, Env};
//!
//! let vip = Agent::new("/usr/lib/ocf/resource.d/ferroha/vip");
//! let env = Env::new("vip-test").param("ip", "192.0.2.100").param("cidr_netmask", "24");
//! let out = vip.run("start", &env);
//! assert_eq!(out.rc, 0, "{out:?}");
//! let out = vip.run("start", &env.clone().param("cidr_netmask", "33"));
//! assert_eq!((out.rc, out.reason()), (6, "parameter 'cidr_netmask': 33 is not a prefix length between 1 and 32"));
//! ```

#![deny(missing_docs)]

mod crm;
mod env;
mod run;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use crm::{Call, FakeCrmAttribute};
pub use env::{DEFAULT_PATH, Env};
pub use run::{Agent, Outcome};

/// The package and binary name of the daemon that ignores SIGTERM: `STUBBORN [PORT]` blocks
/// SIGTERM, then answers every HTTP request on `127.0.0.1:PORT` with 200 (or only sleeps
/// without a port). Only SIGKILL ends it. Use [`workspace_binary`] to find it.
pub const STUBBORN: (&str, &str) = ("ferroha-testkit", "ferroha-testkit-stubborn");

/// The path of binary `bin` of workspace package `package` in the target directory this test
/// runs from (`target/<profile>/`, beside the test's `deps/`); built with `cargo build` when it is
/// not there (`cargo test -p <one agent>` builds only that package's binaries).
///
/// # Panics
///
/// When the binary cannot be built: a test that needs it cannot run.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = dir.join(bin);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let st = Command::new(cargo)
            .args(["build", "--package", package, "--bin", bin])
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo build --package {package}: {e}"));
        assert!(st.success(), "cargo build --package {package} --bin {bin} failed");
    }
    assert!(path.exists(), "{} is missing; run cargo build --package {package}", path.display());
    path
}

/// Live processes (zombies left out) whose command line contains `needle`, such as a test's own
/// directory: the daemons a test started, whatever their pid files say.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    ocf::proc::pids()
        .filter(|&pid| ocf::proc::stat(pid).is_some_and(|s| s.alive()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}
