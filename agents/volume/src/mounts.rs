//! Mounts: the mount table, fsck decisions, and unmounting that only ever signals processes
//! using *this* mount.
//!
//! Users of a mount are found by walking `/proc/<pid>/{cwd,root,exe}`, `/proc/<pid>/fd/*` and
//! `/proc/<pid>/maps` for paths at or below the mount point (never `fuser -m`, which on a busy
//! parent mount would name every process of the system). The matching is a pure function.

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ocf::{Context, Deadline, OcfError, exec, proc};

/// One mount-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// What is mounted.
    pub(crate) source: String,
    /// Where.
    pub(crate) target: String,
    /// Filesystem type.
    pub(crate) fstype: String,
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

/// Parse `/proc/self/mounts` (or FreeBSD's `mount -p`, the same first three columns). Fields
/// are separated by spaces (tabs in `mount -p`); the kernel escapes those in names, but no other
/// whitespace, so a name may hold a vertical tab or a no-break space.
pub(crate) fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split([' ', '\t']).filter(|f| !f.is_empty());
            Some(MountEntry {
                source: unescape(f.next()?),
                target: unescape(f.next()?),
                fstype: f.next()?.to_owned(),
            })
        })
        .collect()
}

/// The entry mounted on `dir` (the last one, which is the visible one).
pub(crate) fn mounted_on<'a>(table: &'a [MountEntry], dir: &str) -> Option<&'a MountEntry> {
    table.iter().rev().find(|m| m.target == dir)
}

/// Mounts strictly below `dir`.
pub(crate) fn submounts<'a>(table: &'a [MountEntry], dir: &str) -> Vec<&'a MountEntry> {
    table.iter().filter(|m| m.target != dir && is_under(&m.target, dir)).collect()
}

/// Read the mount table of this system.
pub(crate) fn read_table(deadline: &Deadline) -> Result<Vec<MountEntry>, OcfError> {
    match std::fs::read_to_string("/proc/self/mounts") {
        Ok(t) => Ok(parse_mounts(&t)),
        Err(_) => {
            // FreeBSD: no /proc; `mount -p` prints fstab lines.
            let out =
                exec::run("mount", &["-p"], deadline).context("cannot read the mount table")?;
            Ok(parse_mounts(&out.stdout))
        }
    }
}

/// Whether `path` is `dir` or below it. A ` (deleted)` suffix (unlinked open files) is ignored.
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        return false; // never "/": that would match every process
    }
    path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The paths named in a `/proc/<pid>/maps` text (the sixth column, after the spaces that pad
/// it; the rest of the line, whatever characters it holds).
pub(crate) fn maps_paths(maps: &str) -> Vec<&str> {
    // Not lines(): a line ends at '\n' only, a '\r' before it is the path's.
    maps.split('\n')
        .filter_map(|l| {
            let mut f = l.splitn(6, ' ');
            let _ = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            let p = f.next()?.trim_start_matches(' ');
            p.starts_with('/').then_some(p)
        })
        .collect()
}

/// Whether process `pid` uses anything at or below `dir`.
fn uses(pid: i32, dir: &str) -> bool {
    let under = |p: PathBuf| is_under(&p.to_string_lossy(), dir);
    if ["cwd", "root", "exe"].iter().any(|l| proc::link(pid, l).is_some_and(under)) {
        return true;
    }
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten();
    if fds.filter_map(|fd| std::fs::read_link(fd.path()).ok()).any(under) {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .is_ok_and(|m| maps_paths(&m).iter().any(|p| is_under(p, dir)))
}

/// Processes (other than this one) using `dir` or anything below it.
pub(crate) fn users(dir: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = proc::pids().filter(|&pid| uses(pid, dir)).collect();
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
pub(crate) fn unmount(dir: &str, grace: Duration, deadline: &Deadline) -> Result<(), OcfError> {
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
pub(crate) enum FsckMode {
    /// For filesystems whose fsck is cheap and needed after a crash: ext2/3/4 and UFS.
    Auto,
    /// Always.
    Force,
    /// Never.
    No,
}

/// Whether to check `fstype` before mounting.
pub(crate) fn needs_fsck(mode: FsckMode, fstype: &str) -> bool {
    match mode {
        FsckMode::Force => true,
        FsckMode::No => false,
        FsckMode::Auto => matches!(fstype, "ext2" | "ext3" | "ext4" | "ufs"),
    }
}

/// The fsck command for `fstype` on `device` (preen mode: fix what is safe, stop otherwise).
pub(crate) fn fsck_command(fstype: &str, device: &str) -> (String, Vec<String>) {
    match fstype {
        "ext2" | "ext3" | "ext4" => ("e2fsck".into(), vec!["-p".into(), device.into()]),
        _ => ("fsck".into(), vec!["-t".into(), fstype.into(), "-p".into(), device.into()]),
    }
}

/// Run fsck; exit codes 0–3 mean clean or repaired, 4 and above fail.
pub(crate) fn fsck(fstype: &str, device: &str, deadline: &Deadline) -> Result<(), OcfError> {
    let (prog, args) = fsck_command(fstype, device);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = exec::output(&prog, &args, deadline)
        .with_context(|| format!("fsck of {device} could not run"))?;
    match out.status.code() {
        Some(0) => {
            // One line per check, so that a failover's fsck shows in the log with its time.
            let said = out.stdout.lines().last().unwrap_or("").trim();
            log::info!("{prog} -p {device}: clean (exit 0): {said}");
            Ok(())
        }
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

    /// The kernel escapes only space, tab, newline and backslash: any other whitespace (here a
    /// vertical tab and a no-break space) is part of the name.
    #[test]
    fn other_whitespace_is_part_of_the_name() {
        let m = parse_mounts("/dev/drbd0 /srv/a\u{b}b ext4 rw 0 0\n/x\u{a0}y /srv/c ext4 rw 0 0\n");
        assert_eq!(m[0].target, "/srv/a\u{b}b");
        assert_eq!((m[1].source.as_str(), m[1].target.as_str()), ("/x\u{a0}y", "/srv/c"));
        let maps = "7f02-7f03 r--s 00000000 fd:02 12                   /srv/db/log\t\n\
                    7f04-7f05 r--s 00000000 fd:02 13                   /srv/db/cr\r\n";
        assert_eq!(maps_paths(maps), ["/srv/db/log\t", "/srv/db/cr\r"]);
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A path as the kernel writes it in /proc/mounts: space, tab, newline and backslash
        /// as three-digit octal escapes (`mangle()` in fs/proc_namespace.c).
        fn escape(path: &str) -> String {
            let mut out = String::new();
            for c in path.chars() {
                match c {
                    ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
                    c => out.push(c),
                }
            }
            out
        }

        proptest! {
            #[test]
            fn any_mount_table_text_is_read(text in any::<String>()) {
                for m in parse_mounts(&text) {
                    prop_assert!(!m.fstype.is_empty());
                }
            }

            /// Whatever a mount point is called, the table read back names it.
            #[test]
            fn mount_points_read_back(
                entries in prop::collection::vec(("/[^\u{0}]{0,16}", "/[^\u{0}]{0,16}", "[a-z0-9]{1,8}"), 0..5),
            ) {
                let text: String = entries
                    .iter()
                    .map(|(src, dst, fs)| format!("{} {} {fs} rw,relatime 0 0\n", escape(src), escape(dst)))
                    .collect();
                let want: Vec<MountEntry> = entries
                    .into_iter()
                    .map(|(source, target, fstype)| MountEntry { source, target, fstype })
                    .collect();
                prop_assert_eq!(parse_mounts(&text), want);
            }

            #[test]
            fn any_maps_text_is_read(text in any::<String>()) {
                for p in maps_paths(&text) {
                    prop_assert!(p.starts_with('/'));
                }
            }

            /// A mapped file's path comes back whole, whatever it is called (the kernel escapes
            /// only a newline in it).
            #[test]
            fn mapped_paths_read_back(path in "/[^\n\u{0}]{0,24}") {
                let line = format!("7f00-7f01 r--s 00000000 fd:02 12                   {path}\n");
                prop_assert_eq!(maps_paths(&line), [path.as_str()]);
            }

            /// `is_under` is "equal or below, at a path-component boundary", never for "/".
            #[test]
            fn under_is_a_component_prefix(dir in "(/[a-z ]{1,4}){1,3}", rest in "[a-z/ ]{0,8}") {
                let below = format!("{dir}/{rest}");
                let deleted = format!("{below} (deleted)");
                let sibling = format!("{dir}x{rest}");
                prop_assert!(is_under(&dir, &dir));
                prop_assert!(is_under(&below, &dir));
                prop_assert!(is_under(&deleted, &dir));
                prop_assert!(!is_under(&sibling, &dir));
                prop_assert!(!is_under(&below, "/"));
            }
        }
    }
}
