//! The mariadbd process: find ours through the pid file and `/proc`, start it detached, stop it
//! with TERM then KILL. Only a process whose command line names our `--datadir` and
//! `--pid-file` is ever signalled.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ocf::Deadline;

/// The pid in a pid file's text.
pub fn parse_pid(text: &str) -> Option<i32> {
    text.trim().parse::<i32>().ok().filter(|p| *p > 1)
}

/// A `/proc/<pid>/cmdline` (NUL-separated) belongs to our server: it has our `--datadir=` and
/// `--pid-file=` arguments.
pub fn cmdline_is_ours(cmdline: &[u8], datadir: &str, pid_file: &str) -> bool {
    let want_dd = format!("--datadir={datadir}");
    let want_pid = format!("--pid-file={pid_file}");
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.contains(&want_dd.as_bytes()) && args.contains(&want_pid.as_bytes())
}

/// The state letter of `/proc/<pid>/stat` (after the parenthesised command name).
pub fn stat_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next())
}

fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat_state(&stat), Some('Z' | 'X') | None),
        Err(_) => false,
    }
}

/// Our mariadbd's pid, if it runs.
pub fn running_pid(pid_file: &str, datadir: &str) -> Option<i32> {
    let pid = parse_pid(&fs::read_to_string(pid_file).ok()?)?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    (cmdline_is_ours(&cmdline, datadir, pid_file) && alive(pid)).then_some(pid)
}

/// Start `binary args…` detached from the agent (own process group, no inherited output).
pub fn spawn(binary: &str, args: &[String]) -> std::io::Result<u32> {
    let child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}

/// Whether `pid` is still a live process (zombies count as gone).
pub fn is_alive(pid: i32) -> bool {
    alive(pid)
}

/// TERM, wait until `deadline` less a margin for KILL, then KILL and wait for it to go.
/// Returns true if KILL was needed.
pub fn stop(pid: i32, deadline: &Deadline) -> Result<bool, String> {
    let p = Pid::from_raw(pid);
    if let Err(e) = kill(p, Signal::SIGTERM) {
        if e == nix::errno::Errno::ESRCH {
            return Ok(false);
        }
        return Err(format!("cannot signal mariadbd (pid {pid}): {e}"));
    }
    let margin = Duration::from_secs(2).min(deadline.remaining() / 4);
    let term_deadline = Deadline::after(deadline.remaining().saturating_sub(margin));
    if term_deadline.wait_for(Duration::from_millis(50), || (!alive(pid)).then_some(())).is_some() {
        return Ok(false);
    }
    log::warn!("mariadbd (pid {pid}) still running after SIGTERM; sending SIGKILL");
    let _ = kill(p, Signal::SIGKILL);
    match deadline.wait_for(Duration::from_millis(20), || (!alive(pid)).then_some(())) {
        Some(()) => Ok(true),
        None => Err(format!("mariadbd (pid {pid}) survived SIGKILL")),
    }
}

/// The last non-empty line of the error log, for exit reasons when the server dies at start.
pub fn log_tail(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().rev().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_text() {
        assert_eq!(parse_pid("1234\n"), Some(1234));
        assert_eq!(parse_pid(""), None);
        assert_eq!(parse_pid("1"), None);
        assert_eq!(parse_pid("x"), None);
    }

    #[test]
    fn ownership_by_cmdline() {
        let ours =
            b"/usr/sbin/mariadbd\0--defaults-file=/e/my.cnf\0--datadir=/d\0--pid-file=/r/p\0";
        assert!(cmdline_is_ours(ours, "/d", "/r/p"));
        assert!(!cmdline_is_ours(ours, "/d2", "/r/p"));
        assert!(!cmdline_is_ours(b"/usr/sbin/mariadbd\0--datadir=/d\0", "/d", "/r/p"));
        assert!(!cmdline_is_ours(
            b"/usr/sbin/mariadbd\0--datadir=/d/x\0--pid-file=/r/p\0",
            "/d",
            "/r/p"
        ));
    }

    #[test]
    fn stat_states() {
        assert_eq!(stat_state("42 (mariadbd) S 1 42"), Some('S'));
        assert_eq!(stat_state("42 (a) b) Z 1"), Some('Z'));
        assert_eq!(stat_state("garbage"), None);
    }

    #[test]
    fn own_process_is_alive() {
        assert!(is_alive(std::process::id().cast_signed()));
    }
}
