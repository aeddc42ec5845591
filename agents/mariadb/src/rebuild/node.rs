//! What a rebuild does on one node's disk and processes: find out whether a server uses the
//! datadir, what the datadir holds, run a private server on a datadir (no network, its own
//! socket, pid file and error log, started with the agent's own arguments), and hand files to
//! the server's user.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ocf::{Ctx, Deadline};

use crate::config::Config;
use crate::db::Db;
use crate::server::{self, Server};

use super::facts;

/// A private directory for one run's sockets, pid files, logs and option files, owned by the
/// server's user (mode 0700) and removed with everything in it when dropped: it only ever holds
/// what this run put there.
#[derive(Debug)]
pub(crate) struct PrivDir {
    path: PathBuf,
}

impl PrivDir {
    pub(crate) fn new(cfg: &Config) -> Result<PrivDir, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "ferroha-rebuild-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let dir = PrivDir { path };
        std::os::unix::fs::chown(&dir.path, Some(cfg.uid), Some(cfg.gid))
            .map_err(|e| format!("cannot give {} to {}: {e}", dir.path.display(), cfg.user))?;
        Ok(dir)
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub(crate) fn text(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }
}

impl Drop for PrivDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A server using `datadir`, if one does: the holder of InnoDB's lock on `ibdata1` (every
/// mariadbd takes it, whoever started it), or a process whose command line names the datadir
/// (`--datadir=`, as the agent starts it).
pub(crate) fn server_on(datadir: &str) -> Option<String> {
    if let Some(pid) = ibdata_lock_holder(&Path::new(datadir).join("ibdata1")) {
        return Some(format!("a server (pid {pid}) holds the lock on {datadir}/ibdata1"));
    }
    let trimmed = datadir.trim_end_matches('/');
    let wanted = [format!("--datadir={trimmed}"), format!("--datadir={trimmed}/")];
    for pid in ocf::proc::pids() {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|a| wanted.iter().any(|w| a == w.as_bytes())) {
            return Some(format!("process {pid} runs with --datadir={trimmed}"));
        }
    }
    None
}

/// The pid holding a write lock on `file` (`fcntl(F_GETLK)`), if any process does.
fn ibdata_lock_holder(file: &Path) -> Option<i32> {
    use nix::fcntl::{FcntlArg, fcntl};
    let f = fs::File::open(file).ok()?;
    let mut lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(&f, FcntlArg::F_GETLK(&mut lock)).ok()?;
    (lock.l_type != libc::F_UNLCK as libc::c_short).then_some(lock.l_pid)
}

/// What the datadir holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// It does not exist.
    Missing,
    /// An empty directory.
    Empty,
    /// Files; `database` when they include the `mysql` system schema.
    Files { database: bool },
}

pub(crate) fn layout(datadir: &Path) -> Result<Layout, String> {
    match fs::read_dir(datadir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Layout::Missing),
        Err(e) => Err(format!("cannot read {}: {e}", datadir.display())),
        Ok(mut entries) => Ok(if entries.next().is_none() {
            Layout::Empty
        } else {
            Layout::Files { database: datadir.join("mysql").is_dir() }
        }),
    }
}

/// The datadir is a mount point (it cannot be renamed).
pub(crate) fn is_mount_point(dir: &Path) -> bool {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    match (fs::metadata(dir), fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.dev() != p.dev(),
        _ => false,
    }
}

/// The options of [`facts::DATA_FILE_OPTIONS`] that the server, started as the agent starts it,
/// would point outside its datadir (`mariadbd <agent arguments> --verbose --help`).
pub(crate) fn data_files_outside(cfg: &Config) -> Result<Vec<String>, String> {
    let mut args = cfg.server_args();
    args.extend(["--verbose".to_owned(), "--help".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ocf::exec::run(&cfg.binary, &args, &Deadline::after(Duration::from_secs(60)))
        .map_err(|e| format!("cannot list the server's options: {e}"))?;
    let datadir = Path::new(&cfg.datadir);
    Ok(facts::help_values(&out.stdout, facts::DATA_FILE_OPTIONS)
        .into_iter()
        .filter_map(|(name, v)| facts::outside(datadir, name, v.as_deref()?))
        .collect())
}

/// A private mariadbd on some datadir, started with the agent's arguments (the same option
/// file, crash-recovery role and extra parameters) plus no networking, no replication threads,
/// no events, and `extra`.
#[derive(Debug)]
pub(crate) struct TempServer {
    running: server::Running,
    pid_file: String,
    datadir: String,
    record: PathBuf,
    log: PathBuf,
}

impl TempServer {
    pub(crate) fn start(
        cfg: &Config,
        datadir: &Path,
        extra: &[&str],
        dir: &PrivDir,
        ctx: &Ctx,
    ) -> Result<(TempServer, Db), String> {
        let mut t = cfg.clone();
        t.datadir = datadir.display().to_string();
        t.socket = dir.text("mariadbd.sock");
        t.pid = dir.text("mariadbd.pid");
        t.log = dir.text("mariadbd.err");
        t.extra.extend(
            ["--skip-networking", "--skip-slave-start", "--event-scheduler=DISABLED"]
                .iter()
                .chain(extra)
                .map(|a| (*a).to_owned()),
        );
        let pid = server::spawn(&t.binary, &t.server_args())
            .map_err(|e| format!("cannot start {}: {e}", t.binary))?;
        let pid = i32::try_from(pid).map_err(|_| "pid out of range".to_owned())?;
        let record = dir.file("mariadbd.record");
        let running = Server { pid_file: &t.pid, datadir: &t.datadir, record: &record }.record(pid);
        let Some(running) = running else {
            return Err(format!("the private mariadbd (pid {pid}) exited at once"));
        };
        let temp = TempServer {
            running,
            pid_file: t.pid.clone(),
            datadir: t.datadir.clone(),
            record,
            log: PathBuf::from(&t.log),
        };
        log::info!("private mariadbd (pid {pid}) on {}", t.datadir);
        match server::wait_for_sql(&t, ctx, pid, Some(running)) {
            Ok(db) => Ok((temp, db)),
            Err(e) => {
                let why = e.reason().to_owned();
                let _ = temp.stop();
                Err(why)
            }
        }
    }

    /// SIGTERM (a clean InnoDB shutdown), SIGKILL only after 10 minutes.
    pub(crate) fn stop(self) -> Result<(), String> {
        let server =
            Server { pid_file: &self.pid_file, datadir: &self.datadir, record: &self.record };
        server.stop(self.running, &Deadline::after(Duration::from_secs(600))).map_err(|e| {
            let tail = server::log_tail(&self.log).unwrap_or_default();
            format!("{} ({tail})", e.reason())
        })
    }
}

/// Give `root` and everything under it to `uid:gid` (symbolic links themselves, not their
/// targets).
pub(crate) fn chown_tree(root: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        std::os::unix::fs::lchown(&p, Some(uid), Some(gid))
            .map_err(|e| format!("cannot chown {}: {e}", p.display()))?;
        let meta = fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            for e in fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))? {
                todo.push(e.map_err(|e| format!("{}: {e}", p.display()))?.path());
            }
        }
    }
    Ok(())
}

/// The directory a new copy is built in, removed (with what this run put in it) unless
/// [`Staging::keep`] is called. `in_place`: the datadir itself, empty when the run began (an
/// empty mount point cannot be swapped), whose contents are removed but not the directory.
#[derive(Debug)]
pub(crate) struct Staging {
    pub(crate) path: PathBuf,
    in_place: bool,
    keep: bool,
}

impl Staging {
    pub(crate) fn create(path: &Path, in_place: bool, like: Option<&Path>) -> Result<Self, String> {
        if !in_place {
            let mode = like.and_then(|l| fs::metadata(l).ok()).map_or(0o750, |m| m.mode() & 0o7777);
            DirBuilder::new()
                .mode(0o700)
                .create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
        }
        Ok(Staging { path: path.to_path_buf(), in_place, keep: false })
    }

    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        log::warn!("removing the unfinished copy in {}", self.path.display());
        if !self.in_place {
            let _ = fs::remove_dir_all(&self.path);
            return;
        }
        if let Ok(entries) = fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() && !p.is_symlink() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
}
