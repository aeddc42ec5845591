//! A stand-in for Pacemaker's `crm_attribute`: records every call, keeps nothing else.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The recorder: each call appends its arguments, separated by the unit separator (0x1f), as
/// one line. It always succeeds, as `crm_attribute` does inside a cluster.
const SCRIPT: &str = "#!/bin/sh\n# Stand-in for Pacemaker's crm_attribute (tests only).\n\
                      for a in \"$@\"; do printf '%s\\037' \"$a\"; done >> \"$0.calls\"\n\
                      echo >> \"$0.calls\"\n";

/// One recorded `crm_attribute` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// Its arguments.
    pub args: Vec<String>,
}

impl Call {
    /// `--node=N` (or `--node N`), if given.
    pub fn node(&self) -> Option<&str> {
        self.value("--node")
    }

    /// The value of `--<name>=V` or `--<name> V`.
    fn value(&self, name: &str) -> Option<&str> {
        self.args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix(name) {
            Some(rest) if rest.starts_with('=') => Some(&rest[1..]),
            Some("") => self.args.get(i + 1).map(String::as_str),
            _ => None,
        })
    }

    /// Whether this call sets or deletes a promotion score (`--promotion`).
    pub fn is_promotion(&self) -> bool {
        self.args.iter().any(|a| a == "--promotion" || a.starts_with("--promotion="))
    }

    /// What the call does to the attribute: `Some(Some(v))` for `--update v`, `Some(None)` for
    /// `--delete`, `None` for anything else (a query).
    pub fn effect(&self) -> Option<Option<String>> {
        if self.args.iter().any(|a| a == "--delete") {
            return Some(None);
        }
        self.value("--update").map(|v| Some(v.to_owned()))
    }
}

/// A fake `crm_attribute` in a directory of its own: put [`FakeCrmAttribute::bin_dir`] first
/// in the agent's `PATH`.
#[derive(Debug)]
pub struct FakeCrmAttribute {
    dir: tempfile::TempDir,
}

impl FakeCrmAttribute {
    /// Install the recorder in a new temporary directory.
    ///
    /// # Panics
    ///
    /// When the directory or script cannot be written.
    pub fn new() -> FakeCrmAttribute {
        let dir = tempfile::Builder::new().prefix("fhcrm").tempdir().expect("tempdir");
        let script = dir.path().join("crm_attribute");
        fs::write(&script, SCRIPT).expect("write the fake crm_attribute");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeCrmAttribute { dir }
    }

    /// The directory holding `crm_attribute`.
    pub fn bin_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `PATH` with the fake first, then `rest` (e.g. [`crate::DEFAULT_PATH`]).
    pub fn path(&self, rest: &str) -> String {
        format!("{}:{rest}", self.bin_dir().display())
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("crm_attribute.calls")
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        let text = fs::read_to_string(self.log()).unwrap_or_default();
        text.lines()
            .map(|l| Call {
                args: l.split('\u{1f}').filter(|a| !a.is_empty()).map(str::to_owned).collect(),
            })
            .collect()
    }

    /// The calls since the last time this was called (or since the start), and forget them;
    /// [`FakeCrmAttribute::score`] still sees them.
    pub fn take_calls(&self) -> Vec<Call> {
        let all = self.calls();
        let seen = self.dir.path().join("seen");
        let n: usize = fs::read_to_string(&seen).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        fs::write(&seen, all.len().to_string()).expect("write the call count");
        all.into_iter().skip(n).collect()
    }

    /// The promotion score Pacemaker would now hold for `node` (`None`: this node, for calls
    /// without `--node`): the value of the last update, `None` after a delete or when never
    /// set.
    pub fn score(&self, node: Option<&str>) -> Option<String> {
        self.calls()
            .iter()
            .rev()
            .filter(|c| c.is_promotion() && c.node() == node)
            .find_map(Call::effect)
            .flatten()
    }
}

impl Default for FakeCrmAttribute {
    fn default() -> Self {
        FakeCrmAttribute::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn call(fake: &FakeCrmAttribute, args: &[&str]) {
        let st = Command::new(fake.bin_dir().join("crm_attribute")).args(args).status().unwrap();
        assert!(st.success());
    }

    #[test]
    fn records_calls_and_keeps_the_score_per_node() {
        let fake = FakeCrmAttribute::new();
        assert_eq!(fake.score(None), None);
        call(&fake, &["--promotion=db", "--lifetime=reboot", "--update", "1000"]);
        call(&fake, &["--promotion=db", "--lifetime=reboot", "--node=n2", "--update", "5"]);
        assert_eq!(fake.score(None).as_deref(), Some("1000"));
        assert_eq!(fake.score(Some("n2")).as_deref(), Some("5"));
        assert_eq!(fake.take_calls().len(), 2);
        call(&fake, &["--promotion=db", "--lifetime=reboot", "--delete"]);
        call(&fake, &["--name", "other", "--update", "x y"]);
        let new = fake.take_calls();
        assert_eq!(new.len(), 2);
        assert_eq!(new[1].args, ["--name", "other", "--update", "x y"], "arguments kept whole");
        assert!(fake.take_calls().is_empty());
        assert_eq!(fake.score(None), None, "deleted");
        assert_eq!(fake.score(Some("n2")).as_deref(), Some("5"));
        assert_eq!(fake.calls().len(), 4);
    }
}
