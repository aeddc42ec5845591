//! Running one process with a clean environment, a hard deadline and captured output.
//!
//! Output goes to unlinked temporary files, not pipes. An agent whose `start` leaves a daemon behind
//! that inherited stdout/stderr would keep a pipe open, and waiting for EOF would hang the checker until
//! that daemon exits (Pacemaker, too, stops reading when the agent itself exits). Files also need no
//! reader threads, and stdin (for xmllint) works the same way.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sys;

/// Meta-data of a few MiB is already absurd; past this we keep the tail only.
const STDOUT_LIMIT: u64 = 16 << 20;
/// Only the end of stderr matters (exit reason, last errors).
const STDERR_LIMIT: u64 = 1 << 20;
/// Upper bound on the poll interval, which is also the error on measured durations.
const MAX_NAP: Duration = Duration::from_millis(5);

/// What to run.
#[derive(Debug)]
pub(crate) struct Program<'a> {
    /// Program (an absolute path, see [`resolve`]) and arguments.
    pub argv: &'a [OsString],
    /// The complete environment; nothing is inherited.
    pub env: &'a BTreeMap<String, String>,
    /// Bytes for stdin; `None` means `/dev/null`.
    pub stdin: Option<&'a [u8]>,
    /// The process group is killed once this much wall time has passed.
    pub kill_after: Duration,
    /// Working directory.
    pub cwd: &'a Path,
    /// Run as this (uid, gid) instead of our own.
    pub user: Option<(u32, u32)>,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Died from this signal, not sent by us.
    Signal(i32),
    /// We killed it at the deadline.
    Killed,
}

/// A finished run.
#[derive(Debug)]
pub(crate) struct Finished {
    pub exit: Exit,
    pub elapsed: Duration,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a process could not be run or observed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error("cannot create a capture file in {}", dir.display())]
    Capture {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("lost track of {program}")]
    Wait {
        program: String,
        #[source]
        source: io::Error,
    },
}

/// Runs `program` to completion or until its deadline.
pub(crate) fn run(program: &Program<'_>) -> Result<Finished, ExecError> {
    let name = program.argv.first().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let (stdout, stderr) = (capture_file()?, capture_file()?);
    let stdin = match program.stdin {
        None => Stdio::null(),
        Some(bytes) => Stdio::from(input_file(bytes)?),
    };
    let mut cmd = Command::new(program.argv.first().map(OsString::as_os_str).unwrap_or_default());
    cmd.args(program.argv.iter().skip(1))
        .env_clear()
        .envs(program.env)
        .current_dir(program.cwd)
        .stdin(stdin)
        .stdout(clone_for_child(&stdout)?)
        .stderr(clone_for_child(&stderr)?)
        // Its own group, so a deadline kill reaches the agent's children too (see sys).
        .process_group(0);
    if let Some((uid, gid)) = program.user {
        cmd.uid(uid).gid(gid);
    }

    let spawn_error = |source| ExecError::Spawn { program: name.clone(), source };
    let wait_error = |source| ExecError::Wait { program: name.clone(), source };
    let mut child = spawn(&mut cmd).map_err(spawn_error)?;
    let started = Instant::now();
    let mut nap = Duration::from_millis(1);
    // Polling try_wait instead of a waiter thread: the child stays unreaped until we have decided
    // whether to kill it, so its process group id cannot be recycled under us.
    let exit = loop {
        if let Some(status) = child.try_wait().map_err(wait_error)? {
            break match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => Exit::Killed,
            };
        }
        let elapsed = started.elapsed();
        if elapsed >= program.kill_after {
            // ESRCH means the group is already gone; either way we reap the child next.
            let _ = sys::kill_process_group(child.id());
            child.wait().map_err(wait_error)?;
            break Exit::Killed;
        }
        std::thread::sleep(nap.min(program.kill_after - elapsed));
        nap = (nap * 2).min(MAX_NAP);
    };
    let elapsed = started.elapsed();
    let read = |file, limit| read_tail(file, limit).map_err(wait_error);
    Ok(Finished {
        exit,
        elapsed,
        stdout: read(stdout, STDOUT_LIMIT)?,
        stderr: read(stderr, STDERR_LIMIT)?,
    })
}

/// Spawns, retrying briefly on ETXTBSY. A test that has just written an agent script races with
/// any thread that forks meanwhile: the forked child holds the script's write descriptor until its
/// own exec, and executing a file open for writing fails with ETXTBSY.
fn spawn(cmd: &mut Command) -> io::Result<std::process::Child> {
    let mut attempts = 0;
    loop {
        match cmd.spawn() {
            Err(e)
                if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) && attempts < 50 =>
            {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Finds `program` like execvp would, but in `path` (a `PATH` value) rather than our own environment,
/// so that a child environment with `PATH=/nonexistent` still finds the wrapper we were told to use.
pub(crate) fn resolve(program: &str, path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    path.split(':').filter(|dir| !dir.is_empty()).map(|dir| Path::new(dir).join(program)).find(
        |candidate| {
            candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        },
    )
}

/// An anonymous read-write file: created in the temp dir and unlinked at once, so nothing is left
/// behind even if the checker is killed.
fn capture_file() -> Result<File, ExecError> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let capture_error = |source| ExecError::Capture { dir: dir.clone(), source };
    loop {
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".ferroha-check.{}.{n}", std::process::id()));
        match OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path).map_err(capture_error)?;
                return Ok(file);
            }
            // Left over by an earlier process that had our pid: take the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(capture_error(e)),
        }
    }
}

fn input_file(bytes: &[u8]) -> Result<File, ExecError> {
    let mut file = capture_file()?;
    let dir = std::env::temp_dir();
    file.write_all(bytes)
        .and_then(|()| file.rewind())
        .map_err(|source| ExecError::Capture { dir, source })?;
    Ok(file)
}

fn clone_for_child(file: &File) -> Result<Stdio, ExecError> {
    file.try_clone()
        .map(Stdio::from)
        .map_err(|source| ExecError::Capture { dir: std::env::temp_dir(), source })
}

/// Reads at most the last `limit` bytes. The child shares our file offset, so seek explicitly.
fn read_tail(mut file: File, limit: u64) -> io::Result<Vec<u8>> {
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(len.saturating_sub(limit)))?;
    let mut buf = Vec::new();
    file.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stdin: Option<&[u8]>, kill_after: Duration) -> Finished {
        let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), script.into()];
        let env = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
        run(&Program { argv: &argv, env: &env, stdin, kill_after, cwd: Path::new("/"), user: None })
            .expect("/bin/sh runs")
    }

    #[test]
    fn captures_code_and_output() {
        let done =
            sh("echo out; echo err >&2; cat; exit 6", Some(b"in\n"), Duration::from_secs(10));
        assert_eq!(done.exit, Exit::Code(6));
        assert_eq!(done.stdout, b"out\nin\n");
        assert_eq!(done.stderr, b"err\n");
    }

    #[test]
    fn environment_is_clean() {
        let done = sh("env | sort", None, Duration::from_secs(10));
        let env = String::from_utf8_lossy(&done.stdout);
        // dash adds PWD on its own; nothing of ours leaks in.
        assert!(env.lines().all(|l| l.starts_with("PATH=") || l.starts_with("PWD=")), "{env}");
    }

    #[test]
    fn kills_whole_group_at_deadline() {
        // The background sleep holds stdout open; with pipes this would block for 30 s.
        let done = sh("sleep 30 & echo $!; sleep 30", None, Duration::from_millis(300));
        assert_eq!(done.exit, Exit::Killed);
        assert!(done.elapsed < Duration::from_secs(5), "{:?}", done.elapsed);
        let pid = String::from_utf8_lossy(&done.stdout).trim().to_owned();
        assert!(!pid.is_empty(), "the shell printed the background pid");
        // Gone, or a zombie waiting for an init that may not reap promptly. SIGKILL is delivered
        // asynchronously, so give the kernel a moment.
        let dead = || {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            state.is_empty() || state.contains(") Z ")
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        while !dead() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(dead(), "background sleep {pid} survived the group kill");
    }

    #[test]
    fn resolves_in_given_path() {
        assert_eq!(resolve("sh", "/nonexistent:/bin"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(resolve("sh", "/nonexistent"), None);
        assert_eq!(resolve("./x", ""), Some(PathBuf::from("./x")));
    }
}
