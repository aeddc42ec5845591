//! The daemon as a process: spawning it detached, recognising it again from the pid file,
//! signalling its process group and waiting for it to go.
//!
//! Identity is the pid **and** its start time (and the boot id): a pid file left behind by a
//! crash may name a pid the kernel has since given to an unrelated process, which `kill -0`
//! (what `ocf:heartbeat:anything` uses) would take for the daemon.

// `pre_exec` is the only way to call setsid/setgroups/setgid/setuid in the child between fork
// and exec; the closure makes only async-signal-safe system calls (no allocation, no locks).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Gid, Pid, Uid};
use ocf::Deadline;

use crate::settings::{PidRecord, Stat, parse_pidfile, parse_stat};

/// The identity to run the daemon as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// User name (for messages).
    pub name: String,
    /// uid.
    pub uid: Uid,
    /// Primary gid.
    pub gid: Gid,
    /// Supplementary groups (from /etc/group).
    pub groups: Vec<Gid>,
    /// Home directory (for `HOME`).
    pub home: String,
}

/// Everything needed to start the daemon.
#[derive(Clone, Debug)]
pub struct Launch<'a> {
    /// Executable.
    pub binary: &'a Path,
    /// Arguments.
    pub args: &'a [String],
    /// Working directory.
    pub workdir: &'a Path,
    /// The complete environment.
    pub env: &'a [(String, String)],
    /// stdout and stderr go here (appended).
    pub logfile: &'a Path,
    /// Run as this user (None: as the agent's user).
    pub user: Option<&'a RunAs>,
}

/// Spawn detached: its own session (so it outlives the agent and Pacemaker's process group,
/// and its group can be signalled as a whole), stdin from /dev/null, output to the log file.
pub fn spawn(l: &Launch<'_>) -> io::Result<Child> {
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

/// The boot id, to tell this boot's start times from an earlier one's.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_owned())
}

/// `/proc/<pid>/stat`, or None when there is no such process.
pub fn stat(pid: i32) -> Option<Stat> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|t| parse_stat(&t).ok())
}

/// The record to write for a freshly spawned process.
pub fn record(pid: i32) -> PidRecord {
    PidRecord { pid, start: stat(pid).map(|s| s.start), boot: boot_id() }
}

/// Write the pid file atomically (temporary file, then rename), mode 0644.
pub fn write_pidfile(path: &Path, rec: &PidRecord) -> io::Result<()> {
    let tmp = tmp_path(path);
    let mut f =
        OpenOptions::new().create(true).write(true).truncate(true).mode(0o644).open(&tmp)?;
    io::Write::write_all(&mut f, rec.to_string().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Remove the pid file; a missing one is fine.
pub fn remove_pidfile(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What the pid file leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No pid file.
    NoPidfile,
    /// The pid file cannot be read or parsed.
    Unreadable(String),
    /// The recorded process is gone (or a zombie): a stale pid file.
    Gone(i32),
    /// The pid is alive but is another process (reused pid): a stale pid file.
    NotOurs(i32, String),
    /// Our daemon, with its state letter.
    Ours(i32, char),
}

/// Decide whether the recorded process is ours: same start time (and boot) when the record has
/// them, otherwise (a hand-written pid file) the same executable.
pub fn identify(
    rec: &PidRecord,
    st: Option<Stat>,
    boot: Option<&str>,
    exe: impl FnOnce() -> Option<PathBuf>,
    binary: Option<&Path>,
) -> Found {
    let pid = rec.pid;
    let Some(st) = st else { return Found::Gone(pid) };
    if matches!(st.state, 'Z' | 'X') {
        return Found::Gone(pid);
    }
    match (rec.start, rec.boot.as_deref()) {
        (Some(start), Some(b)) => {
            if boot.is_some_and(|now| now != b) {
                return Found::NotOurs(pid, "the pid file is from an earlier boot".to_owned());
            }
            if st.start != start {
                return Found::NotOurs(
                    pid,
                    format!("process {pid} started at tick {}, not {start}", st.start),
                );
            }
            Found::Ours(pid, st.state)
        }
        _ => {
            let exe = exe();
            let want = binary.and_then(|b| std::fs::canonicalize(b).ok());
            match (exe, want) {
                (Some(e), Some(w)) if same_exe(&e, &w) => Found::Ours(pid, st.state),
                (e, _) => Found::NotOurs(
                    pid,
                    format!(
                        "process {pid} runs {}",
                        e.map(|p| p.display().to_string())
                            .unwrap_or_else(|| "an unknown program".into())
                    ),
                ),
            }
        }
    }
}

/// `/proc/<pid>/exe` reads "<path> (deleted)" after a package upgrade replaced the binary.
fn same_exe(exe: &Path, want: &Path) -> bool {
    exe == want || exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) == want.to_str()
}

/// Read the pid file and identify the process it names.
pub fn find(pidfile: &Path, binary: Option<&Path>) -> Found {
    let text = match std::fs::read_to_string(pidfile) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Found::NoPidfile,
        Err(e) => return Found::Unreadable(e.to_string()),
    };
    let rec = match parse_pidfile(&text) {
        Ok(r) => r,
        Err(e) => return Found::Unreadable(e.0),
    };
    let pid = rec.pid;
    identify(
        &rec,
        stat(pid),
        boot_id().as_deref(),
        || std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
        binary,
    )
}

/// Whether `pid` still exists as the process that started at `start` (zombies count as gone).
pub fn alive(pid: i32, start: u64) -> bool {
    stat(pid).is_some_and(|s| s.start == start && !matches!(s.state, 'Z' | 'X'))
}

/// Signal the daemon's process group (a daemon this agent started leads its own session, so
/// its group id is its pid); a process that leads no group (started by hand) is signalled
/// alone. ESRCH (already gone) is not an error.
pub fn signal_group(pid: i32, sig: Signal) -> nix::Result<()> {
    match killpg(Pid::from_raw(pid), sig) {
        Err(nix::errno::Errno::ESRCH) => match kill(Pid::from_raw(pid), sig) {
            Err(nix::errno::Errno::ESRCH) => Ok(()),
            r => r,
        },
        r => r,
    }
}

/// Poll until `pid` (with start time `start`) is gone, or `deadline` passes.
pub fn wait_gone(pid: i32, start: u64, deadline: &Deadline) -> bool {
    deadline.wait_for(Duration::from_millis(50), || (!alive(pid, start)).then_some(())).is_some()
}

/// Whether a NUL-separated `/proc/<pid>/cmdline` runs with exactly `args` after argv\[0\].
pub fn argv_matches(cmdline: &[u8], args: &[String]) -> bool {
    let mut words = cmdline.strip_suffix(b"\0").unwrap_or(cmdline).split(|b| *b == 0);
    words.next().is_some_and(|argv0| !argv0.is_empty())
        && words.eq(args.iter().map(|a| a.as_bytes()))
}

/// Live processes running `binary` with exactly `args`: the daemon when its pid file was lost
/// or names something else. Only consulted when the pid file does not lead to it, so that
/// "not running" (7) is reported only when the daemon is definitely gone.
pub fn orphans(binary: &Path, args: &[String]) -> Vec<i32> {
    let Ok(want) = std::fs::canonicalize(binary) else { return Vec::new() };
    let me = std::process::id() as i32;
    // A daemon in another network namespace (a container, or another node of a namespace lab
    // sharing this PID namespace) is not this node's, even with the same binary and arguments.
    let my_net = std::fs::read_link("/proc/self/ns/net").ok();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        if pid == me {
            continue;
        }
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else { continue };
        if !same_exe(&exe, &want) {
            continue;
        }
        if my_net.is_some() && std::fs::read_link(entry.path().join("ns/net")).ok() != my_net {
            continue;
        }
        let alive = stat(pid).is_some_and(|s| !matches!(s.state, 'Z' | 'X'));
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if alive && argv_matches(&cmdline, args) {
            found.push(pid);
        }
    }
    found
}

/// Open the log file as the agent, to fail start early with a clear reason.
pub fn check_logfile(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(start: Option<u64>, boot: Option<&str>) -> PidRecord {
        PidRecord { pid: 42, start, boot: boot.map(str::to_owned) }
    }

    fn st(state: char, start: u64) -> Option<Stat> {
        Some(Stat { state, start })
    }

    #[test]
    fn identity_by_start_time() {
        let r = rec(Some(100), Some("b"));
        assert_eq!(identify(&r, st('S', 100), Some("b"), || None, None), Found::Ours(42, 'S'));
        assert_eq!(identify(&r, st('T', 100), Some("b"), || None, None), Found::Ours(42, 'T'));
        assert!(matches!(
            identify(&r, st('S', 101), Some("b"), || None, None),
            Found::NotOurs(42, _)
        ));
        assert!(matches!(
            identify(&r, st('S', 100), Some("c"), || None, None),
            Found::NotOurs(42, _)
        ));
        assert_eq!(identify(&r, None, Some("b"), || None, None), Found::Gone(42));
        assert_eq!(identify(&r, st('Z', 100), Some("b"), || None, None), Found::Gone(42));
    }

    #[test]
    fn identity_of_a_bare_pid_by_executable() {
        let r = rec(None, None);
        let sh = std::fs::canonicalize("/bin/sh").unwrap();
        let same = sh.clone();
        assert_eq!(
            identify(&r, st('S', 5), None, || Some(same), Some(Path::new("/bin/sh"))),
            Found::Ours(42, 'S')
        );
        let deleted = PathBuf::from(format!("{} (deleted)", sh.display()));
        assert_eq!(
            identify(&r, st('S', 5), None, || Some(deleted), Some(Path::new("/bin/sh"))),
            Found::Ours(42, 'S')
        );
        let other = identify(
            &r,
            st('S', 5),
            None,
            || Some(PathBuf::from("/usr/bin/other")),
            Some(Path::new("/bin/sh")),
        );
        assert_eq!(other, Found::NotOurs(42, "process 42 runs /usr/bin/other".into()));
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
        let mut child = std::process::Command::new("/usr/bin/sleep").arg("30.5").spawn().unwrap();
        let pid = child.id() as i32;
        let sleep = Path::new("/usr/bin/sleep");
        let found = orphans(sleep, &["30.5".to_owned()]);
        let other = orphans(sleep, &["30.6".to_owned()]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, [pid]);
        assert!(!other.contains(&pid));
        assert!(!orphans(sleep, &["30.5".to_owned()]).contains(&pid), "reaped");
    }

    #[test]
    fn pid_files_are_written_atomically_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        let me = std::process::id() as i32;
        write_pidfile(&p, &record(me)).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left");
        assert!(matches!(find(&p, None), Found::Ours(pid, _) if pid == me));
        remove_pidfile(&p).unwrap();
        remove_pidfile(&p).unwrap();
        assert_eq!(find(&p, None), Found::NoPidfile);
        std::fs::write(&p, "junk").unwrap();
        assert!(matches!(find(&p, None), Found::Unreadable(_)));
    }
}
