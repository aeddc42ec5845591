//! The `ferroha-check` binary: exit status and output.

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

/// A short option that is not ASCII used to slice a string inside a character and panic (exit
/// 101); it is a usage error like any other unknown option.
#[test]
fn non_ascii_short_option_is_a_usage_error() {
    for args in [&["-é", "/x"][..], &["--é", "/x"], &["-oé", "/x"]] {
        let out = checker().args(args).output().expect("run ferroha-check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: ferroha-check"), "{args:?}: {stderr}");
    }
}

#[test]
fn exit_status_follows_the_report() {
    let t = test_agent();
    let state = format!("state={}", t.state.display());
    // Skipped steps (no schemas, not root) do not fail the run.
    let good = checker()
        .args(["-n", "cli-good", "-o", &state, "--no-xmllint"])
        .arg(&t.agent)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(&format!("ferroha-check {} (instance cli-good; ", t.agent.display()))
    );
    assert!(stdout.lines().last().is_some_and(|l| l.contains(" passed, 0 failed, ")), "{stdout}");

    let bad = checker()
        .args(["-o", &state, "--env", "BUG=sticky-stop", "--no-xmllint"])
        .arg(&t.agent)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\nFAIL  monitor (stopped) "), "{stdout}");
    assert!(stdout.lines().last().is_some_and(|l| l.contains(" passed, 2 failed, ")), "{stdout}");
}
