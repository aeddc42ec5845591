//! Small files an agent keeps in its state directory between runs (a cached score, a role, a
//! cached DRBD minor): one way to write them, so a reader never sees half a file.

use std::fs;
use std::io;
use std::path::Path;

/// Write `contents` to `path` atomically: into a temporary file beside it (named with this
/// process's id, so two agents never share one), then renamed over it; the directory is created
/// when missing. Not fsynced: these files are caches and hints that the next action can rebuild,
/// not records that must survive a power cut (the pid file in [`crate::proc`] is).
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_creating_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/x.state");
        write(&p, "one\n").unwrap();
        write(&p, "two\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two\n");
        let left: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }
}
