//! The mariadbd process: started detached by the agent, found again, stopped with TERM then
//! KILL ([`ocf::proc::terminate`]).
//!
//! When the agent starts mariadbd it records the pid with its start time and boot id
//! ([`ocf::proc::PidRecord`]) next to the state file; only that process is ever signalled, so a
//! reused pid never is. A server running without such a record (the state directory was lost,
//! or an earlier version of the agent started it) is taken for ours only when its command line
//! names our `--datadir` and `--pid-file` **and** it started before mariadbd's own pid file
//! was written, as the server that wrote it did (a pid reused after that started later); it is
//! then recorded, so from the next action on the strict rule applies.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use ocf::proc::{self, Ending, Found, PidRecord, Stat};
use ocf::{Ctx, Deadline, OcfError};

use crate::config::Config;
use crate::db::Db;

/// Our running server: its pid and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) pid: i32,
    pub(crate) start: u64,
}

/// Where the server is and where the agent keeps its record of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Server<'a> {
    /// mariadbd's own pid file (`--pid-file`).
    pub(crate) pid_file: &'a str,
    /// `--datadir`.
    pub(crate) datadir: &'a str,
    /// The agent's record of the process it started.
    pub(crate) record: &'a Path,
}

impl Server<'_> {
    /// Our mariadbd, if it runs.
    pub(crate) fn running(&self) -> Option<Running> {
        let no_record = |_: i32, _: &Stat| Err("the record has no start time".to_owned());
        match proc::find(self.record, no_record) {
            Found::Ours(pid, st) => return Some(Running { pid, start: st.start }),
            Found::NotOurs(pid, why) => log::info!("recorded pid {pid} is not our server: {why}"),
            _ => {}
        }
        let Found::Ours(pid, st) =
            proc::find(Path::new(self.pid_file), |pid, st| self.unrecorded(pid, st))
        else {
            return None;
        };
        log::info!("mariadbd (pid {pid}) runs without the agent's record of it; recording it");
        let rec = PidRecord { pid, start: Some(st.start), boot: proc::boot_id() };
        if let Err(e) = rec.write(self.record) {
            log::warn!("cannot write {}: {e}", self.record.display());
        }
        Some(Running { pid, start: st.start })
    }

    /// The conservative check for a server without our record.
    fn unrecorded(&self, pid: i32, st: &Stat) -> Result<(), String> {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !cmdline_is_ours(&cmdline, self.datadir, self.pid_file) {
            return Err(format!("process {pid} is not mariadbd on our datadir and pid file"));
        }
        let written = fs::metadata(self.pid_file).and_then(|m| m.modified()).ok();
        match (proc::started_at(st), written) {
            (Some(started), Some(written)) if started_before(started, written) => Ok(()),
            (Some(_), Some(_)) => {
                Err(format!("process {pid} started after {} was written", self.pid_file))
            }
            _ => Err(format!("cannot tell when process {pid} started")),
        }
    }

    /// Record the server this action just spawned.
    pub(crate) fn record(&self, pid: i32) -> Option<Running> {
        let rec = PidRecord::of(pid);
        if let Err(e) = rec.write(self.record) {
            log::warn!("cannot write {}: {e}", self.record.display());
        }
        rec.start.map(|start| Running { pid, start })
    }

    /// Stop it: TERM, wait for what the deadline leaves (less a reserve for KILL), KILL; then
    /// forget the record.
    pub(crate) fn stop(&self, r: Running, deadline: &Deadline) -> Result<(), OcfError> {
        let how = proc::terminate("mariadbd", r.pid, r.start, Duration::MAX, deadline)?;
        let with = if how == Ending::Kill { " with SIGKILL" } else { "" };
        log::info!("mariadbd (pid {}) stopped{with}", r.pid);
        self.forget();
        Ok(())
    }

    /// Remove the record (the server is gone).
    pub(crate) fn forget(&self) {
        let _ = proc::remove(self.record);
    }
}

/// The local server answers SQL within `hung_timeout` (login and one query): its session, or
/// why not.
pub(crate) fn answers(cfg: &Config, ctx: &Ctx) -> Result<Db, String> {
    let t = cfg.hung_timeout.min(ctx.deadline.remaining());
    let mut db = Db::local(&cfg.socket, &cfg.local, t).map_err(|e| e.to_string())?;
    db.role_and_pos().map_err(|e| e.to_string())?;
    Ok(db)
}

/// End a server that does not answer SQL: SIGKILL at once, never SIGCONT or SIGTERM (a hung
/// primary resumed would finish commits, and acknowledge them, after its role moved); then
/// forget the record.
pub(crate) fn kill_hung(
    cfg: &Config,
    ctx: &Ctx,
    r: Running,
    action: &str,
    why: &str,
) -> Result<(), OcfError> {
    log::error!(
        "{action}: mariadbd (pid {}) does not answer SQL within {} s ({why}): SIGKILL",
        r.pid,
        cfg.hung_timeout.as_secs()
    );
    proc::kill_now("mariadbd", r.pid, r.start, &ctx.deadline)?;
    cfg.server().forget();
    Ok(())
}

/// Wait until the server this start spawned answers SQL over its socket; fail with the last
/// line of its error log when it exits first or the start timeout comes.
pub(crate) fn wait_for_sql(
    cfg: &Config,
    ctx: &Ctx,
    pid: i32,
    running: Option<Running>,
) -> Result<Db, OcfError> {
    let mut last = String::new();
    let got = ctx.deadline.wait_for(Duration::from_millis(100), || {
        if !running.is_some_and(|r| proc::alive(r.pid, r.start)) {
            return Some(Err(()));
        }
        match Db::local(
            &cfg.socket,
            &cfg.local,
            Duration::from_secs(2).min(ctx.deadline.remaining()),
        ) {
            Ok(db) => Some(Ok(db)),
            Err(e) => {
                last = e.to_string();
                None
            }
        }
    });
    let tail = || log_tail(Path::new(&cfg.log)).map(|l| format!(" (log: {l})")).unwrap_or_default();
    match got {
        Some(Ok(db)) => Ok(db),
        Some(Err(())) => Err(OcfError::generic(format!("mariadbd exited during start{}", tail()))),
        None => Err(OcfError::generic(format!(
            "mariadbd (pid {pid}) did not answer SQL over {} before the start timeout: {last}{}",
            cfg.socket,
            tail()
        ))),
    }
}

/// A `/proc/<pid>/cmdline` (NUL-separated) belongs to our server: it has our `--datadir=` and
/// `--pid-file=` arguments.
pub(crate) fn cmdline_is_ours(cmdline: &[u8], datadir: &str, pid_file: &str) -> bool {
    let want_dd = format!("--datadir={datadir}");
    let want_pid = format!("--pid-file={pid_file}");
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.contains(&want_dd.as_bytes()) && args.contains(&want_pid.as_bytes())
}

/// The process started before the pid file was written, allowing for the second or so of
/// imprecision of a start time computed from the boot time.
pub(crate) fn started_before(started: SystemTime, written: SystemTime) -> bool {
    started <= written + Duration::from_secs(2)
}

/// Start `binary args…` detached from the agent (own process group, no inherited output).
pub(crate) fn spawn(binary: &str, args: &[String]) -> std::io::Result<u32> {
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

/// The last non-empty line of the error log, for exit reasons when the server dies at start.
pub(crate) fn log_tail(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().rev().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_process_younger_than_the_pid_file_did_not_write_it() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(started_before(t, t + Duration::from_secs(30)), "started, then wrote");
        assert!(started_before(t + Duration::from_secs(1), t), "within the imprecision");
        assert!(!started_before(t + Duration::from_secs(60), t), "a reused pid");
    }

    /// A live process that is not mariadbd is never taken for it, recorded or not.
    #[test]
    fn only_our_server_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("db.pid");
        let pid_file = dir.path().join("mariadbd.pid");
        let me = i32::try_from(std::process::id()).unwrap();
        fs::write(&pid_file, format!("{me}\n")).unwrap();
        let pid_file = pid_file.to_str().unwrap();
        let server = Server { pid_file, datadir: "/nonexistent", record: &record };
        assert_eq!(server.running(), None, "a bare pid whose command line is not ours");
        assert!(!record.exists());
        let recorded = server.record(me).unwrap();
        assert_eq!(server.running(), Some(recorded), "the recorded process");
        fs::write(&record, format!("{me}\nstart={} boot=x\n", recorded.start)).unwrap();
        assert_eq!(server.running(), None, "a record from another boot");
        server.forget();
        assert!(!record.exists());
    }
}
