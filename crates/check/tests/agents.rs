//! The checker against real agents installed on this machine (heartbeat `Dummy`, pacemaker
//! `Stateful`) and against a throw-away bash agent with one deliberate defect per test.
//!
//! Both stock agents fail some of the stricter checks; these tests pin exactly which ones, so a
//! change in the checker's verdicts shows up here rather than in an agent's test suite.
//!
//! The stock agents and the schema steps need resource-agents, pacemaker and xmllint: those are
//! system tests, ignored unless `--include-ignored` (scripts/test.sh runs them). The defect tests
//! run the throw-away agent with schema validation off, which is not what they are about.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestAgent, test_agent};
use ferroha_check::{Checker, Outcome, Report, Status};

const DUMMY: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
const STATEFUL: &str = "/usr/lib/ocf/resource.d/pacemaker/Stateful";

fn installed(agent: &str) -> &str {
    assert!(
        Path::new(agent).is_file(),
        "{agent} is missing: these tests need the Debian packages resource-agents and pacemaker"
    );
    agent
}

fn failed(report: &Report) -> Vec<&str> {
    report.failures().map(|s| s.name.as_str()).collect()
}

fn step<'r>(report: &'r Report, name: &str) -> &'r ferroha_check::Step {
    report.step(name).unwrap_or_else(|| panic!("no step {name:?} in\n{report}"))
}

/// `meta-data as nobody` is skipped when the tests do not run as root; account for it.
fn summary(report: &Report, passed: usize, failed: usize, skipped: usize) -> String {
    let nobody_skipped = step(report, "meta-data as nobody").outcome == Outcome::Skip;
    let (passed, skipped) =
        if nobody_skipped { (passed - 1, skipped + 1) } else { (passed, skipped) };
    let mut line = format!("{passed} passed, {failed} failed");
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped"));
    }
    line
}

/// The throw-away agent's check, schema validation off (the system tests cover it).
fn without_schemas(t: &TestAgent) -> Checker {
    Checker::new(&t.agent).param("state", &t.state.to_string_lossy()).xmllint(false)
}

fn last_line(report: &Report) -> String {
    report.to_string().lines().last().unwrap_or_default().to_owned()
}

#[test]
#[ignore = "system: resource-agents' Dummy, ra-api-1.dtd and metadata.rng, xmllint; run by scripts/test.sh"]
fn dummy_fails_only_the_exit_reason_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("dummy.state");
    let report = Checker::new(installed(DUMMY))
        .instance("check-dummy")
        .param("state", &state.to_string_lossy())
        .run();

    // Dummy prints its usage on stdout and exits 3 without an ocf-exit-reason line, for an unknown
    // action, for no action and for notify (which it does not implement or advertise, so rc 3 is
    // accepted, but still needs a reason).
    assert_eq!(
        failed(&report),
        ["unknown action (frobnicate)", "no action", "notify (post-start)"],
        "\n{report}"
    );
    for failure in report.failures() {
        assert_eq!(failure.status, Status::Exited(3), "{}", failure.name);
        assert_eq!(
            failure.problems,
            ["rc 3 needs an exit reason, but no stderr line starts with \"ocf-exit-reason:\""],
            "{}",
            failure.name
        );
    }
    assert_eq!(step(&report, "notify (post-start)").expected, [0, 3]);
    assert!(report.aborted.is_none());
    // No required parameters, not promotable: those steps do not exist.
    assert!(
        report.steps.iter().all(|s| !s.name.contains("without") && !s.name.contains("promote"))
    );
    // Its meta-data is DTD-clean 1.0-style XML.
    assert_eq!(step(&report, "meta-data: DTD (ra-api-1.dtd)").outcome, Outcome::Pass);
    assert_eq!(step(&report, "meta-data: RelaxNG (metadata.rng)").outcome, Outcome::Pass);
    // A real (non-probe) monitor of a stopped Dummy explains itself even though 7 needs no reason.
    assert_eq!(
        step(&report, "monitor (initial)").exit_reason.as_deref(),
        Some("No process state file found")
    );
    assert_eq!(step(&report, "stop (final cleanup)").outcome, Outcome::Pass);
    assert_eq!(last_line(&report), summary(&report, 20, 3, 0));
    assert!(!state.exists(), "Dummy left its state file behind");
}

#[test]
#[ignore = "system: pacemaker's Stateful, resource-agents' ra-api-1.dtd and metadata.rng, xmllint; run by scripts/test.sh"]
fn stateful_fails_both_schemas_and_the_exit_reason_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("stateful.state");
    let report = Checker::new(installed(STATEFUL))
        .instance("check-stateful")
        .param("state", &state.to_string_lossy())
        .run();

    assert_eq!(
        failed(&report),
        [
            "meta-data: DTD (ra-api-1.dtd)",
            "meta-data: RelaxNG (metadata.rng)",
            "unknown action (frobnicate)",
            "no action",
        ],
        "\n{report}"
    );
    // OCF 1.1 meta-data: unique-group and reloadable are in neither schema, reload-agent is not in
    // the DTD's action list.
    let dtd = step(&report, "meta-data: DTD (ra-api-1.dtd)").stderr_tail.join("\n");
    for needle in ["attribute unique-group", "attribute reloadable", "\"reload-agent\""] {
        assert!(dtd.contains(needle), "{needle:?} not in DTD errors:\n{dtd}");
    }
    let rng = step(&report, "meta-data: RelaxNG (metadata.rng)").stderr_tail.join("\n");
    for needle in ["attribute unique-group", "attribute reloadable"] {
        assert!(rng.contains(needle), "{needle:?} not in RelaxNG errors:\n{rng}");
    }
    assert!(!rng.contains("reload-agent"), "metadata.rng allows any action name:\n{rng}");

    let meta = report.metadata.as_ref().expect("Stateful's meta-data parses");
    assert!(meta.is_promotable());
    assert_eq!(meta.timeout("notify"), Some(Duration::from_secs(5)));
    // crm_attribute fails outside a cluster ("Could not connect to the CIB"), and Stateful ignores
    // that, so start/promote/demote succeed and monitor reports the role from its state file.
    for (name, rc) in [
        ("start", 0),
        ("notify (post-start)", 0),
        ("promote", 0),
        ("monitor (promoted)", 8),
        ("promote (again)", 0),
        ("monitor (promoted again)", 8),
        ("demote", 0),
        ("monitor (demoted)", 0),
        ("demote (again)", 0),
        ("monitor (demoted again)", 0),
        ("stop", 0),
        ("monitor (stopped)", 7),
    ] {
        let s = step(&report, name);
        assert_eq!((s.outcome, s.rc()), (Outcome::Pass, Some(rc)), "{name}\n{report}");
    }
    let start = step(&report, "start").stderr_tail.join("\n");
    assert!(start.contains("crm_attribute: Could not connect to the CIB"), "{start}");
    assert!(report.aborted.is_none());
    assert_eq!(last_line(&report), summary(&report, 27, 4, 0));
    assert!(!state.exists(), "Stateful left its state file behind");
}

#[test]
#[ignore = "system: xmllint + resource-agents' ra-api-1.dtd and metadata.rng; run by scripts/test.sh"]
fn correct_agent_passes_everything() {
    let t = test_agent();
    let report = Checker::new(&t.agent).param("state", &t.state.to_string_lossy()).run();
    assert!(report.passed(), "\n{report}");
    assert!(report.aborted.is_none());
    for name in [
        "validate-all without state",
        "start without state",
        "probe (software absent)",
        "monitor (promoted)",
        "monitor (demoted again)",
        "stop (cycle 2)",
    ] {
        assert_eq!(step(&report, name).outcome, Outcome::Pass, "{name}");
    }
    assert_eq!(
        step(&report, "start without state").exit_reason.as_deref(),
        Some("parameter state is required")
    );
    // No undo step: start without the parameter correctly refused.
    assert!(report.step("stop without state (undo)").is_none());
    assert_eq!(last_line(&report), summary(&report, 33, 0, 0));
    assert!(!t.state.exists());
}

#[test]
fn catches_monitor_reporting_running_after_stop() {
    let t = test_agent();
    let report = without_schemas(&t).env("BUG", "sticky-stop").run();
    assert_eq!(failed(&report), ["monitor (stopped)", "monitor (stopped again)"], "\n{report}");
    let s = step(&report, "monitor (stopped)");
    assert_eq!(s.status, Status::Exited(0));
    assert_eq!(s.problems, ["rc 0 (OCF_SUCCESS), want 7 (OCF_NOT_RUNNING)"]);
}

#[test]
fn catches_failure_without_exit_reason() {
    let t = test_agent();
    let report = without_schemas(&t).env("BUG", "no-reason").run();
    assert_eq!(
        failed(&report),
        ["validate-all without state", "start without state"],
        "\n{report}"
    );
    for failure in report.failures() {
        assert_eq!(
            failure.problems,
            [
                "rc 1 (OCF_ERR_GENERIC), want 6 (OCF_ERR_CONFIGURED)",
                "rc 1 needs an exit reason, but no stderr line starts with \"ocf-exit-reason:\"",
            ]
        );
    }
    assert!(report.aborted.is_none(), "a refused start changes nothing; the run goes on");
}

#[test]
fn catches_monitor_not_reporting_promoted_role() {
    // ocf-tester would pass this agent: it never looks at monitor after promote.
    let t = test_agent();
    let report = without_schemas(&t).env("BUG", "monitor-ignores-role").run();
    assert_eq!(failed(&report), ["monitor (promoted)", "monitor (promoted again)"], "\n{report}");
    assert_eq!(step(&report, "monitor (promoted)").expected, [8]);
}

#[test]
fn kills_a_hanging_action_and_goes_on() {
    let t = test_agent();
    let started = Instant::now();
    let report = without_schemas(&t).env("BUG", "slow-notify").run();
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert_eq!(failed(&report), ["notify (post-start)"], "\n{report}");
    let s = step(&report, "notify (post-start)");
    assert_eq!(s.status, Status::Killed);
    assert!(s.duration >= Duration::from_secs(2), "killed at 2x the 1 s timeout: {:?}", s.duration);
    assert!(s.problems[0].starts_with("killed after"), "{:?}", s.problems);
    assert!(s.command.contains("OCF_RESKEY_CRM_meta_timeout=1000"), "{}", s.command);
    // notify changes nothing, so the sequence continued.
    assert!(report.aborted.is_none());
    assert_eq!(step(&report, "stop (cycle 2)").outcome, Outcome::Pass);
}

#[test]
fn failed_start_aborts_but_still_stops() {
    let t = test_agent();
    let report = without_schemas(&t).env("BUG", "start-fails").run();
    assert_eq!(failed(&report), ["start"], "\n{report}");
    let abort = report.aborted.as_ref().expect("aborted");
    assert_eq!(report.steps[abort.after].name, "start");
    assert!(abort.message.contains("unknown state"), "{}", abort.message);
    assert!(report.step("monitor (started)").is_none());
    let last = report.steps.last().expect("steps");
    assert_eq!((last.name.as_str(), last.outcome), ("stop (final cleanup)", Outcome::Pass));
    assert!(
        report.to_string().contains("\nABORT \"start\" ended with rc=1 (want 0)"),
        "\n{report}"
    );
}

#[test]
fn refuses_to_touch_a_resource_that_is_already_running() {
    let t = test_agent();
    std::fs::write(&t.state, "unpromoted\n").expect("fake a running resource");
    let report = without_schemas(&t).run();
    assert_eq!(failed(&report), ["monitor (initial)"], "\n{report}");
    let abort = report.aborted.as_ref().expect("aborted");
    assert!(abort.message.contains("already running (monitor rc=0)"), "{}", abort.message);
    assert!(report.step("start").is_none());
    let cleanup = step(&report, "stop (final cleanup)");
    assert_eq!(cleanup.outcome, Outcome::Skip);
    assert!(t.state.exists(), "the checker stopped a resource it did not start");
}

#[test]
fn half_promotable_metadata_fails() {
    let t = test_agent();
    let report = without_schemas(&t).env("BUG", "no-demote").run();
    assert_eq!(failed(&report), ["meta-data"], "\n{report}");
    assert_eq!(
        step(&report, "meta-data").problems,
        ["promote is advertised without demote (half promotable)"]
    );
    assert!(report.step("promote").is_none(), "promote/demote steps need both actions");
}

#[test]
fn wrapper_prefixes_every_action() {
    let t = test_agent();
    // `env` is looked up before the run, so the PATH=/nonexistent probe still finds it.
    let report =
        without_schemas(&t).env("BUG", "needs-wrapper").wrapper(&["env", "WRAPPED=1"]).run();
    assert!(report.passed(), "\n{report}");
    let probe = step(&report, "probe (software absent)");
    assert!(probe.command.contains("/usr/bin/env WRAPPED=1 "), "{}", probe.command);
    assert!(probe.command.contains("PATH=/nonexistent"), "{}", probe.command);
}

#[test]
fn absent_env_reaches_only_the_absent_probe() {
    let t = test_agent();
    // Pointing the state file nowhere during the probe must still give "not running".
    let report = without_schemas(&t).absent("OCF_RESKEY_state", "/nonexistent/state").run();
    assert!(report.passed(), "\n{report}");
    assert!(step(&report, "probe (software absent)").command.contains("/nonexistent/state"));
    assert!(!step(&report, "probe (started)").command.contains("/nonexistent/state"));
}

#[test]
fn xmllint_can_be_turned_off_visibly() {
    let t = test_agent();
    let report = without_schemas(&t).run();
    assert!(report.passed(), "\n{report}");
    for name in ["meta-data: DTD (ra-api-1.dtd)", "meta-data: RelaxNG (metadata.rng)"] {
        let s = step(&report, name);
        assert_eq!(s.outcome, Outcome::Skip);
        assert_eq!(s.problems, ["schema validation turned off (--no-xmllint)"]);
    }
    assert_eq!(last_line(&report), summary(&report, 31, 0, 2));
    assert!(report.to_string().contains("\nSKIP  meta-data: DTD (ra-api-1.dtd) "));
}

#[test]
fn missing_agent_aborts_at_meta_data() {
    let report = Checker::new("/nonexistent/agent").run();
    assert_eq!(failed(&report), ["meta-data"], "\n{report}");
    assert!(step(&report, "meta-data").problems[0].starts_with("could not run the agent"));
    assert_eq!(report.steps.len(), 2, "meta-data and the skipped cleanup:\n{report}");
    assert_eq!(step(&report, "stop (final cleanup)").outcome, Outcome::Skip);
}
