//! The `ferroha-check` binary: exit status and output.

// An integration-test crate is compiled only for `cargo test`: it is a test module as a whole.
#![allow(clippy::tests_outside_test_module)]

mod common;

use std::process::Command;

use common::test_agent;

fn checker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferroha-check"))
}

#[test]
fn help_and_usage_errors() {
    let help = checker().arg("--help").output().expect("run ferroha-check");
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: ferroha-check "));

    for args in [&[][..], &["-o", "novalue", "/x"], &["--bogus", "/x"]] {
        let out = checker().args(args).output().expect("run ferroha-check");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: ferroha-check"));
    }
}

#[test]
fn exit_status_follows_the_report() {
    let t = test_agent();
    let state = format!("state={}", t.state.display());
    let good =
        checker().args(["-n", "cli-good", "-o", &state]).arg(&t.agent).output().expect("run");
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(&format!("ferroha-check {} (instance cli-good; ", t.agent.display()))
    );
    assert!(stdout.lines().last().is_some_and(|l| l.ends_with(" passed, 0 failed")), "{stdout}");

    let bad = checker()
        .args(["-o", &state, "--env", "BUG=sticky-stop", "--no-xmllint"])
        .arg(&t.agent)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\nFAIL  monitor (stopped) "), "{stdout}");
    assert!(stdout.lines().last().is_some_and(|l| l.contains(" passed, 2 failed, 2 skipped")));
}
