//! The result of a check run: one [`Step`] per action or validation, and a human-readable rendering.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::metadata::Metadata;

/// Whether a step passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check on the step held.
    Pass,
    /// At least one check failed; see [`Step::problems`].
    Fail,
    /// Not run; [`Step::problems`] says why.
    Skip,
}

/// How the step's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by a signal the checker did not send.
    Signalled(i32),
    /// Killed by the checker at twice the action's timeout.
    Killed,
    /// No process ran (skipped, or it could not be started).
    NotRun,
}

/// One action run (or one xmllint validation) and its verdict.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Step {
    /// Stable, human-readable name, e.g. `monitor (stopped)`; see `docs/ferroha-check.md`.
    pub name: String,
    /// A shell-like rendering of the command with its step-specific environment, for reproducing it.
    pub command: String,
    /// Accepted exit codes.
    pub expected: Vec<i32>,
    /// How the process ended.
    pub status: Status,
    /// Wall time.
    pub duration: Duration,
    /// The verdict.
    pub outcome: Outcome,
    /// Why it failed or was skipped; empty on a pass.
    pub problems: Vec<String>,
    /// The exit reason the agent printed, if any (whether or not one was required).
    pub exit_reason: Option<String>,
    /// The last lines of stderr (the report prints them for failed steps only).
    pub stderr_tail: Vec<String>,
}

impl Step {
    /// The exit code, if the process exited normally.
    pub fn rc(&self) -> Option<i32> {
        match self.status {
            Status::Exited(rc) => Some(rc),
            _ => None,
        }
    }

    /// A step with no process behind it (yet).
    pub(crate) fn new(
        name: impl Into<String>,
        command: impl Into<String>,
        expected: &[i32],
    ) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
            expected: expected.to_vec(),
            status: Status::NotRun,
            duration: Duration::ZERO,
            outcome: Outcome::Pass,
            problems: Vec::new(),
            exit_reason: None,
            stderr_tail: Vec::new(),
        }
    }

    /// Records a failed check; the step fails from then on.
    pub(crate) fn fail(&mut self, problem: impl Into<String>) {
        self.outcome = Outcome::Fail;
        self.problems.push(problem.into());
    }

    /// Marks the step as not run, with the reason.
    pub(crate) fn skip(&mut self, why: impl Into<String>) {
        self.outcome = Outcome::Skip;
        self.problems.push(why.into());
    }
}

/// Where and why the sequence stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Abort {
    /// Index in [`Report::steps`] of the step that caused the abort.
    pub after: usize,
    /// What happened and what to do about it.
    pub message: String,
}

/// Everything a check run found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The agent that was checked.
    pub agent: PathBuf,
    /// `OCF_RESOURCE_INSTANCE` used.
    pub instance: String,
    /// Parameters passed, as `name=value`, for the header.
    pub params: Vec<String>,
    /// Steps in the order they ran.
    pub steps: Vec<Step>,
    /// Set when a failure made the rest of the sequence meaningless or unsafe.
    pub aborted: Option<Abort>,
    /// The agent's parsed meta-data, when it could be read.
    pub metadata: Option<Metadata>,
}

impl Report {
    /// True when no step failed (skipped steps do not count against it).
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.failures().next().is_none()
    }

    /// The failed steps.
    pub fn failures(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.outcome == Outcome::Fail)
    }

    /// The first step with this name.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.steps.iter().filter(|s| s.outcome == outcome).count()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Exited(rc) => write!(f, "{rc}"),
            Status::Signalled(signal) => write!(f, "signal {signal}"),
            Status::Killed => f.write_str("killed"),
            Status::NotRun => f.write_str("-"),
        }
    }
}

/// Indentation of the detail lines under a step.
const DETAIL: &str = "      ";

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ferroha-check {} (instance {}", self.agent.display(), self.instance)?;
        if !self.params.is_empty() {
            write!(f, "; {}", self.params.join(" "))?;
        }
        writeln!(f, ")")?;
        let width = self.steps.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
        for (index, step) in self.steps.iter().enumerate() {
            let want: Vec<String> = step.expected.iter().map(i32::to_string).collect();
            writeln!(
                f,
                "{}  {:<width$}  rc={} (want {})  {} ms",
                step.outcome,
                step.name,
                step.status,
                want.join("|"),
                step.duration.as_millis(),
            )?;
            for problem in &step.problems {
                writeln!(f, "{DETAIL}- {problem}")?;
            }
            if step.outcome == Outcome::Fail {
                writeln!(f, "{DETAIL}command: {}", step.command)?;
                if step.stderr_tail.is_empty() {
                    writeln!(f, "{DETAIL}stderr: (empty)")?;
                } else {
                    writeln!(f, "{DETAIL}stderr (last {} lines):", step.stderr_tail.len())?;
                    for line in &step.stderr_tail {
                        writeln!(f, "{DETAIL}  | {line}")?;
                    }
                }
            }
            if let Some(abort) = self.aborted.as_ref().filter(|a| a.after == index) {
                writeln!(f, "ABORT {}", abort.message)?;
            }
        }
        write!(f, "{} passed, {} failed", self.count(Outcome::Pass), self.count(Outcome::Fail))?;
        let skipped = self.count(Outcome::Skip);
        if skipped > 0 {
            write!(f, ", {skipped} skipped")?;
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut pass = Step::new("meta-data", "/x/agent meta-data", &[0]);
        pass.status = Status::Exited(0);
        pass.duration = Duration::from_millis(12);
        let mut fail = Step::new("unknown action (frobnicate)", "/x/agent frobnicate", &[3]);
        fail.status = Status::Exited(3);
        fail.duration = Duration::from_micros(7_900);
        fail.fail("rc 3 needs an exit reason: no stderr line starts with \"ocf-exit-reason:\"");
        fail.stderr_tail = vec!["usage: agent {start|stop}".into()];
        let mut skip = Step::new("meta-data: DTD", "xmllint", &[0]);
        skip.skip("turned off (--no-xmllint)");
        let mut killed = Step::new("notify", "/x/agent notify", &[0, 3]);
        killed.status = Status::Killed;
        killed.duration = Duration::from_millis(2001);
        killed.fail("killed after 2001 ms");
        Report {
            agent: "/x/agent".into(),
            instance: "t1".into(),
            params: vec!["state=/tmp/s".into()],
            steps: vec![pass, fail, skip, killed],
            aborted: Some(Abort { after: 3, message: "notify hung".into() }),
            metadata: None,
        }
    }

    #[test]
    fn renders_steps_details_and_summary() {
        let expected = "\
ferroha-check /x/agent (instance t1; state=/tmp/s)
PASS  meta-data                    rc=0 (want 0)  12 ms
FAIL  unknown action (frobnicate)  rc=3 (want 3)  7 ms
      - rc 3 needs an exit reason: no stderr line starts with \"ocf-exit-reason:\"
      command: /x/agent frobnicate
      stderr (last 1 lines):
        | usage: agent {start|stop}
SKIP  meta-data: DTD               rc=- (want 0)  0 ms
      - turned off (--no-xmllint)
FAIL  notify                       rc=killed (want 0|3)  2001 ms
      - killed after 2001 ms
      command: /x/agent notify
      stderr: (empty)
ABORT notify hung
1 passed, 2 failed, 1 skipped
";
        assert_eq!(sample().to_string(), expected);
    }

    #[test]
    fn summary_omits_zero_skips() {
        let mut report = sample();
        report.steps.retain(|s| s.outcome != Outcome::Skip);
        report.aborted = None;
        let text = report.to_string();
        assert_eq!(text.lines().last(), Some("1 passed, 2 failed"));
        assert!(!report.passed());
        assert_eq!(report.failures().count(), 2);
        assert_eq!(report.step("notify").map(Step::rc), Some(None));
        assert_eq!(report.step("meta-data").and_then(Step::rc), Some(0));
    }

    #[test]
    fn passed_ignores_skips_but_needs_steps() {
        let mut report = sample();
        report.steps.retain(|s| s.outcome != Outcome::Fail);
        assert!(report.passed());
        report.steps.clear();
        assert!(!report.passed());
    }
}
