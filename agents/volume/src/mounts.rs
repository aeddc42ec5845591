//! Mounts: the mount table, fsck decisions, and unmounting that only ever signals processes
//! using *this* mount.
//!
//! Users of a mount are found by walking `/proc/<pid>/{cwd,root,exe}`, `/proc/<pid>/fd/*` and
//! `/proc/<pid>/maps` for paths at or below the mount point (never `fuser -m`, which on a busy
//! parent mount would name every process of the system). The matching is a pure function.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ocf::{Deadline, OcfError, exec};

/// One mount-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// What is mounted.
    pub source: String,
    /// Where.
    pub target: String,
    /// Filesystem type.
    pub fstype: String,
}

/// Undo the octal escapes (`\040` for a space) of `/proc/mounts`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1..i + 4).is_some_and(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
        {
            let v = b[i + 1..i + 4].iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `/proc/self/mounts` (or FreeBSD's `mount -p`, the same first three columns).
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(MountEntry {
                source: unescape(f.next()?),
                target: unescape(f.next()?),
                fstype: f.next()?.to_owned(),
            })
        })
        .collect()
}

/// The entry mounted on `dir` (the last one, which is the visible one).
pub fn mounted_on<'a>(table: &'a [MountEntry], dir: &str) -> Option<&'a MountEntry> {
    table.iter().rev().find(|m| m.target == dir)
}

/// Mounts strictly below `dir`.
pub fn submounts<'a>(table: &'a [MountEntry], dir: &str) -> Vec<&'a MountEntry> {
    table.iter().filter(|m| m.target != dir && is_under(&m.target, dir)).collect()
}

/// Read the mount table of this system.
pub fn read_table(deadline: &Deadline) -> Result<Vec<MountEntry>, OcfError> {
    match std::fs::read_to_string("/proc/self/mounts") {
        Ok(t) => Ok(parse_mounts(&t)),
        Err(_) => {
            // FreeBSD: no /proc; `mount -p` prints fstab lines.
            let out = exec::run("mount", &["-p"], deadline)
                .map_err(|e| OcfError::generic("cannot read the mount table").with_source(e))?;
            Ok(parse_mounts(&out.stdout))
        }
    }
}

/// Whether `path` is `dir` or below it. A ` (deleted)` suffix (unlinked open files) is ignored.
pub fn is_under(path: &str, dir: &str) -> bool {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        return false; // never "/": that would match every process
    }
    path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The paths named in a `/proc/<pid>/maps` text (the sixth column).
pub fn maps_paths(maps: &str) -> Vec<&str> {
    maps.lines()
        .filter_map(|l| {
            let mut f = l.splitn(6, char::is_whitespace);
            let _ = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            let p = f.next()?.trim();
            p.starts_with('/').then_some(p)
        })
        .collect()
}

fn link(p: &Path) -> Option<String> {
    std::fs::read_link(p).ok().map(|t| t.to_string_lossy().into_owned())
}

/// Whether process `pid` (from `/proc`) uses anything at or below `dir`.
fn uses(pid: &str, dir: &str) -> bool {
    let base = Path::new("/proc").join(pid);
    for l in ["cwd", "root", "exe"] {
        if link(&base.join(l)).is_some_and(|t| is_under(&t, dir)) {
            return true;
        }
    }
    if let Ok(fds) = std::fs::read_dir(base.join("fd")) {
        for fd in fds.flatten() {
            if link(&fd.path()).is_some_and(|t| is_under(&t, dir)) {
                return true;
            }
        }
    }
    std::fs::read_to_string(base.join("maps"))
        .is_ok_and(|m| maps_paths(&m).iter().any(|p| is_under(p, dir)))
}

/// Processes (other than this one) using `dir` or anything below it.
pub fn users(dir: &str) -> Vec<i32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<i32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && *n != me)
        .filter(|n| uses(n, dir))
        .filter_map(|n| n.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

fn signal_all(pids: &[i32], sig: Signal) {
    for &p in pids {
        match kill(Pid::from_raw(p), sig) {
            Ok(()) => log::info!("sent {sig} to process {p}, which uses the mount"),
            Err(e) => log::debug!("{sig} to {p}: {e}"),
        }
    }
}

fn umount(dir: &str, deadline: &Deadline) -> Result<(), exec::ExecError> {
    exec::run("umount", &[dir], deadline).map(|_| ())
}

/// Unmount `dir`: plain umount; if busy, TERM the processes using it, wait up to `grace`,
/// KILL those left, wait again (bounded), umount. Submounts are unmounted first, deepest first.
pub fn unmount(dir: &str, grace: Duration, deadline: &Deadline) -> Result<(), OcfError> {
    let table = read_table(deadline)?;
    let mut subs: Vec<String> =
        submounts(&table, dir).into_iter().map(|m| m.target.clone()).collect();
    subs.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for s in subs.iter().map(String::as_str).chain([dir]) {
        unmount_one(s, grace, deadline)?;
    }
    Ok(())
}

fn unmount_one(dir: &str, grace: Duration, deadline: &Deadline) -> Result<(), OcfError> {
    if mounted_on(&read_table(deadline)?, dir).is_none() {
        return Ok(());
    }
    let mut last = match umount(dir, deadline) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if std::env::consts::OS != "linux" {
        return Err(OcfError::generic(format!(
            "cannot unmount {dir}: {last}; processes using it are not killed on this system"
        )));
    }
    for sig in [Signal::SIGTERM, Signal::SIGKILL] {
        let pids = users(dir);
        if !pids.is_empty() {
            log::warn!("{dir} is busy: sending {sig} to processes {pids:?}");
            signal_all(&pids, sig);
            let wait = deadline.sub(grace);
            wait.wait_for(Duration::from_millis(100), || users(dir).is_empty().then_some(()));
        }
        match umount(dir, deadline) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(OcfError::generic(format!(
        "cannot unmount {dir}: {last}; still used by processes {:?}",
        users(dir)
    )))
}

/// When to run fsck before mounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsckMode {
    /// For filesystems whose fsck is cheap and needed after a crash: ext2/3/4 and UFS.
    Auto,
    /// Always.
    Force,
    /// Never.
    No,
}

/// Whether to check `fstype` before mounting.
pub fn needs_fsck(mode: FsckMode, fstype: &str) -> bool {
    match mode {
        FsckMode::Force => true,
        FsckMode::No => false,
        FsckMode::Auto => matches!(fstype, "ext2" | "ext3" | "ext4" | "ufs"),
    }
}

/// The fsck command for `fstype` on `device` (preen mode: fix what is safe, stop otherwise).
pub fn fsck_command(fstype: &str, device: &str) -> (String, Vec<String>) {
    match fstype {
        "ext2" | "ext3" | "ext4" => ("e2fsck".into(), vec!["-p".into(), device.into()]),
        _ => ("fsck".into(), vec!["-t".into(), fstype.into(), "-p".into(), device.into()]),
    }
}

/// Run fsck; exit codes 0–3 mean clean or repaired, 4 and above fail.
pub fn fsck(fstype: &str, device: &str, deadline: &Deadline) -> Result<(), OcfError> {
    let (prog, args) = fsck_command(fstype, device);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = exec::output(&prog, &args, deadline)
        .map_err(|e| OcfError::generic(format!("fsck of {device} could not run")).with_source(e))?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(c @ 1..=3) => {
            log::warn!("{prog} repaired {device} (exit {c})");
            Ok(())
        }
        c => Err(OcfError::generic(format!(
            "{prog} found errors on {device} it could not repair (exit {}): {}",
            c.map_or("signal".into(), |c| c.to_string()),
            out.stdout.lines().chain(out.stderr.lines()).last().unwrap_or("").trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_matches_only_the_mount() {
        assert!(is_under("/srv/db", "/srv/db"));
        assert!(is_under("/srv/db/x/y", "/srv/db"));
        assert!(is_under("/srv/db/ibdata1 (deleted)", "/srv/db"));
        assert!(is_under("/srv/db/x", "/srv/db/"));
        assert!(!is_under("/srv/dbx", "/srv/db"));
        assert!(!is_under("/srv", "/srv/db"));
        assert!(!is_under("socket:[1234]", "/srv/db"));
        assert!(!is_under("/anything", "/"), "never match everything");
    }

    #[test]
    fn mounts_table() {
        let t = "proc /proc proc rw 0 0\n/dev/drbd0 /srv/my\\040db ext4 rw,relatime 0 0\n\
                 tmpfs /srv/my\\040db/tmp tmpfs rw 0 0\n/dev/drbd0 /srv/other ext4 rw 0 0\n";
        let m = parse_mounts(t);
        assert_eq!(m.len(), 4);
        assert_eq!(m[1].target, "/srv/my db");
        let e = mounted_on(&m, "/srv/my db").unwrap();
        assert_eq!((e.source.as_str(), e.fstype.as_str()), ("/dev/drbd0", "ext4"));
        assert!(mounted_on(&m, "/srv/my").is_none());
        let subs: Vec<_> = submounts(&m, "/srv/my db").iter().map(|m| m.target.clone()).collect();
        assert_eq!(subs, ["/srv/my db/tmp"]);
        // FreeBSD `mount -p`
        let b = parse_mounts("/dev/hast/shared\t\t/var/db/mysql\tufs\trw\t\t2 2\n");
        assert_eq!(b[0].target, "/var/db/mysql");
    }

    #[test]
    fn unescape_is_total() {
        assert_eq!(unescape("a\\040b"), "a b");
        assert_eq!(unescape("a\\"), "a\\");
        assert_eq!(unescape("a\\09"), "a\\09");
        assert_eq!(unescape("\\134"), "\\");
    }

    #[test]
    fn maps_lines() {
        let maps = "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 131 /usr/bin/cat\n\
                    7f00-7f01 rw-p 00000000 00:00 0 \n\
                    7f02-7f03 r--s 00000000 fd:02 12 /srv/db/ib logfile0 (deleted)\n\
                    7ffc-7ffd rw-p 00000000 00:00 0                          [stack]\n";
        let p = maps_paths(maps);
        assert_eq!(p, ["/usr/bin/cat", "/srv/db/ib logfile0 (deleted)"]);
        assert!(is_under(p[1], "/srv/db"));
    }

    #[test]
    fn fsck_policy() {
        assert!(needs_fsck(FsckMode::Auto, "ext4"));
        assert!(needs_fsck(FsckMode::Auto, "ufs"));
        assert!(!needs_fsck(FsckMode::Auto, "xfs"));
        assert!(!needs_fsck(FsckMode::Auto, "btrfs"));
        assert!(needs_fsck(FsckMode::Force, "xfs"));
        assert!(!needs_fsck(FsckMode::No, "ext4"));
        assert_eq!(fsck_command("ext4", "/dev/drbd0").0, "e2fsck");
        assert_eq!(fsck_command("ufs", "/dev/hast/s").1, ["-t", "ufs", "-p", "/dev/hast/s"]);
    }

    /// A real process with its cwd inside a directory is found; this process is never listed.
    #[test]
    fn users_finds_a_process_by_cwd() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        let mut child =
            std::process::Command::new("sleep").arg("30").current_dir(&d).spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let found = users(&d);
        let other = users(&format!("{d}-not"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&pid), "{found:?} should contain {pid}");
        assert!(!other.contains(&pid));
        assert!(!found.contains(&i32::try_from(std::process::id()).unwrap()));
    }
}
