//! The DRBD minor of a resource, kept between runs so a steady monitor forks nothing.
//!
//! On DRBD 8.4 the state comes from `/proc/drbd`, which lists devices by minor; without
//! `device=` the agent asked `drbdadm sh-minor` for it on every monitor, one fork and exec of a
//! tool that parses the whole configuration. The minor only changes when the configuration does,
//! so the answer is kept in `<state_dir>/<resource>.drbd-minor` together with a fingerprint of
//! the configuration files, and used only while the fingerprint still matches.
//!
//! The fingerprint covers the file drbdadm reads (`drbdconf`, or the candidates drbdadm 8.4
//! tries in turn when none is given) and every file its `include` lines name, glob patterns
//! expanded: for each, the path, whether it exists, its size, inode and modification time in
//! nanoseconds; for an included wildcard pattern also the directory's own modification time, so a `.res`
//! file added or removed changes it. Editing a file in place, replacing it (a new inode), or
//! touching it all change the fingerprint. A cache file that does not parse, or any error
//! reading it, just means asking `drbdadm` again.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The files drbdadm 8.4 reads when no `-c` is given, in the order it tries them.
pub(crate) const DEFAULT_CONFS: &[&str] =
    &["/etc/drbd-84.conf", "/etc/drbd-83.conf", "/etc/drbd-08.conf", "/etc/drbd.conf"];

/// The fingerprint of the configuration read from `confs` (see the module documentation).
pub(crate) fn fingerprint(confs: &[&Path]) -> String {
    let mut text = String::new();
    for conf in confs {
        stat_into(&mut text, conf);
        let Ok(body) = fs::read_to_string(conf) else { continue };
        let base = conf.parent().unwrap_or(Path::new("/"));
        for pattern in includes(&body) {
            let pattern = base.join(pattern);
            if is_wildcard(&pattern)
                && let Some(dir) = pattern.parent()
            {
                stat_into(&mut text, dir);
            }
            for file in expand(&pattern) {
                stat_into(&mut text, &file);
            }
        }
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// The minor kept in `cache` for the configuration whose fingerprint is `fp`.
pub(crate) fn load(cache: &Path, fp: &str) -> Option<u32> {
    let text = fs::read_to_string(cache).ok()?;
    let mut minor = None;
    let mut kept = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("minor=") {
            minor = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("fingerprint=") {
            kept = Some(v.trim());
        }
    }
    minor.filter(|_| kept == Some(fp))
}

/// Keep `minor` for the configuration whose fingerprint is `fp` (written aside, then renamed,
/// so a reader never sees half a file).
pub(crate) fn store(cache: &Path, fp: &str, minor: u32) -> io::Result<()> {
    ocf::state_file::write(cache, format!("minor={minor}\nfingerprint={fp}\n"))
}

fn stat_into(text: &mut String, path: &Path) {
    use std::fmt::Write;
    match fs::metadata(path) {
        Ok(m) => {
            let _ = writeln!(
                text,
                "{} {} {} {}.{}",
                path.display(),
                m.len(),
                m.ino(),
                m.mtime(),
                m.mtime_nsec()
            );
        }
        Err(_) => {
            let _ = writeln!(text, "{} absent", path.display());
        }
    }
}

/// The file patterns of the `include "…";` statements of a DRBD configuration (comments,
/// which run from `#` to the end of the line, ignored).
fn includes(conf: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in conf.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut rest = line.trim_start();
        while let Some(after) = rest.strip_prefix("include") {
            let after = after.trim_start();
            let (pattern, tail) = match after.strip_prefix('"') {
                Some(q) => match q.split_once('"') {
                    Some((p, t)) => (p, t),
                    None => break,
                },
                None => match after.split_once(';') {
                    Some((p, t)) => (p.trim(), t),
                    None => (after.trim(), ""),
                },
            };
            if !pattern.is_empty() {
                out.push(pattern.to_owned());
            }
            rest = tail.trim_start().trim_start_matches(';').trim_start();
        }
    }
    out
}

fn is_wildcard(pattern: &Path) -> bool {
    pattern.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(['*', '?']))
}

/// The files a pattern names: a `*` or `?` in the last component is a wildcard (what DRBD
/// configurations use: `drbd.d/*.res`); a pattern without one is the file itself. Sorted.
fn expand(pattern: &Path) -> Vec<PathBuf> {
    let Some(name) = pattern.file_name().and_then(|n| n.to_str()) else { return Vec::new() };
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let dir = pattern.parent().unwrap_or(Path::new("/"));
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name, n)))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Shell-style match of `name` against `pat` with `*` (any run) and `?` (one character).
fn wildcard(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// 64-bit FNV-1a: a fingerprint to compare with a kept one, not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Conf {
        dir: tempfile::TempDir,
    }

    impl Conf {
        fn new() -> Conf {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join("drbd.d")).unwrap();
            fs::write(
                dir.path().join("drbd.conf"),
                "# main\ninclude \"drbd.d/global_common.conf\";\ninclude \"drbd.d/*.res\";\n",
            )
            .unwrap();
            fs::write(dir.path().join("drbd.d/global_common.conf"), "global { }\n").unwrap();
            fs::write(dir.path().join("drbd.d/r0.res"), "resource r0 { device minor 0; }\n")
                .unwrap();
            Conf { dir }
        }
        fn path(&self, p: &str) -> PathBuf {
            self.dir.path().join(p)
        }
        fn fp(&self) -> String {
            fingerprint(&[&self.path("drbd.conf")])
        }
    }

    #[test]
    fn includes_are_read_from_the_statements() {
        let conf = "include \"drbd.d/global_common.conf\";\n  include drbd.d/*.res;\n\
                    # include \"old/*.res\";\nresource x { }\n";
        assert_eq!(includes(conf), ["drbd.d/global_common.conf", "drbd.d/*.res"]);
        assert_eq!(includes("include \"a\"; include \"b\";"), ["a", "b"]);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.res", "r0.res"));
        assert!(wildcard("r?.res", "r0.res"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("*.res", "r0.res.bak"));
        assert!(!wildcard("*.res", "global_common.conf"));
        assert!(wildcard("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn the_kept_minor_is_used_while_the_configuration_is_unchanged() {
        let c = Conf::new();
        let cache = c.path("state/r0.drbd-minor");
        let fp = c.fp();
        assert_eq!(load(&cache, &fp), None, "nothing kept yet");
        store(&cache, &fp, 7).unwrap();
        assert_eq!(load(&cache, &c.fp()), Some(7));
        assert_eq!(c.fp(), fp, "the fingerprint is stable");
    }

    #[test]
    fn an_edited_resource_file_invalidates_the_kept_minor() {
        let c = Conf::new();
        let cache = c.path("r0.drbd-minor");
        store(&cache, &c.fp(), 0).unwrap();
        // Same length, so only the modification time (and content) differ.
        let res = c.path("drbd.d/r0.res");
        fs::write(&res, "resource r0 { device minor 1; }\n").unwrap();
        let f = fs::File::options().write(true).open(&res).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(load(&cache, &c.fp()), None);
    }

    #[test]
    fn a_replaced_or_added_file_invalidates_the_kept_minor() {
        let c = Conf::new();
        let cache = c.path("r0.drbd-minor");
        store(&cache, &c.fp(), 0).unwrap();
        // Replaced by rename (what editors and configuration management do): a new inode.
        fs::write(c.path("drbd.d/.new"), "global { }\n").unwrap();
        fs::rename(c.path("drbd.d/.new"), c.path("drbd.d/global_common.conf")).unwrap();
        assert_eq!(load(&cache, &c.fp()), None);

        store(&cache, &c.fp(), 0).unwrap();
        fs::write(c.path("drbd.d/r1.res"), "resource r1 { }\n").unwrap();
        assert_eq!(load(&cache, &c.fp()), None, "a new .res file");
    }

    #[test]
    fn an_edited_main_file_invalidates_the_kept_minor() {
        let c = Conf::new();
        let cache = c.path("r0.drbd-minor");
        store(&cache, &c.fp(), 0).unwrap();
        fs::write(c.path("drbd.conf"), "include \"drbd.d/*.res\";\n").unwrap();
        assert_eq!(load(&cache, &c.fp()), None);
    }

    #[test]
    fn a_config_that_appears_invalidates_the_kept_minor() {
        // drbdadm 8.4 prefers drbd-84.conf when it exists: its appearance is a change.
        let c = Conf::new();
        let cache = c.path("r0.drbd-minor");
        let confs = [c.path("drbd-84.conf"), c.path("drbd.conf")];
        let fp = || fingerprint(&[&confs[0], &confs[1]]);
        store(&cache, &fp(), 0).unwrap();
        assert_eq!(load(&cache, &fp()), Some(0));
        fs::write(&confs[0], "resource r0 { }\n").unwrap();
        assert_eq!(load(&cache, &fp()), None);
    }

    #[test]
    fn a_damaged_cache_file_is_no_minor() {
        let c = Conf::new();
        let cache = c.path("r0.drbd-minor");
        let fp = c.fp();
        for text in ["", "minor=x\nfingerprint=".to_owned().as_str(), "fingerprint=abc\n"] {
            fs::write(&cache, format!("{text}{fp}\n")).unwrap();
            assert_eq!(load(&cache, &fp), None, "{text:?}");
        }
    }
}
