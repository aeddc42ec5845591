//! The daemon as a process: spawning it detached, and the two identity checks that are this
//! agent's own: a hand-written pid file (no start time) names the daemon only when the process
//! runs `binary`, and a daemon that lost its pid file is found by executable and arguments.
//! The pid record, its start-time identity and TERM → KILL are [`ocf::proc`]'s.

// `pre_exec` is the only way to call setsid/setgroups/setgid/setuid in the child between fork
// and exec; the closure makes only async-signal-safe system calls (no allocation, no locks).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::unistd::{Gid, Uid};
use ocf::proc::{self, Found};

/// The identity to run the daemon as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    /// User name (for messages).
    pub(crate) name: String,
    /// uid.
    pub(crate) uid: Uid,
    /// Primary gid.
    pub(crate) gid: Gid,
    /// Supplementary groups (from /etc/group).
    pub(crate) groups: Vec<Gid>,
    /// Home directory (for `HOME`).
    pub(crate) home: String,
}

/// Everything needed to start the daemon.
#[derive(Clone, Debug)]
pub(crate) struct Launch<'a> {
    /// Executable.
    pub(crate) binary: &'a Path,
    /// Arguments.
    pub(crate) args: &'a [String],
    /// Working directory.
    pub(crate) workdir: &'a Path,
    /// The complete environment.
    pub(crate) env: &'a [(String, String)],
    /// stdout and stderr go here (appended).
    pub(crate) logfile: &'a Path,
    /// Run as this user (None: as the agent's user).
    pub(crate) user: Option<&'a RunAs>,
}

/// Spawn detached: its own session (so it outlives the agent and Pacemaker's process group,
/// and its group can be signalled as a whole), stdin from /dev/null, output to the log file.
pub(crate) fn spawn(l: &Launch<'_>) -> io::Result<Child> {
    let log = OpenOptions::new().create(true).append(true).mode(0o640).open(l.logfile)?;
    let mut cmd = Command::new(l.binary);
    cmd.args(l.args)
        .current_dir(l.workdir)
        .env_clear()
        .envs(l.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let user = l.user.cloned();
    // SAFETY: between fork and exec only async-signal-safe system calls are made: setsid,
    // setgroups, setgid, setuid. `user` (and its Vec) was built before the fork; nothing is
    // allocated or locked in the child.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            if let Some(u) = &user {
                nix::unistd::setgroups(&u.groups)?;
                nix::unistd::setgid(u.gid)?;
                nix::unistd::setuid(u.uid)?;
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// A pid file without a start time (written by hand) names the daemon only when the process
/// runs `binary`; `exe` is what `/proc/<pid>/exe` points to.
pub(crate) fn runs_binary(
    pid: i32,
    exe: Option<&Path>,
    binary: Option<&Path>,
) -> Result<(), String> {
    let want = binary.and_then(|b| std::fs::canonicalize(b).ok());
    match (exe, want) {
        (Some(e), Some(w)) if same_exe(e, &w) => Ok(()),
        (e, _) => Err(format!(
            "process {pid} runs {}",
            e.map_or_else(|| "an unknown program".into(), |p| p.display().to_string())
        )),
    }
}

/// Read the pid file and identify the process it names (see [`runs_binary`]).
pub(crate) fn find(pidfile: &Path, binary: Option<&Path>) -> Found {
    proc::find(pidfile, |pid, _| runs_binary(pid, proc::link(pid, "exe").as_deref(), binary))
}

/// `/proc/<pid>/exe` reads "`<path>` (deleted)" after a package upgrade replaced the binary.
fn same_exe(exe: &Path, want: &Path) -> bool {
    exe == want || exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) == want.to_str()
}

/// Whether a NUL-separated `/proc/<pid>/cmdline` runs with exactly `args` after argv\[0\].
pub(crate) fn argv_matches(cmdline: &[u8], args: &[String]) -> bool {
    let mut words = cmdline.strip_suffix(b"\0").unwrap_or(cmdline).split(|b| *b == 0);
    words.next().is_some_and(|argv0| !argv0.is_empty())
        && words.eq(args.iter().map(|a| a.as_bytes()))
}

/// Live processes running `binary` with exactly `args`: the daemon when its pid file was lost
/// or names something else. Only consulted when the pid file does not lead to it, so that
/// "not running" (7) is reported only when the daemon is definitely gone.
pub(crate) fn orphans(binary: &Path, args: &[String]) -> Vec<i32> {
    let Ok(want) = std::fs::canonicalize(binary) else { return Vec::new() };
    // A daemon in another network namespace (a container, or another node of a namespace lab
    // sharing this PID namespace) is not this node's, even with the same binary and arguments.
    let my_net = std::fs::read_link("/proc/self/ns/net").ok();
    proc::pids()
        .filter(|&pid| proc::link(pid, "exe").is_some_and(|exe| same_exe(&exe, &want)))
        .filter(|&pid| my_net.is_none() || proc::link(pid, "ns/net") == my_net)
        .filter(|&pid| proc::stat(pid).is_some_and(|s| s.alive()))
        .filter(|&pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            argv_matches(&cmdline, args)
        })
        .collect()
}

/// Open the log file as the agent, to fail start early with a clear reason.
pub(crate) fn check_logfile(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_bare_pid_is_ours_only_when_it_runs_the_binary() {
        let sh = std::fs::canonicalize("/bin/sh").unwrap();
        let binary = Some(Path::new("/bin/sh"));
        assert_eq!(runs_binary(42, Some(&sh), binary), Ok(()));
        let deleted = PathBuf::from(format!("{} (deleted)", sh.display()));
        assert_eq!(runs_binary(42, Some(&deleted), binary), Ok(()), "binary replaced by upgrade");
        assert_eq!(
            runs_binary(42, Some(Path::new("/usr/bin/other")), binary),
            Err("process 42 runs /usr/bin/other".into())
        );
        assert!(runs_binary(42, None, binary).is_err());
        assert!(runs_binary(42, Some(&sh), None).is_err(), "no binary configured: never ours");
    }

    #[test]
    fn command_lines() {
        let args = vec!["--config".to_owned(), "/etc/a b.conf".to_owned()];
        assert!(argv_matches(b"/usr/bin/api\0--config\0/etc/a b.conf\0", &args));
        assert!(!argv_matches(b"/usr/bin/api\0--config\0/etc/other.conf\0", &args));
        assert!(!argv_matches(b"/usr/bin/api\0--config\0/etc/a b.conf\0-v\0", &args));
        assert!(!argv_matches(b"/usr/bin/api\0--config\0", &args));
        assert!(argv_matches(b"/usr/bin/api\0", &[]));
        assert!(!argv_matches(b"", &[]));
    }

    #[test]
    fn finds_a_running_program_by_executable_and_arguments() {
        // An argument no other test process on this machine uses.
        let arg = format!("3{}.5", std::process::id() % 100_000);
        let other_arg = format!("{arg}1");
        let mut child = std::process::Command::new("/usr/bin/sleep").arg(&arg).spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let sleep = Path::new("/usr/bin/sleep");
        // spawn() returns once the kernel has switched the child to sleep's memory, which can
        // be before exec has copied the arguments there: /proc/<pid>/cmdline is empty until
        // then. Wait for them.
        let t0 = std::time::Instant::now();
        while std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty())
            && t0.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let found = orphans(sleep, std::slice::from_ref(&arg));
        let other = orphans(sleep, &[other_arg]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, [pid]);
        assert!(!other.contains(&pid));
        assert!(!orphans(sleep, &[arg]).contains(&pid), "reaped");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// A command line matches exactly the arguments it was started with, after any
            /// argv[0]; one argument more, less or different does not.
            #[test]
            fn command_lines_match_exactly_their_arguments(
                argv0 in "[^\u{0}]{1,12}",
                args in prop::collection::vec("[^\u{0}]{0,8}", 0..4),
                other in prop::collection::vec("[^\u{0}]{0,8}", 0..4),
            ) {
                let cmdline: Vec<u8> = std::iter::once(&argv0).chain(&args).flat_map(|a| a.bytes().chain([0])).collect();
                prop_assert!(argv_matches(&cmdline, &args));
                prop_assert_eq!(argv_matches(&cmdline, &other), args == other);
            }

            #[test]
            fn any_cmdline_bytes_are_judged(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
                let _ = argv_matches(&bytes, &["--config".to_owned()]);
            }
        }
    }
}
