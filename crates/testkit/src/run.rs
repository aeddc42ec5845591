//! Running an agent binary for one action and reading what it reported.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferroha_check::{EXIT_REASON_PREFIX, ExitReason, exit_reason, needs_exit_reason};

use crate::env::Env;

/// An agent binary, optionally run behind a command prefix.
#[derive(Clone, Debug)]
pub struct Agent {
    argv: Vec<OsString>,
}

impl Agent {
    /// The agent at `program` (in a test, `env!("CARGO_BIN_EXE_<agent>")`).
    pub fn new(program: impl AsRef<Path>) -> Agent {
        Agent { argv: vec![program.as_ref().as_os_str().to_owned()] }
    }

    /// Run every action behind `prefix`, e.g. `["ip", "netns", "exec", "ns1"]`.
    #[must_use]
    pub fn behind(mut self, prefix: &[&str]) -> Agent {
        let mut argv: Vec<OsString> = prefix.iter().map(OsString::from).collect();
        argv.append(&mut self.argv);
        self.argv = argv;
        self
    }

    /// Run `action` with exactly `env` (see [`Env::for_action`]), stdin from /dev/null.
    ///
    /// # Panics
    ///
    /// When the program cannot be started, or breaks the exit-reason contract (see
    /// [`Outcome`]): either fails the test.
    pub fn run(&self, action: &str, env: &Env) -> Outcome {
        let (program, rest) = self.argv.split_first().expect("a program");
        let mut cmd = Command::new(program);
        cmd.args(rest).arg(action).env_clear().envs(env.for_action(action)).stdin(Stdio::null());
        let t0 = Instant::now();
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.argv));
        let took = t0.elapsed();
        let outcome = Outcome {
            rc: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took,
            prefix: env.get("OCF_EXIT_REASON_PREFIX").unwrap_or(EXIT_REASON_PREFIX).to_owned(),
        };
        if let Err(broken) = outcome.contract() {
            panic!("{action}: {broken}\n{outcome:?}");
        }
        outcome
    }
}

/// What one action did.
///
/// Checked for every run, as Pacemaker and `ferroha-check` read it: the exit status is an OCF
/// code (0-9; never 101, a panic that escaped, nor death by a signal); a failure code (1-6, 9)
/// comes with an exit reason; and an exit reason, when there is one, is the last non-blank
/// stderr line and not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status (-1 when killed by a signal).
    pub rc: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long the action took.
    pub took: Duration,
    /// `OCF_EXIT_REASON_PREFIX`, or the default.
    prefix: String,
}

impl Outcome {
    fn contract(&self) -> Result<(), String> {
        let prefix = self.prefix.as_str();
        if !(0..=9).contains(&self.rc) {
            return Err(format!("exit status {} is not an OCF exit code", self.rc));
        }
        match exit_reason(&self.stderr, prefix) {
            ExitReason::Found(_) => Ok(()),
            ExitReason::Empty => Err(format!("an empty {prefix} line")),
            ExitReason::NotLast(_) => Err(format!("the {prefix} line is not the last stderr line")),
            ExitReason::Missing if needs_exit_reason(self.rc) => {
                Err(format!("rc {} without an exit reason", self.rc))
            }
            ExitReason::Missing => Ok(()),
        }
    }

    /// The exit reason (the text after `ocf-exit-reason:` on the last stderr line), or "" when
    /// the agent gave none.
    pub fn reason(&self) -> &str {
        match exit_reason(&self.stderr, &self.prefix) {
            ExitReason::Found(text) => text,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(rc: i32, stderr: &str) -> Outcome {
        Outcome {
            rc,
            stdout: String::new(),
            stderr: stderr.to_owned(),
            took: Duration::ZERO,
            prefix: EXIT_REASON_PREFIX.to_owned(),
        }
    }

    #[test]
    fn the_reason_is_the_last_line() {
        let o = outcome(6, "log line\nocf-exit-reason:parameter 'ip' is not set\n");
        assert_eq!(o.contract(), Ok(()));
        assert_eq!(o.reason(), "parameter 'ip' is not set");
        assert_eq!(outcome(7, "").reason(), "");
        assert_eq!(outcome(0, "info: fine\n").contract(), Ok(()));
    }

    #[test]
    fn broken_contracts_are_named() {
        let broken = |rc, stderr| outcome(rc, stderr).contract().unwrap_err();
        assert_eq!(broken(1, "boom\n"), "rc 1 without an exit reason");
        assert_eq!(
            broken(101, "thread 'main' panicked"),
            "exit status 101 is not an OCF exit code"
        );
        assert_eq!(broken(-1, ""), "exit status -1 is not an OCF exit code");
        assert_eq!(
            broken(1, "ocf-exit-reason:x\nlater noise\n"),
            "the ocf-exit-reason: line is not the last stderr line"
        );
        assert_eq!(broken(1, "ocf-exit-reason: \n"), "an empty ocf-exit-reason: line");
    }

    /// `sh -c SCRIPT NAME ACTION`: a stand-in agent that prints what it was given.
    fn shell_agent(script: &str) -> Agent {
        Agent::new("agent").behind(&["/bin/sh", "-c", script])
    }

    #[test]
    fn runs_the_action_with_exactly_the_environment() {
        let script = "printf '%s %s %s %s' \"$1\" \"$OCF_RESKEY_x\" \
                      \"$OCF_RESKEY_CRM_meta_interval\" \"${HOME:-no-home}\"; \
                      echo log >&2; echo R:why not >&2; exit 2";
        let env = Env::new("r1").param("x", "1").var("OCF_EXIT_REASON_PREFIX", "R:");
        let o = shell_agent(script).run("monitor", &env);
        assert_eq!(
            (o.rc, o.stdout.as_str(), o.reason()),
            (2, "monitor 1 10000 no-home", "why not")
        );
    }

    #[test]
    #[should_panic(expected = "rc 1 without an exit reason")]
    fn a_failure_without_a_reason_fails_the_test() {
        shell_agent("exit 1").run("start", &Env::new("r1"));
    }
}
