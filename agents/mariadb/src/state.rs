//! A small per-instance state file under `state_dir`: the role this agent last put the server
//! in, the promotion score it last published (so a monitor forks `crm_attribute` only when the
//! score changes), and a divergence verdict that must survive until the next stop.

use std::fs;
use std::path::{Path, PathBuf};

/// The role the agent gave the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Plain primitive: writable, no scores.
    Standalone,
    /// Read-only replica (or waiting for a primary).
    Unpromoted,
    /// Writable primary of a promotable clone.
    Promoted,
}

/// What the last score operation published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// Nothing known: the next monitor publishes.
    Unknown,
    /// A score.
    Score(i64),
    /// Deleted.
    Deleted,
}

/// The contents of the state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Role, `None` when stopped.
    pub role: Option<Role>,
    /// Last published score.
    pub score: Published,
    /// Why this server must not replicate (its history forked), if it was found so.
    pub diverged: Option<String>,
}

impl Default for State {
    fn default() -> Self {
        State { role: None, score: Published::Unknown, diverged: None }
    }
}

impl State {
    /// Parse `key=value` lines; unknown keys and bad values are ignored.
    pub fn parse(text: &str) -> State {
        let mut s = State::default();
        for (k, v) in text.lines().filter_map(|l| l.split_once('=')) {
            match (k, v) {
                ("role", "standalone") => s.role = Some(Role::Standalone),
                ("role", "unpromoted") => s.role = Some(Role::Unpromoted),
                ("role", "promoted") => s.role = Some(Role::Promoted),
                ("score", "deleted") => s.score = Published::Deleted,
                ("score", n) => {
                    if let Ok(n) = n.parse() {
                        s.score = Published::Score(n);
                    }
                }
                ("diverged", why) if !why.is_empty() => s.diverged = Some(why.to_owned()),
                _ => {}
            }
        }
        s
    }

    /// The file text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(r) = self.role {
            let name = match r {
                Role::Standalone => "standalone",
                Role::Unpromoted => "unpromoted",
                Role::Promoted => "promoted",
            };
            out.push_str(&format!("role={name}\n"));
        }
        match self.score {
            Published::Unknown => {}
            Published::Score(n) => out.push_str(&format!("score={n}\n")),
            Published::Deleted => out.push_str("score=deleted\n"),
        }
        if let Some(d) = &self.diverged {
            out.push_str(&format!("diverged={}\n", d.replace('\n', " ")));
        }
        out
    }
}

/// The state file of one instance.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// `<dir>/<instance>.state` (`:` in clone instance names becomes `_`).
    pub fn new(dir: &Path, instance: &str) -> StateFile {
        let name: String = instance
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        StateFile { path: dir.join(format!("{name}.state")) }
    }

    /// Read; a missing or unreadable file is the default state.
    pub fn load(&self) -> State {
        fs::read_to_string(&self.path).map(|t| State::parse(&t)).unwrap_or_default()
    }

    /// Write atomically (temp file + rename).
    pub fn save(&self, s: &State) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, s.render())?;
        fs::rename(&tmp, &self.path)
    }

    /// Remove (stop).
    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = State {
            role: Some(Role::Promoted),
            score: Published::Score(1001),
            diverged: Some("history forked".into()),
        };
        assert_eq!(State::parse(&s.render()), s);
        let d = State { role: Some(Role::Unpromoted), score: Published::Deleted, diverged: None };
        assert_eq!(State::parse(&d.render()), d);
        assert_eq!(State::parse(""), State::default());
        assert_eq!(State::parse("score=x\nrole=boss\nnoise"), State::default());
    }

    #[test]
    fn file_names_and_io() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(&dir.path().join("sub"), "db:1");
        assert!(f.path.ends_with("sub/db_1.state"));
        assert_eq!(f.load(), State::default());
        let s = State { role: Some(Role::Standalone), ..State::default() };
        f.save(&s).unwrap();
        assert_eq!(f.load(), s);
        f.remove();
        assert_eq!(f.load(), State::default());
    }
}
