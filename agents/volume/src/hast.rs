//! FreeBSD HAST: a pure parser over `hastctl list` (the long, `key: value` form), the promotion
//! policy, and the [`Hast`] backend that drives `hastctl`.
//!
//! No FreeBSD host exists here: the fixtures are built from the format strings of FreeBSD's
//! `sbin/hastctl/hastctl.c`, not captured from a real `hastd`.

use std::path::Path;
use std::time::Duration;

use ocf::{Context, Deadline, OcfCode, OcfError, exec};

use crate::replica::{
    LocalRole, Replica, SCORE_CURRENT, SCORE_CURRENT_PEER_UNKNOWN, ScoreAction, State,
};

/// A HAST role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HastRole {
    /// Not serving (the resource is "down" for this agent).
    Init,
    /// Primary: `/dev/hast/<name>` exists.
    Primary,
    /// Secondary: receiving from the primary.
    Secondary,
    /// Anything else (`unknown`, `watchdog`).
    Unknown,
}

impl HastRole {
    fn parse(s: &str) -> HastRole {
        match s {
            "init" => HastRole::Init,
            "primary" => HastRole::Primary,
            "secondary" => HastRole::Secondary,
            _ => HastRole::Unknown,
        }
    }
}

/// One resource from `hastctl list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HastResource {
    /// Resource name.
    pub(crate) name: String,
    /// HastRole.
    pub(crate) role: HastRole,
    /// `complete` or `degraded`; absent without a worker.
    pub(crate) status: Option<String>,
    /// Bytes still to synchronise (the number before the humanized size).
    pub(crate) dirty: Option<u64>,
}

/// Parse `hastctl list [name]`: a `name:` line per resource, then two-space-indented
/// `key: value` lines; deeper lines (statistics) are skipped.
pub(crate) fn parse_list(text: &str) -> Vec<HastResource> {
    let mut out: Vec<HastResource> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            if let Some(name) = line.trim_end().strip_suffix(':') {
                out.push(HastResource {
                    name: name.to_owned(),
                    role: HastRole::Unknown,
                    status: None,
                    dirty: None,
                });
            }
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some(cur) = out.last_mut() else { continue };
        if indent != 2 {
            continue;
        }
        let Some((key, value)) = line.trim().split_once(':') else { continue };
        let value = value.trim();
        match key {
            "role" => cur.role = HastRole::parse(value),
            "status" => cur.status = Some(value.to_owned()),
            "dirty" => cur.dirty = value.split_whitespace().next().and_then(|n| n.parse().ok()),
            _ => {}
        }
    }
    out
}

/// The promotion score for a HAST resource.
pub(crate) fn score(r: Option<&HastResource>) -> ScoreAction {
    match r {
        Some(r) if r.role == HastRole::Primary => ScoreAction::Set(SCORE_CURRENT),
        Some(r) if r.role == HastRole::Secondary && r.dirty == Some(0) => {
            ScoreAction::Set(SCORE_CURRENT_PEER_UNKNOWN)
        }
        _ => ScoreAction::Delete,
    }
}

/// The backend-neutral state of a resource (`None`: hastd does not know it).
pub(crate) fn observe(r: Option<&HastResource>) -> State {
    let role = match r.map(|r| r.role) {
        Some(HastRole::Primary) => LocalRole::Primary,
        Some(HastRole::Secondary) => LocalRole::Secondary,
        Some(HastRole::Init | HastRole::Unknown) | None => LocalRole::Down,
    };
    let connected = r.is_some_and(|r| r.status.as_deref() == Some("complete"));
    State { role, connected, score: score(r), warning: None }
}

/// Why a HAST resource may not become primary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HastError {
    /// Extents not yet synchronised.
    #[error(
        "HAST resource {name} has {bytes} dirty bytes not yet synchronised; refusing to promote \
         (set force_promote=true to override)"
    )]
    Dirty {
        /// The resource.
        name: String,
        /// Bytes still to synchronise.
        bytes: u64,
    },
    /// `hastctl list` gave no dirty count.
    #[error(
        "HAST resource {name} reports no dirty count; refusing to promote (set \
         force_promote=true to override)"
    )]
    NoDirtyCount {
        /// The resource.
        name: String,
    },
}

impl From<HastError> for OcfError {
    fn from(e: HastError) -> Self {
        OcfError::generic(e.to_string())
    }
}

/// Whether the resource may become primary: refuse while `dirty` is non-zero unless forced.
pub(crate) fn promote_gate(r: &HastResource, force: bool) -> Result<(), HastError> {
    match r.dirty {
        Some(0) => Ok(()),
        _ if force => {
            log::warn!(
                "HAST resource {} has dirty data ({:?} bytes); promoting because force_promote \
                 is set",
                r.name,
                r.dirty
            );
            Ok(())
        }
        Some(bytes) => Err(HastError::Dirty { name: r.name.clone(), bytes }),
        None => Err(HastError::NoDirtyCount { name: r.name.clone() }),
    }
}

/// The `pgrep -f` pattern of a resource's secondary worker, as hastd titles it.
pub(crate) fn secondary_worker_pattern(name: &str) -> String {
    format!("^hastd: {name} \\(secondary\\)")
}

/// A HAST resource driven through `hastctl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hast {
    pub(crate) resource: String,
    /// The device, when the configuration names it (else `/dev/hast/<resource>`).
    pub(crate) device: Option<String>,
    /// Promote despite dirty extents.
    pub(crate) force_promote: bool,
}

impl Hast {
    fn read(&self, deadline: &Deadline) -> Result<Option<HastResource>, OcfError> {
        let out = exec::output("hastctl", &["list", &self.resource], deadline)
            .context("cannot read the HAST state")?;
        if !out.status.success() {
            log::info!("hastctl list {}: {}", self.resource, out.stderr.trim());
            return Ok(None); // hastd not running
        }
        Ok(parse_list(&out.stdout).into_iter().find(|r| r.name == self.resource))
    }

    fn role(&self, role: &str, deadline: &Deadline) -> Result<(), OcfError> {
        exec::run("hastctl", &["role", role, &self.resource], deadline)
            .map(|_| ())
            .with_context(|| format!("hastctl role {role} {} failed", self.resource))
    }

    /// hastd keeps a secondary worker while the old primary's data still arrives; switching
    /// role under it is what FreeBSD's carp-hast-switch example waits for too.
    fn wait_secondary_worker(&self, deadline: &Deadline) -> Result<(), OcfError> {
        let pattern = secondary_worker_pattern(&self.resource);
        let gone = deadline.wait_for(Duration::from_millis(500), || {
            match exec::output("pgrep", &["-f", &pattern], deadline) {
                Ok(o) if o.status.code() == Some(1) => Some(()),
                Ok(_) => None,
                Err(e) => {
                    log::warn!("cannot look for the hastd secondary worker: {e}");
                    Some(())
                }
            }
        });
        gone.ok_or_else(|| {
            OcfError::generic(format!(
                "the hastd secondary worker of {} did not exit within the promote timeout",
                self.resource
            ))
        })
    }
}

impl Replica for Hast {
    fn resource(&self) -> &str {
        &self.resource
    }

    fn state(&self, deadline: &Deadline) -> Result<State, OcfError> {
        Ok(observe(self.read(deadline)?.as_ref()))
    }

    fn device(&self, _deadline: &Deadline) -> Result<String, OcfError> {
        Ok(self.device.clone().unwrap_or_else(|| format!("/dev/hast/{}", self.resource)))
    }

    fn up(&self, deadline: &Deadline) -> Result<(), OcfError> {
        self.role("secondary", deadline)
    }

    fn down(&self, deadline: &Deadline) -> Result<(), OcfError> {
        self.role("init", deadline)
    }

    fn to_secondary(&self, deadline: &Deadline) -> Result<(), OcfError> {
        self.role("secondary", deadline)
    }

    fn to_primary(&self, deadline: &Deadline) -> Result<(), OcfError> {
        let Some(r) = self.read(deadline)? else {
            return Err(OcfError::new(
                OcfCode::NotRunning,
                format!("{} is not started; cannot promote", self.resource),
            ));
        };
        promote_gate(&r, self.force_promote)?;
        self.wait_secondary_worker(deadline)?;
        self.role("primary", deadline)?;
        let dev = self.device(deadline)?;
        deadline
            .wait_for(Duration::from_millis(100), || Path::new(&dev).exists().then_some(()))
            .ok_or_else(|| {
                OcfError::generic(format!("{dev} did not appear after hastctl role primary"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = include_str!("../tests/fixtures/hastctl_list_primary.txt");
    const TWO: &str = include_str!("../tests/fixtures/hastctl_list_two.txt");

    #[test]
    fn list_primary() {
        let r = parse_list(PRIMARY);
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.name, "shared");
        assert_eq!(r.role, HastRole::Primary);
        assert_eq!(r.status.as_deref(), Some("complete"));
        assert_eq!(r.dirty, Some(0));
        assert_eq!(score(Some(r)), ScoreAction::Set(10000));
    }

    #[test]
    fn list_two_resources_statistics_ignored() {
        let r = parse_list(TWO);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].name.as_str(), r[0].role), ("data", HastRole::Secondary));
        assert_eq!(r[0].dirty, Some(6_291_456));
        assert_eq!(r[0].status.as_deref(), Some("degraded"));
        assert_eq!(
            (r[1].name.as_str(), r[1].role, r[1].status.as_deref()),
            ("logs", HastRole::Init, None)
        );
        assert_eq!(score(Some(&r[0])), ScoreAction::Delete, "dirty secondary gets no score");
        assert_eq!(score(Some(&r[1])), ScoreAction::Delete);
        assert_eq!(score(None), ScoreAction::Delete);
    }

    #[test]
    fn dirty_refuses_unless_forced() {
        let r = &parse_list(TWO)[0];
        let e = promote_gate(r, false).unwrap_err().to_string();
        assert!(e.contains("6291456 dirty bytes"), "{e}");
        assert!(promote_gate(r, true).is_ok());
        assert!(promote_gate(&parse_list(PRIMARY)[0], false).is_ok());
    }

    #[test]
    fn garbage_is_empty() {
        assert!(parse_list("").is_empty());
        assert!(parse_list("  role: primary\n").is_empty(), "no resource header");
    }

    #[test]
    fn worker_pattern() {
        assert_eq!(secondary_worker_pattern("shared"), "^hastd: shared \\(secondary\\)");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_hastctl_text_is_read(
                text in prop_oneof![
                    any::<String>(),
                    prop::collection::vec(
                        prop_oneof![
                            Just("  role: ".to_owned()), Just("  dirty: ".to_owned()),
                            Just("  status: ".to_owned()), Just(":\n".to_owned()),
                            Just("\n".to_owned()), Just("    ".to_owned()), "[a-z0-9 ()]{1,10}",
                        ],
                        0..20,
                    ).prop_map(|p| p.concat()),
                ],
            ) {
                for r in parse_list(&text) {
                    let _ = (score(Some(&r)), observe(Some(&r)), promote_gate(&r, false));
                }
            }

            /// Resources printed in hastctl.c's layout read back: name, role, status, dirty.
            #[test]
            fn listed_resources_read_back(
                list in prop::collection::vec((
                    "[a-z][a-z0-9_]{0,8}",
                    prop::sample::select(&["init", "primary", "secondary"][..]),
                    prop::option::of(prop::sample::select(&["complete", "degraded"][..])),
                    any::<u64>(),
                ), 0..4),
            ) {
                let mut text = String::new();
                for (name, role, status, dirty) in &list {
                    text.push_str(&format!("{name}:\n  role: {role}\n  provname: {name}\n  localpath: /dev/ada1\n"));
                    if let Some(s) = status {
                        text.push_str(&format!("  status: {s}\n  workerpid: 42\n"));
                    }
                    text.push_str(&format!("  dirty: {dirty} (1.0MB)\n  statistics:\n    reads: 0\n    dirty: 7\n"));
                }
                let got = parse_list(&text);
                prop_assert_eq!(got.len(), list.len());
                for (r, (name, role, status, dirty)) in got.iter().zip(&list) {
                    prop_assert_eq!(&r.name, name);
                    prop_assert_eq!(r.role, HastRole::parse(role));
                    prop_assert_eq!(r.status.as_deref(), *status);
                    prop_assert_eq!(r.dirty, Some(*dirty), "the statistics' own dirty line is not it");
                }
            }
        }
    }
}
