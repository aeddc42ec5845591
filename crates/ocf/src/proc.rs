//! Processes the agent started, found again through `/proc` (Linux only).
//!
//! The one safety rule: a pid is signalled only when it is provably the process the agent
//! started. A pid file left behind by a crash may name a pid the kernel has since given to an
//! unrelated process, which `kill -0` (what the shell agents use) would take for the daemon. So
//! the agent records, when it spawns a process, its pid **with** its start time (clock ticks
//! after boot, `/proc/<pid>/stat` field 22) and the boot id: together they name one process for
//! good ([`PidRecord`], [`identify`]). A process the agent has no such record of (a pid file
//! written by hand, or a server started before the record existed) is for the agent to judge,
//! conservatively, through the `unrecorded` check it passes to [`find`].
//!
//! [`terminate`] is the one TERM → bounded wait → KILL sequence, and [`pids`] the one walk over
//! `/proc`.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::{Deadline, OcfError};

/// A `/proc` text that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProcError(String);

/// The fields of `/proc/<pid>/stat` the agents need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// State letter: R, S, D, T (stopped), t, Z (zombie), X, I.
    pub state: char,
    /// Start time, clock ticks after boot.
    pub start: u64,
}

impl Stat {
    /// Not a zombie or dead: the process still runs (or sleeps, or is stopped).
    pub fn alive(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }

    /// Stopped by a signal (SIGSTOP) or a tracer.
    pub fn stopped(&self) -> bool {
        matches!(self.state, 'T' | 't')
    }
}

/// Parse `/proc/<pid>/stat`. The command name may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<Stat, ProcError> {
    let bad = |what: &str| ProcError(format!("/proc stat line without {what}"));
    let rest = text.rfind(')').map(|i| &text[i + 1..]).ok_or_else(|| bad("')'"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first().and_then(|s| s.chars().next()).ok_or_else(|| bad("a state"))?;
    // Field 22 of the line is index 19 after the state (field 3).
    let start = fields.get(19).and_then(|s| s.parse().ok()).ok_or_else(|| bad("a start time"))?;
    Ok(Stat { state, start })
}

/// `/proc/<pid>/stat`, or `None` when there is no such process.
pub fn stat(pid: i32) -> Option<Stat> {
    fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|t| parse_stat(&t).ok())
}

/// This boot's id, to tell this boot's start times from an earlier one's.
pub fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_owned())
}

/// Whether `pid` still exists as the process that started at `start` (a zombie counts as gone).
pub fn alive(pid: i32, start: u64) -> bool {
    stat(pid).is_some_and(|s| s.start == start && s.alive())
}

/// When a process started, as wall-clock time (boot time plus its start ticks); `None` when
/// `/proc/stat` or the clock-tick rate cannot be read. Accurate to about a second.
pub fn started_at(st: &Stat) -> Option<SystemTime> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let btime = text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse::<u64>().ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    let since_boot = Duration::from_secs(st.start / hz)
        + Duration::from_nanos((st.start % hz) * 1_000_000_000 / hz);
    Some(UNIX_EPOCH + Duration::from_secs(btime) + since_boot)
}

/// Every pid in `/proc` except this process's own.
pub fn pids() -> impl Iterator<Item = i32> {
    let me = i32::try_from(std::process::id()).unwrap_or_default();
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(move |p| *p != me)
}

/// What a pid file says: the pid and, when the agent wrote it, the process start time and the
/// boot id, which together name one process for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidRecord {
    /// The pid.
    pub pid: i32,
    /// Start time, clock ticks after boot (`None` in a pid file written by someone else).
    pub start: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id` when written.
    pub boot: Option<String>,
}

impl fmt::Display for PidRecord {
    /// First line the bare pid (what other tools expect), then `start=… boot=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.pid)?;
        if let (Some(start), Some(boot)) = (self.start, &self.boot) {
            writeln!(f, "start={start} boot={boot}")?;
        }
        Ok(())
    }
}

impl PidRecord {
    /// The record of `pid` as it runs now (right after spawning it).
    pub fn of(pid: i32) -> PidRecord {
        PidRecord { pid, start: stat(pid).map(|s| s.start), boot: boot_id() }
    }

    /// Parse a pid file written by [`PidRecord::write`] or by anyone else (a bare pid).
    pub fn parse(text: &str) -> Result<PidRecord, ProcError> {
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("").trim();
        let pid = match first.parse::<i32>() {
            Ok(p) if p > 1 => p,
            _ => return Err(ProcError(format!("'{first}' is not a process id"))),
        };
        let mut rec = PidRecord { pid, start: None, boot: None };
        for word in lines.flat_map(str::split_whitespace) {
            match word.split_once('=') {
                Some(("start", v)) => {
                    rec.start =
                        Some(v.parse().map_err(|_| ProcError(format!("bad start time '{v}'")))?);
                }
                Some(("boot", v)) => rec.boot = Some(v.to_owned()),
                _ => {}
            }
        }
        Ok(rec)
    }

    /// Write atomically (a temporary file, then rename), mode 0644, creating the directory.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(name);
        let mut f =
            OpenOptions::new().create(true).write(true).truncate(true).mode(0o644).open(&tmp)?;
        f.write_all(self.to_string().as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    }
}

/// Remove a pid file; a missing one is fine.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What a pid file leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No pid file.
    NoPidfile,
    /// The pid file cannot be read or parsed.
    Unreadable(String),
    /// The recorded process is gone (or a zombie): a stale pid file.
    Gone(i32),
    /// The pid is alive but is another process (reused pid): a stale pid file; why.
    NotOurs(i32, String),
    /// Our process, as it is now.
    Ours(i32, Stat),
}

/// Decide whether the process `rec` names is ours, from its current `/proc` stat (`None`: no
/// such process) and this boot's id. A record with a start time and boot id decides alone;
/// a record without them (a bare pid) is judged by `unrecorded`, which gets the pid and says
/// why not.
pub fn identify(
    rec: &PidRecord,
    st: Option<Stat>,
    boot: Option<&str>,
    unrecorded: impl FnOnce(i32, &Stat) -> Result<(), String>,
) -> Found {
    let pid = rec.pid;
    let Some(st) = st.filter(Stat::alive) else { return Found::Gone(pid) };
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
            Found::Ours(pid, st)
        }
        _ => match unrecorded(pid, &st) {
            Ok(()) => Found::Ours(pid, st),
            Err(why) => Found::NotOurs(pid, why),
        },
    }
}

/// Read the pid file at `path` and [`identify`] the process it names.
pub fn find(path: &Path, unrecorded: impl FnOnce(i32, &Stat) -> Result<(), String>) -> Found {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Found::NoPidfile,
        Err(e) => return Found::Unreadable(e.to_string()),
    };
    match PidRecord::parse(&text) {
        Ok(rec) => identify(&rec, stat(rec.pid), boot_id().as_deref(), unrecorded),
        Err(e) => Found::Unreadable(e.to_string()),
    }
}

/// The path a process's link in `/proc` points to (`exe`, `cwd`, `fd/3`, …).
pub fn link(pid: i32, name: &str) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/{name}")).ok()
}

/// How a [`terminate`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It was gone already, or exited after SIGTERM.
    Term,
    /// It needed SIGKILL.
    Kill,
}

/// Signal the process group `pid` leads (a process the agent started in its own session or
/// group, so that the tool's children go too), or the process alone when it leads none. A group
/// id is the pid of its leader and is not reused while the group lives, so group `pid` can only
/// be this process's. ESRCH (already gone) is not an error.
fn signal(pid: i32, sig: Signal) -> nix::Result<()> {
    let r = match killpg(Pid::from_raw(pid), sig) {
        Err(Errno::ESRCH) => kill(Pid::from_raw(pid), sig),
        r => r,
    };
    match r {
        Err(Errno::ESRCH) => Ok(()),
        r => r,
    }
}

fn wait_gone(pid: i32, start: u64, deadline: &Deadline) -> bool {
    deadline.wait_for(Duration::from_millis(20), || (!alive(pid, start)).then_some(())).is_some()
}

/// Stop our process `name` (pid `pid`, started at tick `start`) and its process group: SIGCONT (a stopped process
/// cannot act on SIGTERM) and SIGTERM, wait up to `grace` but keep back a quarter of what
/// `deadline` leaves (at most 2 s) for SIGKILL, then SIGKILL and wait (at least 500 ms, so the
/// kernel can reap it even when the deadline is spent). Only a process that is still the one
/// started at `start` counts as there; `Err` only when it survives SIGKILL.
pub fn terminate(
    name: &str,
    pid: i32,
    start: u64,
    grace: Duration,
    deadline: &Deadline,
) -> Result<Ending, OcfError> {
    if !alive(pid, start) {
        return Ok(Ending::Term);
    }
    let _ = signal(pid, Signal::SIGCONT);
    if let Err(e) = signal(pid, Signal::SIGTERM) {
        log::warn!("SIGTERM to {name} (pid {pid}) failed: {e}");
    }
    let reserve = (deadline.remaining() / 4).min(Duration::from_secs(2));
    let term = deadline.sub(grace.min(deadline.remaining().saturating_sub(reserve)));
    if wait_gone(pid, start, &term) {
        log::info!("{name} (pid {pid}) exited after SIGTERM in {} ms", term.elapsed().as_millis());
        return Ok(Ending::Term);
    }
    log::warn!(
        "{name} (pid {pid}) still there {} ms after SIGTERM; sending SIGKILL",
        term.elapsed().as_millis()
    );
    kill_now(name, pid, start, deadline).map(|()| Ending::Kill)
}

/// SIGKILL our process `name` (pid `pid`, started at tick `start`) and its process group at
/// once, without SIGCONT or SIGTERM: for a process that hangs and must not run again (a hung
/// database primary that would otherwise finish commits after its role moved). Waits until it
/// is gone (at least 500 ms, so the kernel can reap it even when the deadline is spent); `Err`
/// only when it survives SIGKILL.
pub fn kill_now(name: &str, pid: i32, start: u64, deadline: &Deadline) -> Result<(), OcfError> {
    if !alive(pid, start) {
        return Ok(());
    }
    signal(pid, Signal::SIGKILL)
        .map_err(|e| OcfError::generic(format!("cannot SIGKILL {name} (pid {pid}): {e}")))?;
    let reap = if deadline.remaining() > Duration::from_millis(500) {
        *deadline
    } else {
        Deadline::after(Duration::from_millis(500))
    };
    if wait_gone(pid, start, &reap) {
        return Ok(());
    }
    Err(OcfError::generic(format!(
        "{name} (pid {pid}) is still there after SIGKILL (uninterruptible sleep?)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn rec(start: Option<u64>, boot: Option<&str>) -> PidRecord {
        PidRecord { pid: 42, start, boot: boot.map(str::to_owned) }
    }

    fn st(state: char, start: u64) -> Option<Stat> {
        Some(Stat { state, start })
    }

    fn never(_: i32, _: &Stat) -> Result<(), String> {
        Err("no record".into())
    }

    #[test]
    fn stat_lines() {
        let line = "4242 (ferroha-api) S 1 4242 4242 0 -1 4194560 300 0 0 0 1 2 0 0 20 0 2 0 \
                    987654 12345678 900 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0";
        assert_eq!(parse_stat(line).unwrap(), Stat { state: 'S', start: 987654 });
        let odd = "9 (a) b (c)) T 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(parse_stat(odd).unwrap(), Stat { state: 'T', start: 55 });
        assert!(parse_stat(odd).unwrap().stopped());
        assert!(parse_stat("9 (x) Z 1").is_err());
        assert!(parse_stat("garbage").is_err());
    }

    #[test]
    fn pid_files_round_trip() {
        let rec = PidRecord { pid: 4242, start: Some(123456), boot: Some("b-1".into()) };
        let text = rec.to_string();
        assert_eq!(text, "4242\nstart=123456 boot=b-1\n");
        assert_eq!(PidRecord::parse(&text).unwrap(), rec);
        assert_eq!(
            PidRecord::parse(" 77 \n").unwrap(),
            PidRecord { pid: 77, start: None, boot: None }
        );
        assert!(PidRecord::parse("").is_err());
        assert!(PidRecord::parse("abc").is_err());
        assert!(PidRecord::parse("1\n").is_err(), "pid 1 is never ours");
        assert!(PidRecord::parse("-5").is_err());
        assert!(PidRecord::parse("5\nstart=x").is_err());
    }

    #[test]
    fn identity_by_start_time_and_boot() {
        let r = rec(Some(100), Some("b"));
        assert!(matches!(identify(&r, st('S', 100), Some("b"), never), Found::Ours(42, _)));
        assert!(matches!(identify(&r, st('T', 100), Some("b"), never), Found::Ours(42, _)));
        let reused = identify(&r, st('S', 101), Some("b"), |_, _| Ok(()));
        assert!(matches!(reused, Found::NotOurs(42, _)), "a reused pid, whatever else says");
        assert!(matches!(identify(&r, st('S', 100), Some("c"), never), Found::NotOurs(42, _)));
        assert_eq!(identify(&r, None, Some("b"), never), Found::Gone(42));
        assert_eq!(identify(&r, st('Z', 100), Some("b"), never), Found::Gone(42));
    }

    #[test]
    fn a_bare_pid_is_judged_by_the_caller() {
        let r = rec(None, None);
        assert!(matches!(identify(&r, st('S', 5), Some("b"), |_, _| Ok(())), Found::Ours(42, _)));
        assert_eq!(
            identify(&r, st('S', 5), Some("b"), never),
            Found::NotOurs(42, "no record".into())
        );
        assert_eq!(identify(&r, None, Some("b"), |_, _| Ok(())), Found::Gone(42));
    }

    #[test]
    fn records_are_written_atomically_and_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.pid");
        let me = i32::try_from(std::process::id()).unwrap();
        PidRecord::of(me).write(&p).unwrap();
        let files = fs::read_dir(p.parent().unwrap()).unwrap().count();
        assert_eq!(files, 1, "no temporary left");
        assert!(matches!(find(&p, never), Found::Ours(pid, _) if pid == me));
        remove(&p).unwrap();
        remove(&p).unwrap();
        assert_eq!(find(&p, never), Found::NoPidfile);
        fs::write(&p, "junk").unwrap();
        assert!(matches!(find(&p, never), Found::Unreadable(_)));
    }

    #[test]
    fn own_process_walk_and_start() {
        let me = i32::try_from(std::process::id()).unwrap();
        let st = stat(me).unwrap();
        assert!(alive(me, st.start));
        assert!(!alive(me, st.start + 1));
        assert!(!pids().any(|p| p == me), "the walk skips this process");
        assert!(pids().any(|p| p == 1));
        let started = started_at(&st).unwrap();
        let age = SystemTime::now().duration_since(started).unwrap_or_default();
        assert!(age < Duration::from_secs(3600), "this test process started {age:?} ago");
    }

    #[test]
    fn terminate_term_then_kill() {
        let deadline = Deadline::after(Duration::from_secs(10));
        let mut polite = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = i32::try_from(polite.id()).unwrap();
        let start = stat(pid).unwrap().start;
        // Reap in the background so the exited child does not stay a zombie counted alive.
        let reaper = std::thread::spawn(move || polite.wait());
        let ended = terminate("sleep", pid, start, Duration::MAX, &deadline);
        assert_eq!(ended.unwrap(), Ending::Term);
        reaper.join().unwrap().unwrap();

        // SIGTERM ignored by the shell stays ignored in the sleep it execs (same pid).
        let mut stubborn = Command::new("/bin/sh")
            .args(["-c", "trap '' TERM; echo; exec sleep 30"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The empty line comes once SIGTERM is ignored.
        let mut line = String::new();
        let out = stubborn.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
        let pid = i32::try_from(stubborn.id()).unwrap();
        let start = stat(pid).unwrap().start;
        let reaper = std::thread::spawn(move || stubborn.wait());
        let grace = Duration::from_millis(200);
        assert_eq!(terminate("sleep", pid, start, grace, &deadline).unwrap(), Ending::Kill);
        reaper.join().unwrap().unwrap();
        assert_eq!(
            terminate("sleep", pid, start, grace, &deadline).unwrap(),
            Ending::Term,
            "a pid that is not the process started at `start` is never signalled"
        );
    }

    /// A stopped process is killed as it is: it never runs again (no SIGCONT, so a trap on
    /// SIGCONT never fires).
    #[test]
    fn kill_now_never_lets_a_stopped_process_run() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let mut hung = Command::new("/bin/sh")
            .args(["-c", "trap 'touch \"$0\"' CONT; echo; while :; do sleep 1; done"])
            .arg(&mark)
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        let out = hung.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
        let pid = i32::try_from(hung.id()).unwrap();
        let start = stat(pid).unwrap().start;
        signal(pid, Signal::SIGSTOP).unwrap();
        let reaper = std::thread::spawn(move || hung.wait());
        kill_now("sh", pid, start, &Deadline::after(Duration::from_secs(10))).unwrap();
        reaper.join().unwrap().unwrap();
        assert!(!alive(pid, start));
        assert!(!mark.exists(), "the stopped process ran again (SIGCONT)");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_stat_text_parses_or_is_refused(text in any::<String>()) {
                let _ = parse_stat(&text);
            }

            /// Whatever the command name holds (spaces, parentheses, newlines), the state and
            /// start time are the fields after its closing parenthesis.
            #[test]
            fn stat_fields_are_counted_from_the_last_parenthesis(
                comm in "[^\u{0}]{0,16}",
                state in "[RSDTtZXI]",
                between in prop::collection::vec(any::<u32>(), 18),
                start in any::<u64>(),
            ) {
                let between: Vec<String> = between.iter().map(u32::to_string).collect();
                let line = format!("42 ({comm}) {state} {} {start} 4096 17\n", between.join(" "));
                let state = state.chars().next().unwrap();
                prop_assert_eq!(parse_stat(&line), Ok(Stat { state, start }));
            }

            #[test]
            fn any_pid_file_parses_or_is_refused(text in any::<String>()) {
                if let Ok(rec) = PidRecord::parse(&text) {
                    prop_assert!(rec.pid > 1, "pid 1 and below are never ours: {:?}", rec);
                }
            }

            #[test]
            fn written_records_read_back(
                pid in 2..=i32::MAX,
                start in any::<u64>(),
                boot in "[0-9a-f-]{1,36}",
            ) {
                let rec = PidRecord { pid, start: Some(start), boot: Some(boot) };
                prop_assert_eq!(PidRecord::parse(&rec.to_string()), Ok(rec.clone()));
                let bare = PidRecord { pid, start: None, boot: None };
                prop_assert_eq!(PidRecord::parse(&bare.to_string()), Ok(bare));
            }

            /// The safety rule: a recorded process is ours exactly when it is alive, started at
            /// the recorded tick and in the recorded boot; no `unrecorded` check overrides it.
            #[test]
            fn a_recorded_process_is_ours_only_with_its_start_and_boot(
                recorded in 0u64..4,
                now in 0u64..4,
                state in "[RSDTtZXI]",
                rec_boot in "[ab]",
                boot in "[ab]",
            ) {
                let rec = PidRecord { pid: 42, start: Some(recorded), boot: Some(rec_boot.clone()) };
                let state = state.chars().next().unwrap();
                let found = identify(&rec, st(state, now), Some(&boot), |_, _| Ok(()));
                let alive = !matches!(state, 'Z' | 'X');
                let ours = matches!(found, Found::Ours(42, _));
                prop_assert_eq!(ours, alive && recorded == now && rec_boot == boot);
            }
        }
    }
}
