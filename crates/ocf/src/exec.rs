//! Running an external tool: no shell, `LC_ALL=C`, bounded by the deadline (the whole process
//! group is killed on expiry), stdout and stderr kept so a failure can say what the tool said.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::deadline::Deadline;

/// What a finished tool printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

/// Why running a tool failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The program does not exist.
    #[error("{program}: not found")]
    NotFound {
        /// Program name.
        program: String,
    },
    /// The program could not be started.
    #[error("{program}: cannot start: {error}")]
    Spawn {
        /// Program name.
        program: String,
        /// Why (its text is part of this error's, so it is not a `source`).
        error: std::io::Error,
    },
    /// The deadline passed; the process group was killed.
    #[error("{program}: still running after {} ms, killed", waited.as_millis())]
    Timeout {
        /// Program name.
        program: String,
        /// How long it ran.
        waited: Duration,
    },
    /// The program exited non-zero (or by a signal).
    #[error("{program}: exit status {}{}", code.map_or("signal".into(), |c| c.to_string()), last_line(stderr))]
    Failed {
        /// Program name.
        program: String,
        /// Exit code, `None` when killed by a signal.
        code: Option<i32>,
        /// Its standard error.
        stderr: String,
    },
}

fn last_line(stderr: &str) -> String {
    match stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
        Some(l) => format!(": {l}"),
        None => String::new(),
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Run `program args…` and return its output whatever the exit status; `Err` only when it could
/// not run or ran out of time.
pub fn output(program: &str, args: &[&str], deadline: &Deadline) -> Result<Output, ExecError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ExecError::NotFound { program: program.into() },
        _ => ExecError::Spawn { program: program.into(), error: source },
    })?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if deadline.expired() => {
                // SIGKILL the group: the tool's own children must not outlive the action.
                let pgid = Pid::from_raw(child.id().cast_signed());
                let _ = killpg(pgid, Signal::SIGKILL);
                let _ = child.wait();
                return Err(ExecError::Timeout {
                    program: program.into(),
                    waited: deadline.elapsed(),
                });
            }
            Ok(None) => {
                deadline.sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(error) => return Err(ExecError::Spawn { program: program.into(), error }),
        }
    };
    let join =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output { status, stdout: join(out), stderr: join(err) })
}

/// Run `program args…`; a non-zero exit is [`ExecError::Failed`] carrying its stderr.
pub fn run(program: &str, args: &[&str], deadline: &Deadline) -> Result<Output, ExecError> {
    let out = output(program, args, deadline)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(ExecError::Failed {
            program: program.into(),
            code: out.status.code(),
            stderr: out.stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dl() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    #[test]
    fn captures_output_with_c_locale() {
        let out = run("env", &[], &dl()).unwrap();
        assert!(out.stdout.lines().any(|l| l == "LC_ALL=C"));
    }

    #[test]
    fn failure_keeps_stderr() {
        let err = run("ls", &["/nonexistent-ferroha"], &dl()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("ls: exit status 2: "), "{text}");
        assert!(text.contains("No such file"), "{text}");
    }

    #[test]
    fn missing_program() {
        assert!(matches!(run("/nonexistent/tool", &[], &dl()), Err(ExecError::NotFound { .. })));
    }

    #[test]
    fn deadline_kills() {
        let d = Deadline::after(Duration::from_millis(100));
        let started = std::time::Instant::now();
        let err = run("sleep", &["5"], &d).unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
