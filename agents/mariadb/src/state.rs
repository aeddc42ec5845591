//! A small per-instance state file under `state_dir`: the role this agent last put the server
//! in, a divergence verdict that must survive until the next stop, and the binary-log position
//! at which the server became read-only (to tell its own later writes, review item D12).

use std::fs;
use std::path::{Path, PathBuf};

use crate::gtid::GtidSet;

/// The role the agent gave the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerRole {
    /// Plain primitive: writable, no scores.
    Standalone,
    /// Read-only replica (or waiting for a primary).
    Unpromoted,
    /// Writable primary of a promotable clone.
    Promoted,
}

/// The contents of the state file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// Role, `None` when stopped.
    pub(crate) role: Option<ServerRole>,
    /// Why this server must not replicate (its history forked), if it was found so.
    pub(crate) diverged: Option<String>,
    /// `@@gtid_binlog_pos` when the agent made the server read-only (start, demote).
    pub(crate) read_only_at: Option<GtidSet>,
}

impl State {
    /// Parse `key=value` lines; unknown keys and bad values are ignored.
    pub(crate) fn parse(text: &str) -> State {
        let mut s = State::default();
        for (k, v) in text.lines().filter_map(|l| l.split_once('=')) {
            match (k, v) {
                ("role", "standalone") => s.role = Some(ServerRole::Standalone),
                ("role", "unpromoted") => s.role = Some(ServerRole::Unpromoted),
                ("role", "promoted") => s.role = Some(ServerRole::Promoted),
                ("diverged", why) if !why.is_empty() => s.diverged = Some(why.to_owned()),
                ("read_only_at", pos) => s.read_only_at = GtidSet::parse(pos).ok(),
                _ => {}
            }
        }
        s
    }

    /// The file text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(r) = self.role {
            let name = match r {
                ServerRole::Standalone => "standalone",
                ServerRole::Unpromoted => "unpromoted",
                ServerRole::Promoted => "promoted",
            };
            out.push_str(&format!("role={name}\n"));
        }
        if let Some(d) = &self.diverged {
            out.push_str(&format!("diverged={}\n", d.replace('\n', " ")));
        }
        if let Some(pos) = &self.read_only_at {
            out.push_str(&format!("read_only_at={pos}\n"));
        }
        out
    }
}

/// The state file of one instance.
#[derive(Clone, Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// `<dir>/<instance>.state` (`:` in clone instance names becomes `_`).
    pub(crate) fn new(dir: &Path, instance: &str) -> StateFile {
        let name: String = instance
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        StateFile { path: dir.join(format!("{name}.state")) }
    }

    /// `<dir>/<instance>.<ext>`: another file of this instance (the process record).
    pub(crate) fn sibling(&self, ext: &str) -> PathBuf {
        self.path.with_extension(ext)
    }

    /// Read; a missing or unreadable file is the default state.
    pub(crate) fn load(&self) -> State {
        fs::read_to_string(&self.path).map(|t| State::parse(&t)).unwrap_or_default()
    }

    /// Write atomically (temp file + rename); a failure is logged (the next action finds the
    /// previous state).
    pub(crate) fn save(&self, s: &State) {
        if let Err(e) = self.write(s) {
            log::warn!("cannot write the state file {}: {e}", self.path.display());
        }
    }

    fn write(&self, s: &State) -> std::io::Result<()> {
        ocf::state_file::write(&self.path, s.render())
    }

    /// Remove (stop).
    pub(crate) fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = State {
            role: Some(ServerRole::Promoted),
            diverged: Some("history forked".into()),
            read_only_at: None,
        };
        assert_eq!(State::parse(&s.render()), s);
        let d = State {
            role: Some(ServerRole::Unpromoted),
            diverged: None,
            read_only_at: Some(GtidSet::parse("0-1-5,1-3-2").unwrap()),
        };
        assert_eq!(d.render(), "role=unpromoted\nread_only_at=0-1-5,1-3-2\n");
        let e = State { read_only_at: Some(GtidSet::default()), ..d.clone() };
        assert_eq!(State::parse(&d.render()), d);
        assert_eq!(State::parse(&e.render()), e, "an empty binary log is a position too");
        assert_eq!(State::parse(""), State::default());
        assert_eq!(State::parse("score=1000\nrole=boss\nnoise"), State::default());
    }

    #[test]
    fn file_names_and_io() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(&dir.path().join("sub"), "db:1");
        assert!(f.path.ends_with("sub/db_1.state"));
        assert_eq!(f.load(), State::default());
        let s = State { role: Some(ServerRole::Standalone), ..State::default() };
        f.write(&s).unwrap();
        assert_eq!(f.load(), s);
        f.remove();
        assert_eq!(f.load(), State::default());
    }
}
