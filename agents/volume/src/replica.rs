//! What the agent needs from a replication backend, whichever it is: the [`Replica`] trait that
//! `drbd` and `hast` implement, the backend-neutral [`State`] their outputs become, and the
//! promotion-score values both use.

use ocf::{Deadline, OcfError};

/// The role of the local replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalRole {
    /// Not configured / not running.
    Down,
    /// Secondary.
    Secondary,
    /// Primary.
    Primary,
}

/// What a monitor does with the promotion score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScoreAction {
    /// Set this score.
    Set(i64),
    /// Remove the score: this node must not be promoted.
    Delete,
    /// Leave it as it is (the disk state is changing).
    Keep,
}

/// Current local data, and every peer's disk known (or this node is primary).
pub(crate) const SCORE_CURRENT: i64 = 10000;
/// Current local data, but some peer's disk is unknown (it may have newer data).
pub(crate) const SCORE_CURRENT_PEER_UNKNOWN: i64 = 1000;
/// Only consistent data (no peer to compare with): promotable as a last resort.
pub(crate) const SCORE_CONSISTENT: i64 = 0;

/// The local replica as the agent acts on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct State {
    /// Down, secondary or primary.
    pub(crate) role: LocalRole,
    /// Replicating to every peer.
    pub(crate) connected: bool,
    /// The promotion score this state earns.
    pub(crate) score: ScoreAction,
    /// Something an operator must look at (a split brain), logged at every monitor.
    pub(crate) warning: Option<String>,
}

impl State {
    /// Not configured or not running.
    pub(crate) const DOWN: State = State {
        role: LocalRole::Down,
        connected: false,
        score: ScoreAction::Delete,
        warning: None,
    };
}

/// One replicated resource, driven through its backend's tool.
pub(crate) trait Replica {
    /// The resource name.
    fn resource(&self) -> &str;
    /// The local state.
    fn state(&self, deadline: &Deadline) -> Result<State, OcfError>;
    /// The block device that holds the filesystem.
    fn device(&self, deadline: &Deadline) -> Result<String, OcfError>;
    /// Bring the resource up, as secondary.
    fn up(&self, deadline: &Deadline) -> Result<(), OcfError>;
    /// Take it down.
    fn down(&self, deadline: &Deadline) -> Result<(), OcfError>;
    /// Switch to secondary.
    fn to_secondary(&self, deadline: &Deadline) -> Result<(), OcfError>;
    /// Switch to primary, refusing (with the reason) what the backend's data state forbids.
    fn to_primary(&self, deadline: &Deadline) -> Result<(), OcfError>;
}
